import Foundation
import MongoPG
import TestSupport
import Testing

/// A plan's DDL run by the real PostgreSQL (`scripts/services start`), then its catalog rows compared with what
/// the server says it created: `information_schema` tables, columns, types, nullability and primary keys.
@Suite("Table plans in PostgreSQL", .tags(.integration))
struct TablePlanPostgresTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var schema: CollectionSchema
        var settings: FlattenSettings
        var testDescription: String { name }
    }

    static func repositorySchema(_ collection: String) throws -> CollectionSchema {
        let path = ServerEnvironment.packageRoot.appendingPathComponent("schemas/sample_analytics.\(collection).json")
            .path
        return try SchemaFile(
            namespace: Namespace(database: "sample_analytics", collection: collection), path: path,
            settings: FlattenSettings()
        ).schema
    }

    static func fixtureSchema(_ file: String) throws -> CollectionSchema {
        let text = try String(contentsOf: Fixtures.url("schemas/\(file)"), encoding: .utf8)
        return try CollectionSchema(namespace: Namespace(database: "test", collection: "edge"), jsonText: text)
    }

    static var cases: [Case] {
        get throws {
            var cases = [
                Case(name: "customers", schema: try repositorySchema("customers"), settings: FlattenSettings()),
                Case(name: "accounts", schema: try repositorySchema("accounts"), settings: FlattenSettings()),
                Case(name: "edge cases", schema: try fixtureSchema("edge_cases.json"), settings: FlattenSettings()),
                Case(
                    name: "edge cases, _extra and a prefix", schema: try fixtureSchema("edge_cases.json"),
                    settings: FlattenSettings(keepExtra: true, tablePrefix: "Mg \"x\" ")),
            ]
            // The schemas that expect the hostile documents: quotes, dots, `$`, empty, unicode, 300-byte and control
            // character names, 100 levels of nesting.
            for (name, document) in HostileDocumentTests.documents.sorted(by: { $0.key < $1.key }) {
                cases.append(
                    Case(
                        name: "hostile: \(name)", schema: HostileDocumentTests.schema(expecting: document),
                        settings: FlattenSettings(keepExtra: true)))
            }
            return cases
        }
    }

    /// Sorts rows by their text, byte for byte (not by the server's collation).
    static func sorted(_ rows: [[String]]) -> [[String]] {
        rows.sorted {
            $0.map { Array($0.utf8) }.lexicographicallyPrecedes($1.map { Array($0.utf8) }) {
                $0.lexicographicallyPrecedes($1)
            }
        }
    }

    @Test(
        "the plan's DDL is accepted, and its catalog rows describe exactly the tables, columns, types and keys created",
        arguments: try cases)
    func ddlMatchesCatalog(testCase: Case) async throws {
        try await PostgresServer.withScratchSchema("ddl") { session, schemaName in
            var settings = testCase.settings
            settings.targetSchema = schemaName
            let plan: TablePlan
            do {
                plan = try TablePlan(schema: testCase.schema, settings: settings)
            } catch let error as SchemaError {
                // Refused before any SQL: arrays nested deeper than a primary key can index (HostileDocumentTests).
                #expect(error.kind == .badSchemaFile && error.description.contains("PostgreSQL allows"), "\(error)")
                return
            }
            try await session.execute(
                "CREATE SCHEMA \(PostgresSQL.quoteIdentifier(schemaName))", purpose: "create the test schema")
            try await session.execute(plan.ddl, purpose: "run the plan's DDL")

            // PostgreSQL's own name of each SQL type the catalog names.
            var typeNames: [String: String] = [:]
            for type in SQLType.allCases {
                typeNames[type.rawValue] = try await session.query(
                    "SELECT $1::regtype::text", parameters: [type.rawValue], purpose: "name a type"
                ).scalar
            }

            let tables = try await session.query(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = $1",
                parameters: [schemaName], purpose: "list the created tables")
            #expect(
                Self.sorted(tables.rows.map { $0.map { $0 ?? "" } })
                    == Self.sorted(plan.catalogTables.map { [$0.table, "BASE TABLE"] }))
            let tableNames = Set(plan.catalogTables.map(\.table))
            #expect(plan.catalogTables.allSatisfy { $0.parentTable.map(tableNames.contains) ?? true })

            let columns = try await session.query(
                """
                SELECT table_name, column_name, ordinal_position::text, data_type, is_nullable
                FROM information_schema.columns WHERE table_schema = $1
                """, parameters: [schemaName], purpose: "list the created columns")
            let expectedColumns = plan.catalogColumns.map { column in
                [
                    column.table, column.column, String(column.position + 1), typeNames[column.sqlType] ?? "?",
                    ["document_id", "ancestor_index", "index"].contains(column.role) ? "NO" : "YES",
                ]
            }
            #expect(Self.sorted(columns.rows.map { $0.map { $0 ?? "" } }) == Self.sorted(expectedColumns))

            let keys = try await session.query(
                """
                SELECT k.table_name, k.column_name, k.ordinal_position::text
                FROM information_schema.table_constraints c
                JOIN information_schema.key_column_usage k
                  ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name
                 AND k.table_name = c.table_name
                WHERE c.table_schema = $1 AND c.constraint_type = 'PRIMARY KEY'
                """, parameters: [schemaName], purpose: "list the primary keys")
            var expectedKeys: [[String]] = []
            for table in plan.catalogTables {
                let keyColumns = plan.catalogColumns.filter {
                    $0.table == table.table && ["document_id", "ancestor_index", "index"].contains($0.role)
                }
                expectedKeys += keyColumns.enumerated().map { [table.table, $0.element.column, String($0.offset + 1)] }
            }
            #expect(Self.sorted(keys.rows.map { $0.map { $0 ?? "" } }) == Self.sorted(expectedKeys))
        }
    }
}
