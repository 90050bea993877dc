import Foundation
import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

/// The catalog as psql-copy writes it and verification reads it, in a scratch state schema.
@Suite("The catalog in PostgreSQL", .tags(.integration))
struct CatalogStoreTests {
    /// Creates the plan's tables afresh in its target schema and writes their catalog rows, as a load does.
    static func write(_ plan: TablePlan, into store: StateStore, session: PostgresSession) async throws {
        let schema = store.schema
        let target = PostgresSQL.quoteIdentifier(plan.settings.targetSchema)
        try await session.execute(
            "DROP SCHEMA IF EXISTS \(target) CASCADE; CREATE SCHEMA \(target)", purpose: "recreate the target schema")
        try await session.execute(plan.ddl, purpose: "create the tables")
        try await session.withTransaction(purpose: "write a test catalog") { session in
            try StateStore.replaceCatalog(on: session, schema: schema, plan: plan, distributed: false)
        }
    }

    static func dropTarget(_ schema: String, session: PostgresSession) async throws {
        try await session.execute(
            "DROP SCHEMA IF EXISTS \(PostgresSQL.quoteIdentifier(schema + "_t")) CASCADE", purpose: "drop the target")
    }

    @Test(
        "the catalog rows written for a plan read back as the plan's, and compile back to it; a rewrite replaces them")
    func writeAndRead() async throws {
        try await PostgresServer.withScratchSchema("catalog") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            let target = schema + "_t"
            let settings = FlattenSettings(keepExtra: true, tablePrefix: "Mg \"x\" ", targetSchema: target)
            let first = try SchemaFixtures.fixturePlan("edge_cases.json", namespace: "test.edge", settings: settings)
            let second = try SchemaFixtures.fixturePlan(
                "sample_analytics.customers.json", namespace: "test.edge",
                settings: FlattenSettings(targetSchema: target))
            for plan in [first, second] {
                try await Self.write(plan, into: store, session: session)
                let catalog = try await store.catalog(of: plan.namespace)
                #expect(
                    SchemaFixtures.sortedTables(catalog.tables) == SchemaFixtures.sortedTables(plan.catalogTables))
                #expect(
                    SchemaFixtures.sortedColumns(catalog.columns)
                        == SchemaFixtures.sortedColumns(plan.catalogColumns))
                let back = try await store.catalogPlan(
                    of: plan.namespace, settings: FlattenSettings(targetSchema: target))
                #expect(
                    SchemaFixtures.unordered(back.schema.fields) == SchemaFixtures.unordered(plan.schema.fields))
                #expect(back.settings == plan.settings)
                let names = try await session.withTransaction(purpose: "read table names") { session in
                    try StateStore.catalogTableNames(on: session, schema: schema, collection: plan.namespace)
                }
                #expect(Set(names) == Set(plan.tables.map(\.name)))
            }
            let error = await #expect(throws: CatalogError.self) {
                try await store.catalogPlan(of: Namespace("test.never")!, settings: FlattenSettings())
            }
            #expect(error?.kind == .missing && "\(error.map { "\($0)" } ?? "")".contains("test.never"))
            // A target schema changed since the load: the catalog's tables are not where the settings say.
            let moved = await #expect(throws: CatalogError.self) {
                try await store.catalogPlan(of: second.namespace, settings: FlattenSettings(targetSchema: schema))
            }
            #expect(moved?.kind == .mismatch && moved?.table == second.rootTable.name)
            #expect(moved.map { "\($0)" }?.contains("target_schema") == true)
            try await Self.dropTarget(schema, session: session)
        }
    }

    @Test("random schemas' catalogs in PostgreSQL compile back to their plans")
    func randomSchemas() async throws {
        try await PostgresServer.withScratchSchema("catalog") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            await propertyCheck(count: 40, input: Gen.int(in: 0...Int.max)) { seed in
                var random = SeededRandom(seed: UInt64(seed))
                let settings = FlattenSettings(
                    keepExtra: Bool.random(using: &random), tablePrefix: Bool.random(using: &random) ? "" : "p ",
                    targetSchema: schema + "_t")
                let plan = RandomSchemas.plan(&random, settings: settings)
                do {
                    try await Self.write(plan, into: store, session: session)
                    let back = try await store.catalogPlan(
                        of: plan.namespace, settings: FlattenSettings(targetSchema: schema + "_t"))
                    #expect(
                        SchemaFixtures.sortedColumns(back.catalogColumns)
                            == SchemaFixtures.sortedColumns(plan.catalogColumns), "seed \(seed)")
                    #expect(
                        SchemaFixtures.unordered(back.schema.fields)
                            == SchemaFixtures.unordered(plan.schema.fields), "seed \(seed)")
                    #expect(back.settings == plan.settings, "seed \(seed)")
                } catch {
                    Issue.record("seed \(seed): \(error)\nschema \(plan.schema.jsonText)")
                }
            }
            try await Self.dropTarget(schema, session: session)
        }
    }
}
