import Foundation
import Logging
import TestSupport
import Testing

@testable import MongoPG

/// The catalog exactly as psql-copy's loader writes it, read back for verification: a dump file read into parts,
/// loaded, then the documents rebuilt by `_id` through the plan compiled from the catalog alone.
@Suite("Verification after a load", .tags(.integration))
struct LoadedCatalogTests {
    @Test("after a load, the catalog's plan rebuilds every document by _id batch, though the schema file has changed")
    func loadThenVerify() async throws {
        try await PostgresServer.withScratchSchema("loaded") { session, target in
            let stateSchema = target + "_state"
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verify-\(target)")
            let schemas = directory.appendingPathComponent("schemas")
            try FileManager.default.createDirectory(at: schemas, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }

            let namespace = Namespace(database: "db", collection: "edge")
            let settings = FlattenSettings(
                keepExtra: true, stripNUL: true, tablePrefix: "Mg \"x\" ", targetSchema: target)
            let schemaText = try String(contentsOf: Fixtures.url("schemas/edge_cases.json"), encoding: .utf8)
            let schemaFile = schemas.appendingPathComponent(CollectionSchema.fileName(for: namespace))
            try schemaText.write(to: schemaFile, atomically: true, encoding: .utf8)
            let plan = try TablePlan(
                schema: CollectionSchema(namespace: namespace, jsonText: schemaText), settings: settings)

            var random = SeededRandom(seed: 7)
            let documents = (0..<60).map { _ in RandomSchemas.document(for: plan.schema, &random) }
            let dump = directory.appendingPathComponent("edge.bson")
            _ = FileManager.default.createFile(
                atPath: dump.path, contents: Data(try documents.flatMap { try BSONEncoder.encode($0) }))

            let logger = PostgresServer.quietLogger
            let csv = directory.appendingPathComponent("csv").path
            _ = try await CollectionReader(logger: logger).read(
                ReadRequest(
                    namespace: namespace, csvDirectory: csv, schemasDirectory: schemas.path, settings: settings,
                    inputFile: dump.path, mongoURI: "mongodb://127.0.0.1:1"))
            let loader = CopyLoader(logger: logger) { try await PostgresServer.session($0, logger: logger) }
            let prepared = try await loader.prepare(
                LoadRequest(namespace: namespace, csvDirectory: csv, schemasDirectory: schemas.path, settings: settings)
            )
            let loaded = try await StateStore.withOpened({
                try await StateStore.open(
                    conninfo: try PostgresServer.conninfo, password: PostgresServer.password, schema: stateSchema,
                    logger: logger)
            }) { store in
                try await LedgerRun.recording(tool: Tool.psqlCopy.rawValue, arguments: [], in: store) { run in
                    try await loader.load(prepared, store: store, run: run)
                }
            }
            #expect(loaded.documents == documents.count)
            // An edit after the load must not matter: verification reads the catalog, never the file.
            try #"{"_id": "string", "other": "int"}"#.write(to: schemaFile, atomically: true, encoding: .utf8)

            let store = StateStore(session: session, schema: stateSchema)
            let configured = FlattenSettings(stripNUL: true, targetSchema: target)
            let fromCatalog = try await store.catalogPlan(of: namespace, settings: configured)
            #expect(fromCatalog.settings == settings)
            #expect(
                SchemaFixtures.sortedColumns(fromCatalog.catalogColumns)
                    == SchemaFixtures.sortedColumns(plan.catalogColumns))

            let ids = try documents.map { try fromCatalog.keyValue(ofID: $0["_id"]!) }
            let batch = Array(ids.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
            let rebuilt = try await StoredDocuments.documents(withIDs: batch, plan: fromCatalog, session: session)
            let expected = try documents.enumerated().filter { $0.offset % 3 == 0 }.map {
                try normalise($0.element, plan: fromCatalog)
            }
            #expect(rebuilt == expected)
            #expect(try await StoredDocuments.all(plan: fromCatalog, session: session).count == documents.count)
            try await session.execute(
                "DROP SCHEMA \(PostgresSQL.quoteIdentifier(stateSchema)) CASCADE", purpose: "drop the test state schema"
            )
        }
    }
}
