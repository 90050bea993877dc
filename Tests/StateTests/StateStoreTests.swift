import TestSupport
import Testing

@testable import MongoPG

@Suite("State schema in PostgreSQL", .tags(.integration))
struct StateStoreTests {
    /// `body` with a state store migrated in a scratch schema of its own, dropped afterwards.
    static func withMigratedStore(_ body: (StateStore, PostgresSession, String) async throws -> Void) async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            try await body(store, session, schema)
        }
    }

    @Test("migration creates the schema once, is idempotent, and records the version")
    func migrate() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate() == StateStore.currentVersion)
            #expect(try await store.migrate() == StateStore.currentVersion)
            let version = try await session.query(
                "SELECT version FROM \(store.table("schema_version"))", purpose: "test"
            ).scalar
            #expect(version == String(StateStore.currentVersion))
            let tables = try await session.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
                parameters: [schema], purpose: "test")
            #expect(
                tables.column("table_name")?.compactMap { $0 } == [
                    "catalog_columns", "catalog_excluded", "catalog_tables", "collection_loads", "collection_starts",
                    "freshness_checks",
                    "init_load_positions",
                    "init_loads", "open_transactions", "pending_verifications", "runs", "schema_version",
                    "split_points", "sync_points",
                    "verifications",
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
        try await Self.withMigratedStore { store, session, schema in
            try await session.query("UPDATE \(store.table("schema_version")) SET version = 99", purpose: "test")
            let error = await #expect(throws: StateError.self) { try await store.migrate() }
            #expect(error?.kind == .newerVersion)
            #expect(error?.exitStatus == .configError)
            #expect(error?.description.contains("99") == true)
        }
    }

    @Test("the run ledger records start, steps and end with figures")
    func runLedger() async throws {
        try await Self.withMigratedStore { store, session, schema in
            let run = try await LedgerRun.start(tool: "psql-copy", arguments: ["--collection", "a.b"], in: store)
            try await run.addStep("copy", figures: ["rows": 42, "seconds": 1.5])
            try await run.addStep("swap", figures: ["seconds": 0.25])
            try await run.finish(.dataError, message: "bad row", figures: ["rows": 42])
            let row = try await session.query(
                """
                SELECT tool, status, exit_code, message, steps->1->>'step', (steps->0->>'rows')::int, figures->>'rows',
                       arguments, finished_at IS NOT NULL, steps->0->>'seconds'
                FROM \(store.table("runs")) WHERE id = $1
                """,
                parameters: [String(run.id)], purpose: "test")
            #expect(
                row.rows.first == [
                    "psql-copy", "error", "65", "bad row", "swap", "42", "42", "--collection a.b", "t", "1.5",
                ])
        }
    }

    @Test("a recorded run closes as ok with its totals, or with the exit status and message of the error it threw")
    func recordingRun() async throws {
        try await Self.withMigratedStore { store, session, schema in
            let id = try await LedgerRun.recording(
                tool: "good", arguments: [], in: store, totals: { (rows: Int) in ["rows": Double(rows)] }
            ) { run in
                try await run.addStep("work", figures: ["rows": 7])
                return 7
            }
            await #expect(throws: StateError.self) {
                try await LedgerRun.recording(tool: "bad", arguments: ["x"], in: store) { _ -> Int in
                    throw StateError(.noRecord, "nothing to finish")
                }
            }
            let rows = try await session.query(
                "SELECT tool, status, exit_code, message, figures->>'rows' FROM \(store.table("runs")) ORDER BY id",
                purpose: "test")
            #expect(
                rows.rows == [
                    ["good", "ok", "0", nil, "7"],
                    ["bad", "error", "1", "state: nothing to finish", nil],
                ])
            #expect(id == 7)
        }
    }

    @Test("figures JSON cannot hold are refused loudly, never written as an empty object")
    func nonFiniteFigures() throws {
        #expect(try StateStore.figuresJSON(["b": 2, "a": 0.5], step: "s") == #"{"step":"s","a":0.5,"b":2}"#)
        for bad in [Double.nan, .infinity, -.infinity] {
            let error = #expect(throws: StateError.self) { try StateStore.figuresJSON(["rate": bad]) }
            #expect(error?.kind == .badFigure)
            #expect(error?.description.contains("rate") == true)
        }
    }

    @Test(
        "a detached run warns and goes on unrecorded when PostgreSQL is out of reach, but refuses a newer state schema")
    func detachedRun() async throws {
        let unreachable = try await LedgerRun.startDetached(
            tool: "mongo-reader", arguments: [], logger: PostgresServer.quietLogger
        ) {
            try await StateStore.open(
                conninfo: "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=5", password: nil,
                schema: "etl", logger: PostgresServer.quietLogger)
        }
        #expect(unreachable == nil)

        try await Self.withMigratedStore { store, session, schema in
            let conninfo = try PostgresServer.conninfo, password = PostgresServer.password
            let open: @Sendable () async throws -> StateStore = {
                try await StateStore.open(
                    conninfo: conninfo, password: password, schema: schema, logger: PostgresServer.quietLogger)
            }
            let run = try #require(
                try await LedgerRun.startDetached(
                    tool: "mongo-reader", arguments: ["a"], logger: PostgresServer.quietLogger, open: open))
            try await run.addStep("read", figures: ["documents": 3])
            try await run.finish(.ok)
            let row = try await session.query(
                "SELECT status, steps->0->>'documents' FROM \(store.table("runs")) WHERE id = $1",
                parameters: [String(run.id)],
                purpose: "test")
            #expect(row.rows == [["ok", "3"]])

            try await session.query("UPDATE \(store.table("schema_version")) SET version = 99", purpose: "test")
            let error = await #expect(throws: StateError.self) {
                try await LedgerRun.startDetached(
                    tool: "mongo-reader", arguments: [], logger: PostgresServer.quietLogger, open: open)
            }
            #expect(error?.exitStatus == .configError)
        }
    }

    @Test(
        "sync points move inside the caller's transaction, are read back per source, and a new init load forgets them")
    func syncPoints() async throws {
        try await Self.withMigratedStore { store, session, schema in
            #expect(try await store.syncPoints().isEmpty)
            let first = [
                "rs0": BSONTimestamp(seconds: 10, increment: 1),
                "rs1": BSONTimestamp(seconds: UInt32.max, increment: 3),
            ]
            try await session.begin(purpose: "test")
            try await store.moveSyncPoints(first)
            try await session.commit(purpose: "test")
            #expect(try await store.syncPoints() == first)
            try await session.begin(purpose: "test")
            try await store.moveSyncPoints(["rs0": BSONTimestamp(seconds: 20, increment: 0)])
            try await session.rollback(purpose: "test")
            #expect(try await store.syncPoints() == first)  // rolled back with the batch
            #expect(
                try await store.replayStart(initLoadPositions: ["rs0": 5, "rs2": 7]) == [
                    "rs0": first["rs0"]!, "rs1": first["rs1"]!, "rs2": BSONTimestamp(packed: 7),
                ])
            try await store.startInitLoad(run: nil, positions: ["rs0": BSONTimestamp(seconds: 30, increment: 0)])
            #expect(try await store.syncPoints().isEmpty)
        }
    }

    @Test("split points need a running init load and are shared by every worker of it")
    func splitPoints() async throws {
        try await Self.withMigratedStore { store, session, schema in
            let collection = Namespace(database: "db", collection: "c")
            let error = await #expect(throws: StateError.self) {
                try await store.sharedSplitPoints(collection: collection, slices: 2) { [.int32(5)] }
            }
            #expect(error?.exitStatus == .usage)
            try await store.startInitLoad(run: nil, positions: [:])
            #expect(try await store.sharedSplitPoints(collection: collection, slices: 2) { [.int32(5)] } == [.int32(5)])
            #expect(try await store.sharedSplitPoints(collection: collection, slices: 2) { [.int32(9)] } == [.int32(5)])
        }
    }

    @Test("the init-load life cycle answers needed until a finished, successful load covers every collection")
    func initLoadLifeCycle() async throws {
        try await Self.withMigratedStore { store, session, schema in
            let customers = Namespace(database: "db", collection: "customers")
            var hashes = [customers: "aaaa"]
            #expect(
                try await store.initLoadStatus(schemaHashes: hashes).reasons.first?.hasPrefix("never loaded") == true)

            try await store.startInitLoad(run: nil, positions: ["rs0": BSONTimestamp(seconds: 100, increment: 7)])
            #expect(
                try await store.initLoadStatus(schemaHashes: hashes).reasons.first?.hasPrefix("still running") == true)
            try await store.finishInitLoad(ok: false)
            #expect(try await store.initLoadStatus(schemaHashes: hashes).reasons.first?.hasPrefix("failed") == true)

            let id = try await store.startInitLoad(
                run: nil,
                positions: [
                    "rs0": BSONTimestamp(seconds: 200, increment: 1), "rs1": BSONTimestamp(seconds: 201, increment: 2),
                ])
            try await session.withTransaction(purpose: "test") { session in
                try StateStore.recordCollectionLoad(
                    on: session, schema: schema, collection: customers, schemaHash: "aaaa", documents: 3,
                    rows: ["customers": 3], run: nil)
            }
            try await store.finishInitLoad(ok: true)
            let done = try await store.initLoadStatus(schemaHashes: hashes)
            #expect(done.reasons == [])
            #expect(done.initLoadID == id)
            #expect(
                done.positions == [
                    "rs0": BSONTimestamp(seconds: 200, increment: 1).packed,
                    "rs1": BSONTimestamp(seconds: 201, increment: 2).packed,
                ])

            hashes[customers] = "bbbb"
            #expect(
                try await store.initLoadStatus(schemaHashes: hashes).reasons == [
                    "schema changed for db.customers since init load \(id)"
                ])
            hashes[Namespace(database: "db", collection: "accounts")] = "cccc"
            #expect(
                try await store.initLoadStatus(schemaHashes: hashes).reasons.contains {
                    $0.hasPrefix("not loaded: db.accounts was not loaded by init load \(id)")
                })
        }
    }

    @Test("finishing an init load that was never started is refused")
    func finishWithoutStart() async throws {
        try await Self.withMigratedStore { store, session, schema in
            let error = await #expect(throws: StateError.self) { try await store.finishInitLoad(ok: true) }
            #expect(error?.kind == .noRecord)
        }
    }
}
