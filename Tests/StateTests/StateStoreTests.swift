import TestSupport
import Testing

@testable import MongoPG

@Suite("State schema in PostgreSQL", .tags(.integration))
struct StateStoreTests {
    @Test("migration creates the schema once, is idempotent, and records the version")
    func migrate() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate() == StateStore.currentVersion)
            #expect(try await store.migrate() == StateStore.currentVersion)
            let version = try await session.query("SELECT version FROM \(store.table("schema_version"))", purpose: "test").scalar
            #expect(version == String(StateStore.currentVersion))
            let tables = try await session.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", parameters: [schema], purpose: "test")
            #expect(tables.column("table_name")?.compactMap { $0 } == [
                "catalog_columns", "catalog_tables", "collection_loads", "init_load_positions", "init_loads", "runs", "schema_version", "split_points", "sync_points",
            ])
        }
    }

    @Test("two tools migrating at once both succeed and migrate once")
    func concurrentMigration() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let other = try await PostgresServer.session("other")
            async let first = StateStore(session: session, schema: schema).migrate()
            async let second = StateStore(session: other, schema: schema).migrate()
            #expect(try await [first, second] == [StateStore.currentVersion, StateStore.currentVersion])
            await other.close()
        }
    }

    @Test("a state schema at a newer version is refused with a clear error")
    func newerVersion() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            try await session.query("UPDATE \(store.table("schema_version")) SET version = 99", purpose: "test")
            let error = await #expect(throws: StateError.self) { try await store.migrate() }
            #expect(error?.kind == .newerVersion)
            #expect(error?.exitStatus == .configError)
            #expect(error?.description.contains("99") == true)
        }
    }

    @Test("the run ledger records start, steps and end with figures")
    func runLedger() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            let run = try await store.startRun(tool: "psql-copy", arguments: ["--collection", "a.b"])
            try await store.addStep(run: run, step: "copy", figures: ["rows": 42, "seconds": 1.5])
            try await store.addStep(run: run, step: "swap", figures: ["seconds": 0.25])
            try await store.finishRun(run: run, status: .dataError, message: "bad row", figures: ["rows": 42])
            let row = try await session.query(
                "SELECT tool, status, exit_code, message, steps->1->>'step', (steps->0->>'rows')::int, figures->>'rows', arguments, finished_at IS NOT NULL FROM \(store.table("runs")) WHERE id = $1",
                parameters: [String(run)], purpose: "test")
            #expect(row.rows.first == ["psql-copy", "error", "65", "bad row", "swap", "42", "42", "--collection a.b", "t"])
        }
    }

    @Test("the init-load life cycle answers needed until a finished, successful load covers every collection")
    func initLoadLifeCycle() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            let customers = Namespace(database: "db", collection: "customers")
            var hashes = [customers: "aaaa"]
            #expect(try await store.initLoadStatus(schemaHashes: hashes).reasons.first?.hasPrefix("never loaded") == true)

            try await store.startInitLoad(run: nil, positions: ["rs0": BSONTimestamp(seconds: 100, increment: 7)])
            #expect(try await store.initLoadStatus(schemaHashes: hashes).reasons.first?.hasPrefix("still running") == true)
            try await store.finishInitLoad(ok: false)
            #expect(try await store.initLoadStatus(schemaHashes: hashes).reasons.first?.hasPrefix("failed") == true)

            let id = try await store.startInitLoad(run: nil, positions: ["rs0": BSONTimestamp(seconds: 200, increment: 1), "rs1": BSONTimestamp(seconds: 201, increment: 2)])
            try await session.withTransaction(purpose: "test") { session in
                try StateStore.recordCollectionLoad(on: session, schema: schema, collection: customers, schemaHash: "aaaa", documents: 3, rows: ["customers": 3], run: nil)
            }
            try await store.finishInitLoad(ok: true)
            let done = try await store.initLoadStatus(schemaHashes: hashes)
            #expect(done.reasons == [])
            #expect(done.initLoadID == id)
            #expect(done.positions == ["rs0": BSONTimestamp(seconds: 200, increment: 1).packed, "rs1": BSONTimestamp(seconds: 201, increment: 2).packed])

            hashes[customers] = "bbbb"
            #expect(try await store.initLoadStatus(schemaHashes: hashes).reasons == ["schema changed for db.customers since init load \(id)"])
            hashes[Namespace(database: "db", collection: "accounts")] = "cccc"
            #expect(try await store.initLoadStatus(schemaHashes: hashes).reasons.contains("not loaded: db.accounts was not loaded by init load \(id)"))
        }
    }

    @Test("finishing an init load that was never started is refused")
    func finishWithoutStart() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            let error = await #expect(throws: StateError.self) { try await store.finishInitLoad(ok: true) }
            #expect(error?.kind == .noRecord)
        }
    }
}
