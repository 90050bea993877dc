import TestSupport
import Testing

@testable import MongoPG

@Suite("State schema migrations after the first", .tags(.integration))
struct StateMigrationTests {
    static func tables(_ session: PostgresSession, _ schema: String) async throws -> [String] {
        try await session.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", parameters: [schema],
            purpose: "test"
        ).column("table_name")?.compactMap { $0 } ?? []
    }

    static func version(_ session: PostgresSession, _ store: StateStore) async throws -> String? {
        try await session.query("SELECT version FROM \(store.table("schema_version"))", purpose: "test").scalar
    }

    @Test(
        "migrations 2 to 5 from an empty database create freshness_checks, verifications, resume tokens and pending verifications"
    )
    func fromEmpty() async throws {
        #expect(StateStore.currentVersion == 10)
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate() == 10)
            #expect(try await Self.version(session, store) == "10")
            #expect(try await Self.tables(session, schema).contains("open_transactions"))
            #expect(try await Self.tables(session, schema).contains("catalog_excluded"))
            #expect(try await Self.tables(session, schema).contains("collection_starts"))
            #expect(try await Self.tables(session, schema).contains("pending_verifications"))
            #expect(try await Self.tables(session, schema).contains("verifications"))
            #expect(try await Self.tables(session, schema).contains("freshness_checks"))
            let columns = try await session.query(
                """
                SELECT column_name FROM information_schema.columns WHERE table_schema = $1
                AND table_name = 'freshness_checks' ORDER BY ordinal_position
                """, parameters: [schema], purpose: "test")
            #expect(
                columns.column("column_name")?.compactMap { $0 } == [
                    "id", "checked_at", "table_schema", "table_name", "column_name", "max_age_seconds", "newest",
                    "age_seconds", "error",
                ])
        }
    }

    @Test("migration 2 from version 1 keeps what version 1 held")
    func fromPrevious() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate(through: 1) == 1)
            #expect(try await !Self.tables(session, schema).contains("freshness_checks"))
            let run = try await LedgerRun.start(tool: "psql-copy", arguments: ["a"], in: store)
            try await run.finish(.ok, figures: ["rows": 3])
            // As version 1's code recorded an init load (today's also clears tables version 1 lacks).
            let initLoad = try await session.query(
                "INSERT INTO \(store.table("init_loads")) (run_id) VALUES ($1) RETURNING id",
                parameters: [String(run.id)],
                purpose: "test"
            ).scalar
            try await session.query(
                "INSERT INTO \(store.table("init_load_positions")) (init_load_id, source, oplog_ts) VALUES ($1, 'rs0', $2)",
                parameters: [initLoad, String(BSONTimestamp(seconds: 9, increment: 1).packed)], purpose: "test")

            #expect(try await store.migrate(through: 2) == 2)
            #expect(try await Self.version(session, store) == "2")
            #expect(try await Self.tables(session, schema).contains("freshness_checks"))
            // Today's code reads the ledger as the newest version has it.
            #expect(try await store.migrate() == StateStore.currentVersion)
            let runs = try await store.runs(RunFilter())
            #expect(runs.map(\.tool) == ["psql-copy"])
            #expect(runs.first?.figures == ["rows": 3])
            #expect(
                try await store.initLoadStatus(schemaHashes: [:]).positions["rs0"]
                    == BSONTimestamp(seconds: 9, increment: 1).packed)
        }
    }

    @Test("migration 3 from version 2 adds verifications and keeps what version 2 held")
    func verificationsFromPrevious() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate(through: 2) == 2)
            #expect(try await !Self.tables(session, schema).contains("verifications"))
            let measured = try await store.checkFreshness(
                [FreshnessRule(table: "nowhere", column: "at", maxAge: TimeSpan(seconds: 60))], targetSchema: schema)
            #expect(measured.count == 1)

            #expect(try await store.migrate(through: 3) == 3)
            #expect(try await Self.version(session, store) == "3")
            #expect(try await store.freshnessHistory(last: 5).map(\.table) == ["nowhere"])
            let recorded = try await store.recordVerification(
                VerificationRecord(
                    collection: "shop.orders", mode: "all", runID: 7, documentsChecked: 10, different: 1, missing: 0,
                    extra: 2, unstorable: 0, pending: 1, repaired: 0, divergent: 3),
                findingsJSON: #"[{"kind":"extra","id":"1"}]"#)
            #expect(recorded.finishedAt != nil)
            let newest = try await store.lastVerifications()
            #expect(newest.count == 1)
            #expect(newest.first?.divergent == 3 && newest.first?.extra == 2 && newest.first?.runID == 7)
        }
    }

    @Test(
        "migration 4 from version 3 keeps the sync points and adds their resume tokens, moved with them and never left behind"
    )
    func resumeTokensFromPrevious() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate(through: 3) == 3)
            try await session.query(
                "INSERT INTO \(store.table("sync_points")) (source, oplog_ts) VALUES ('rs0', 42)", purpose: "test")

            #expect(try await store.migrate(through: 4) == 4)
            #expect(try await Self.version(session, store) == "4")
            #expect(try await store.syncPoints() == ["rs0": BSONTimestamp(packed: 42)])
            #expect(try await store.resumeTokens().isEmpty)
            #expect(try await store.migrate() == StateStore.currentVersion)  // what the tools run on

            // A token moves with its sync point, in the caller's transaction: a rollback keeps neither.
            let token: BSONDocument = ["_data": .string("82 token"), "nested": .document(["n": .int64(7)])]
            let moved = BSONTimestamp(seconds: 50, increment: 2)
            try await session.begin(purpose: "test")
            try await store.moveSyncPoints(["rs0": moved, "rs0/shop": moved], resumeTokens: ["rs0/shop": token])
            try await session.rollback(purpose: "test")
            #expect(try await store.resumeTokens().isEmpty)
            try await session.begin(purpose: "test")
            try await store.moveSyncPoints(["rs0": moved, "rs0/shop": moved], resumeTokens: ["rs0/shop": token])
            try await session.commit(purpose: "test")
            #expect(try await store.resumeTokens() == ["rs0/shop": token])
            #expect(try await store.syncPoints() == ["rs0": moved, "rs0/shop": moved])
            // A move without a token (the source now reads the oplog) leaves none behind.
            try await store.moveSyncPoints(["rs0/shop": BSONTimestamp(seconds: 51, increment: 0)])
            #expect(try await store.resumeTokens().isEmpty)
        }
    }

    @Test(
        "migration 5 from version 4 keeps the sync points; documents left to verify commit with their batch or not at all"
    )
    func pendingVerificationsFromPrevious() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate(through: 4) == 4)
            try await session.query(
                "INSERT INTO \(store.table("sync_points")) (source, oplog_ts) VALUES ('rs0', 42)", purpose: "test")
            #expect(try await store.migrate() == StateStore.currentVersion)
            #expect(try await store.syncPoints() == ["rs0": BSONTimestamp(packed: 42)])
            #expect(try await store.pendingVerifications().isEmpty)

            let orders = Namespace(database: "shop", collection: "orders")
            let left: [(namespace: Namespace, id: BSONValue)] = [
                (orders, .int32(7)), (orders, .string("seven")),
                (Namespace(database: "shop", collection: "x"), .int32(7)),
                (orders, .document(["a": .int64(1), "b": .string("c")])),
            ]
            try await session.begin(purpose: "test")
            try await store.updatePendingVerifications(adding: left, removing: [])
            try await session.rollback(purpose: "test")
            #expect(try await store.pendingVerifications().isEmpty)
            try await session.begin(purpose: "test")
            try await store.updatePendingVerifications(adding: left + [left[0]], removing: [])
            try await session.commit(purpose: "test")
            let read = try await store.pendingVerifications()
            #expect(read.count == 4)
            for document in left {
                #expect(read.contains { $0.namespace == document.namespace && $0.id == document.id }, "\(document)")
            }
            // Settled ones go, others stay; one settled and left again in the same batch stays.
            try await store.updatePendingVerifications(adding: [left[3]], removing: [left[0], left[3]])
            let kept = try await store.pendingVerifications()
            #expect(kept.count == 3 && !kept.contains { $0.namespace == orders && $0.id == .int32(7) }, "\(kept)")
            try await store.updatePendingVerifications(adding: [], removing: left)
            #expect(try await store.pendingVerifications().isEmpty)
        }
    }

    @Test("open transactions kept per source come back whole, and a batch's set replaces that source's alone")
    func openTransactions() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            let lsid = BSONValue.document(["id": .binary(BSONBinary(subtype: 4, data: Array(repeating: 7, count: 16)))])
            let prepared = OpenTransaction(
                session: lsid, number: 3, firstTS: BSONTimestamp(seconds: 9, increment: 2),
                lastTS: BSONTimestamp(seconds: 11, increment: 1), prepared: true, parts: 2,
                operations: [["op": .string("i"), "ns": .string("shop.customers"), "o": .document(["_id": .int32(1)])]])
            var chain = prepared
            chain.number = 4
            chain.prepared = false
            try await store.keepOpenTransactions(["rs0": [prepared, chain], "file": [chain]])
            #expect(try await store.openTransactions() == ["rs0": [prepared, chain], "file": [chain]])
            try await store.keepOpenTransactions(["rs0": []])
            #expect(try await store.openTransactions() == ["file": [chain]])
        }
    }

    @Test("a state schema one version ahead of this release is refused as a configuration error (78)")
    func futureVersion() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            try await session.query(
                "UPDATE \(store.table("schema_version")) SET version = $1",
                parameters: [String(StateStore.currentVersion + 1)], purpose: "test")
            let error = await #expect(throws: StateError.self) { try await store.migrate() }
            #expect(error?.kind == .newerVersion)
            #expect(error?.exitStatus == .configError)
            #expect(error?.description.contains("version \(StateStore.currentVersion + 1)") == true)
        }
    }
}

@Suite("Freshness checks and the run ledger's history in the state schema", .tags(.integration))
struct StatusStateTests {
    @Test("freshness is measured per table, recorded, and read back newest first; bad tables hold the reason")
    func freshness() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            let target = schema + "_target"
            let quoted = PostgresSQL.quoteIdentifier(target)
            try await session.execute(
                """
                CREATE SCHEMA \(quoted);
                CREATE TABLE \(quoted)."orders 日本" ("seen at" timestamptz, n int);
                INSERT INTO \(quoted)."orders 日本" VALUES (clock_timestamp() - interval '10 minutes', 1),
                    (clock_timestamp() - interval '2 hours', 2);
                CREATE TABLE \(quoted).empty (at timestamptz);
                """, purpose: "test")
            do {
                let rules = [
                    FreshnessRule(table: "orders 日本", column: "seen at", maxAge: TimeSpan(seconds: 3_600)),
                    FreshnessRule(table: "empty", column: "at", maxAge: TimeSpan(seconds: 60)),
                    FreshnessRule(table: "missing", column: "at", maxAge: TimeSpan(seconds: 60)),
                    FreshnessRule(table: "orders 日本", column: "n", maxAge: TimeSpan(seconds: 60)),
                ]
                let results = try await store.checkFreshness(rules, targetSchema: target)
                #expect(results.count == 4)
                let age = try #require(results[0].ageSeconds)
                #expect(age > 590 && age < 700)
                #expect(results[0].isFresh)
                #expect(results[0].newest?.hasSuffix("Z") == true)
                #expect(results[1].newest == nil && results[1].ageSeconds == nil && results[1].error == nil)
                #expect(!results[1].isFresh)
                #expect(results[2].error?.contains("42P01") == true)
                #expect(results[3].error != nil)
                #expect(results.allSatisfy { $0.checkedAt != nil })

                // Records older than the retention go when new ones are written.
                try await session.execute(
                    """
                    INSERT INTO \(store.table("freshness_checks"))
                        (checked_at, table_schema, table_name, column_name, max_age_seconds)
                    VALUES (clock_timestamp() - interval '31 days', 's', 'ancient', 'c', 1)
                    """, purpose: "test")
                _ = try await store.checkFreshness(Array(rules.prefix(1)), targetSchema: target)
                let history = try await store.freshnessHistory(last: 10)
                #expect(history.count == 5)
                #expect(history.first?.table == "orders 日本" && history.first?.column == "seen at")
                #expect(history.dropFirst().map(\.table) == ["orders 日本", "missing", "empty", "orders 日本"])
                #expect(try await store.freshnessHistory(last: 10, table: "empty").count == 1)
                #expect(try await store.freshnessHistory(last: 2).count == 2)
                try await session.execute("DROP SCHEMA \(quoted) CASCADE", purpose: "test")
            } catch {
                try? await session.execute("DROP SCHEMA IF EXISTS \(quoted) CASCADE", purpose: "test")
                throw error
            }
        }
    }

    @Test("the ledger lists runs newest first, by tool, only failures, and the last successful run of a tool")
    func runs() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            try await store.migrate()
            for (tool, status) in [
                ("psql-copy", ExitStatus.ok), ("oplog-sync", .ok), ("oplog-sync", .dataError),
                ("psql-copy", .unavailable),
            ] {
                let run = try await LedgerRun.start(tool: tool, arguments: [], in: store)
                try await run.finish(status, message: status == .ok ? nil : "why", figures: ["rows": 2])
            }
            let running = try await LedgerRun.start(tool: "mongo-reader", arguments: [], in: store)

            #expect(try await store.runs(RunFilter()).map(\.id) == [5, 4, 3, 2, 1])
            #expect(try await store.runs(RunFilter(last: 2)).map(\.id) == [5, 4])
            #expect(try await store.runs(RunFilter(tool: "oplog-sync")).map(\.id) == [3, 2])
            #expect(try await store.runs(RunFilter(failed: true)).map(\.id) == [5, 4, 3])
            #expect(try await store.lastSuccessfulRun(tool: "oplog-sync")?.id == 2)
            #expect(try await store.lastSuccessfulRun(tool: "mongo-reader") == nil)
            #expect(try await store.lastRunPerTool().map(\.id) == [5, 3, 4])
            let failed = try #require(try await store.runs(RunFilter(tool: "oplog-sync")).first)
            #expect(failed.status == .error && failed.exitCode == 65 && failed.message == "why")
            #expect(failed.figures == ["rows": 2] && failed.finishedAt != nil)

            let open = try #require(try await store.runs(RunFilter(last: 1)).first)
            #expect(open.id == running.id && open.status == .running && open.finishedAt == nil)
            #expect(open.resolvingDied(hostName: open.host, isAlive: { _ in false }).status == .died)
            #expect(open.resolvingDied(hostName: open.host, isAlive: { _ in true }).status == .running)
            #expect(open.resolvingDied(hostName: "elsewhere", isAlive: { _ in false }).status == .running)
            #expect(open.resolvingDied(hostName: open.host, isAlive: RunRecord.processIsAlive).status == .running)
        }
    }

    @Test("migration 7 from version 6 keeps init loads whole (collections NULL) and starts no collection of its own")
    func collectionStartsFromPrevious() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate(through: 6) == 6)
            try await session.query(
                "INSERT INTO \(store.table("init_loads")) (status) VALUES ('ok')", purpose: "test")
            try await session.query(
                "INSERT INTO \(store.table("sync_points")) (source, oplog_ts) VALUES ('rs0', 42)", purpose: "test")
            #expect(try await store.migrate(through: 7) == 7)
            #expect(
                try await session.query(
                    "SELECT count(*) FROM \(store.table("init_loads")) WHERE collections IS NULL", purpose: "test"
                ).scalar == "1")
            #expect(try await store.collectionStarts().isEmpty)
            // A start passed by its source's sync point goes with the move; a later one stays.
            let orders = Namespace(database: "shop", collection: "orders")
            let customers = Namespace(database: "shop", collection: "customers")
            try await store.setCollectionStarts(orders, positions: ["rs0": BSONTimestamp(packed: 50)])
            try await store.setCollectionStarts(customers, positions: ["rs0": BSONTimestamp(packed: 70)])
            try await store.moveSyncPoints(["rs0": BSONTimestamp(packed: 60)])
            #expect(try await store.collectionStarts() == [customers: ["rs0": BSONTimestamp(packed: 70)]])
            // Migrations 8 to 10 keep all that and start with no transaction open.
            #expect(try await store.migrate() == 10)
            #expect(try await store.collectionStarts() == [customers: ["rs0": BSONTimestamp(packed: 70)]])
            #expect(try await store.syncPoints() == ["rs0": BSONTimestamp(packed: 60)])
            #expect(try await store.openTransactions().isEmpty)
        }
    }

    @Test("migration 10 from version 9 records catalog tables as ordinary ones (distribution_column NULL)")
    func distributionColumnFromPrevious() async throws {
        try await PostgresServer.withScratchSchema("etl") { session, schema in
            let store = StateStore(session: session, schema: schema)
            #expect(try await store.migrate(through: 9) == 9)
            try await session.query(
                """
                INSERT INTO \(store.table("catalog_tables")) (collection, table_name, json_path, depth)
                VALUES ('shop.orders', 'orders', '$', 0)
                """, purpose: "test")
            #expect(try await store.migrate() == 10)
            let orders = Namespace(database: "shop", collection: "orders")
            #expect(
                try await session.query(
                    "SELECT count(*) FROM \(store.table("catalog_tables")) WHERE distribution_column IS NULL",
                    purpose: "test"
                ).scalar == "1")
            #expect(try await !store.catalog(of: orders).distributed)
        }
    }
}
