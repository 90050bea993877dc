import Foundation
import MongoPG
import TestSupport
import Testing

/// The toolkit against a Citus cluster (`scripts/services start --citus`: a coordinator and two workers), through
/// the real binaries: distributed tables from psql-copy, oplog-sync's statements on them, faults of a worker.
/// Serialized: one test stops a worker, which the others' statements would meet.
@Suite("Citus: a distributed target", .tags(.integration), .serialized)
struct CitusTests {
    typealias Writer = OplogSyncFixture.Writer

    /// Documents a relational copy finds hard: quoted, dotted, dollar and unicode names, names longer than an
    /// identifier, arrays inside arrays inside objects, a long array, a field whose type changes, empty arrays.
    static let hostileDocuments: [BSONDocument] = [
        OplogSyncFixture.json(
            #"{"_id": 1, "a\"b": "say \"hi\"", "it's": "it's", "x.y": {"p.q": "a.b"}, "$money": 5, "日本": ["語"], "🙂": {"👍🏽": "🙂"}}"#
        ),
        OplogSyncFixture.json(
            #"{"_id": 2, "\#(String(repeating: "n", count: 300))": 1, "orders": [{"sku": "a", "lines": [[1, 2], [3]]}, {"sku": "b", "lines": []}]}"#
        ),
        OplogSyncFixture.json(#"{"_id": 3, "numbers": [\#((0..<2000).map(String.init).joined(separator: ","))]}"#),
        OplogSyncFixture.json(#"{"_id": 4, "mixed": "text", "orders": [], "x.y": {"p.q": 7}}"#),
        OplogSyncFixture.json(#"{"_id": 5, "mixed": 12, "back\\slash": "\\N\t", "orders": [{"sku": null}]}"#),
    ]

    /// Runs `body` with a Citus scene holding `documents`, its schema sampled by mongo-schema, loaded.
    static func withLoaded(
        _ documents: [BSONDocument], citus: Bool = true, batchSize: Int? = nil,
        _ body: (InitLoadFixture) async throws -> Void
    ) async throws {
        try await InitLoadFixture.with(
            citus: citus, batchSize: batchSize, schema: "{}", documents: documents
        ) { scene in
            let sampled = try await scene.run("mongo-schema", ["--collection", scene.namespace.description])
            #expect(sampled.status == 0, "\(sampled.stderr)")
            try sampled.stdout.write(toFile: scene.schemaPath, atomically: true, encoding: .utf8)
            try await scene.initLoad()
            try await body(scene)
        }
    }

    /// Each synced table of the scene as `pg_dist_partition` shows it: name -> (method, distribution column,
    /// colocation id); an ordinary table is absent, and so is every table of a database without Citus.
    static func distribution(_ scene: InitLoadFixture) async throws -> [String: [String]] {
        let rows = try await scene.withPostgres { session in
            let citus = try await session.query(
                "SELECT 1 FROM pg_extension WHERE extname = 'citus'", purpose: "test"
            ).rows
            guard !citus.isEmpty else { return [[String?]]() }
            return try await session.query(
                """
                SELECT c.relname, p.partmethod::text, column_to_column_name(p.logicalrelid, p.partkey),
                    p.colocationid::text
                FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
                """, parameters: [scene.targetSchema], purpose: "test"
            ).rows
        }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] ?? "", Array($0.dropFirst()).map { $0 ?? "" }) })
    }

    /// Every table of the plan hash-distributed by its document-ID column, all in one colocation group; its id.
    static func expectDistributed(_ scene: InitLoadFixture, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> String?
    {
        let plan = try scene.plan(), layout = try await distribution(scene)
        #expect(Set(layout.keys) == Set(plan.tables.map(\.name)), "\(layout)", sourceLocation: sourceLocation)
        for table in plan.tables {
            let expected = ["h", plan.distributionColumn(table).name, layout[plan.tables[0].name]?[2] ?? "?"]
            #expect(layout[table.name] == expected, "\(table.name): \(layout)", sourceLocation: sourceLocation)
        }
        let catalog = try await scene.withPostgres { session in
            try await session.query(
                "SELECT table_name, distribution_column FROM \(PostgresSQL.quoteIdentifier(scene.stateSchema)).catalog_tables",
                purpose: "test"
            ).rows
        }
        #expect(
            Dictionary(uniqueKeysWithValues: catalog.map { ($0[0] ?? "", $0[1]) })
                == Dictionary(uniqueKeysWithValues: plan.tables.map { ($0.name, plan.distributionColumn($0).name) }),
            "the catalog records each table's distribution column", sourceLocation: sourceLocation)
        return layout[plan.tables[0].name]?[2]
    }

    @Test(
        "an init load of hostile documents gives Citus the rows plain PostgreSQL gets, every table hash-distributed in one colocation group per collection, recorded in the catalog"
    )
    func hostileInitLoad() async throws {
        try await Self.withLoaded(Self.hostileDocuments, citus: false) { plain in
            try await Self.withLoaded(Self.hostileDocuments) { citus in
                #expect(try citus.plan().tables.count >= 5, "arrays of objects, of arrays, of scalars")
                let plainRows = try await plain.withPostgres { try await plain.tableContents($0) }
                let citusRows = try await citus.withPostgres { try await citus.tableContents($0) }
                #expect(citusRows == plainRows)
                let group = try await Self.expectDistributed(citus)
                #expect(try await Self.distribution(plain).isEmpty, "plain PostgreSQL has no Citus")

                // Another collection gets a colocation group of its own.
                try await Self.withLoaded(OplogSyncFixture.documents) { other in
                    let otherGroup = try await Self.expectDistributed(other)
                    #expect(otherGroup != nil && otherGroup != group)
                }
            }
        }
    }

    @Test(
        "a reload read by partition workers and copied on several sessions swaps new distributed tables in with the views and grants of the old; a load killed before its swap leaves the old tables as they were"
    )
    func reloadAndKilledLoad() async throws {
        try await Self.withLoaded(OplogSyncFixture.documents) { scene in
            let plan = try scene.plan()
            let root = plan.qualifiedName(plan.tables[0]), tags = plan.qualifiedName(plan.tables[1])
            let view = PostgresSQL.qualifiedName(schema: scene.targetSchema, "tag_names")
            try await scene.withPostgres { session in
                try await session.execute(
                    "CREATE VIEW \(view) AS SELECT r.name, t.tags FROM \(root) r JOIN \(tags) t ON t.\(Identifier.quoted(plan.distributionColumn(plan.tables[1]).name)) = r._id; GRANT SELECT ON \(root) TO PUBLIC",
                    purpose: "test")
            }
            let before = try await scene.withPostgres { try await scene.tableContents($0) }
            // The reload read by two partition workers, copied on three sessions.
            #expect(try await scene.etlstatus("init-load-start").status == 0)
            try FileManager.default.removeItem(atPath: scene.collectionFolder.path)
            for part in ["1/2", "2/2"] { #expect(try await scene.read(["--partition", part]).status == 0) }
            let copied = try await scene.copy(["--jobs", "3"])
            #expect(copied.status == 0, "\(copied.stderr)")
            _ = try await Self.expectDistributed(scene)
            try await scene.withPostgres { session in
                let viewRows = try await session.query("SELECT count(*) FROM \(view)", purpose: "test").scalar
                #expect(viewRows == "2", "a and b of document 1")
                let granted = try await session.query(
                    "SELECT has_table_privilege('public', '\(root)', 'SELECT')::text", purpose: "test"
                ).scalar
                #expect(granted == "true")
                #expect(try await scene.tableContents(session) == before)
            }

            // Killed at the swap (SIGKILL): the old distributed tables stay, a rerun loads.
            let held = try FollowReaderTests.Running(
                "psql-copy", ["--collection", scene.namespace.description, "--csv-dir", scene.csvDirectory],
                scene: scene, environment: ["MONGO_PG_SYNC_HOLD_AT": "swap"])
            #expect(held.waitForStderr("holding at swap"))
            kill(held.process.processIdentifier, SIGKILL)
            _ = held.finish()
            #expect(try await scene.withPostgres { try await scene.tableContents($0) } == before)
            _ = try await Self.expectDistributed(scene)
            #expect(try await scene.copy().status == 0)
            #expect(try await scene.etlstatus("init-load-finish", "ok").status == 0)
            try await OplogSyncFixture.expectTables(scene, hold: OplogSyncFixture.documents)
        }
    }

    @Test(
        "oplog-sync replays every kind of write into distributed tables and stays exact under SIGKILLs; a schema change distributes its new table"
    )
    func liveSync() async throws {
        try await InitLoadFixture.with(
            citus: true, batchSize: 5, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try await scene.initLoad()
            _ = try await Self.expectDistributed(scene)
            let writer = Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            try await writer.insert([
                OplogSyncFixture.json(
                    #"{"_id": 5, "name": "five", "tags": ["t"], "items": [{"sku": "q", "qty": 9, "notes": ["a", "b"]}]}"#
                )
            ])
            try await writer.set(
                1, ["address.city": .string("Bergen"), "items.0.qty": .int32(5), "items.0.notes.1": .string("n2")])
            try await writer.set(2, ["items.3.sku": .string("past the end"), "tags.2": .string("padded")])
            try await writer.update(["_id": .int32(4)], .document(["$push": .document(["matrix.0": .int32(5)])]))
            try await writer.update(["_id": .int32(1)], .document(["$pull": .document(["tags": .string("a")])]))
            try await writer.update(["_id": .int32(5)], .document(["$pop": .document(["items.0.notes": .int32(1)])]))
            try await writer.update(
                ["_id": .int32(3)], .document(["_id": .int32(3), "name": .string("replaced"), "tags": .array([])]))
            try await writer.delete(["_id": .int32(2)])
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectInSync(scene)

            var random = SeededRandom(seed: UInt64(Date().timeIntervalSince1970))
            var nextID: Int32 = 100
            for round in 0..<6 {
                try await writer.randomBurst(round: round, nextID: &nextID, using: &random)
                let run = try OplogFollowTests.BackgroundRun(scene, round % 2 == 0 ? [] : ["--no-verify"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...1500, using: &random)))
                kill(run.pid, SIGKILL)
                _ = try await run.exitStatus()
            }
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectInSync(scene)

            // A new array in the schema file: its table is created distributed, beside the others.
            let schema = OplogSyncFixture.schema.replacingOccurrences(
                of: #""score": "double""#, with: #""score": "double", "labels": ["string"]"#)
            try schema.write(toFile: scene.schemaPath, atomically: true, encoding: .utf8)
            try await writer.set(1, ["labels": .array([.string("l1"), .string("l2")])])
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectInSync(scene)
            #expect(try scene.plan().tables.contains { $0.name == "customers_labels" })
            _ = try await Self.expectDistributed(scene)
        }
    }

    /// Which worker (1 or 2) holds the shard of root `_id` `id`.
    static func worker(holding id: Int, _ scene: InitLoadFixture) async throws -> Int {
        let plan = try scene.plan()
        let port = try await scene.withPostgres { session in
            try await session.query(
                """
                SELECT nodeport::text FROM pg_dist_shard_placement
                WHERE shardid = get_shard_id_for_distribution_column($1, $2::\(plan.tables[0].columns[0].sqlType.rawValue))
                """, parameters: [plan.qualifiedName(plan.tables[0]), String(id)], purpose: "test"
            ).scalar
        }
        let workers = (ServerEnvironment.shared.values["CITUS_WORKER_PORTS"] ?? "").split(separator: " ").map(
            String.init)
        return try #require(workers.firstIndex(of: port ?? "")) + 1
    }

    /// The scene's sync points: source and position.
    static func syncPoints(_ scene: InitLoadFixture) async throws -> [[String?]] {
        try await scene.withPostgres { session in
            try await session.query(
                "SELECT source, oplog_ts::text FROM \(OplogFollowTests.state(scene, "sync_points")) ORDER BY 1",
                purpose: "test"
            ).rows
        }
    }

    /// `scripts/services citus-worker stop|start N`.
    static func services(_ action: String, worker: Int) throws {
        let process = Process()
        process.executableURL = ServerEnvironment.packageRoot.appendingPathComponent("scripts/services")
        process.arguments = ["citus-worker", action, String(worker)]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "citus-worker \(action) \(worker)")
    }

    @Test("a worker stopped in the middle of a batch: exit 69, nothing committed; after its restart a rerun converges")
    func workerStoppedMidBatch() async throws {
        try await InitLoadFixture.with(
            citus: true, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try await scene.initLoad()
            _ = try await OplogSyncFixture.sync(scene)
            let writer = Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            for id: Int32 in 1...4 { try await writer.set(id, ["name": .string("changed \(id)")]) }
            try await writer.insert([["_id": .int32(20), "name": .string("new"), "tags": .array([.string("x")])]])
            let before = try await scene.withPostgres { try await scene.tableContents($0) }
            let pointsBefore = try await Self.syncPoints(scene)
            let worker = try await Self.worker(holding: 1, scene)
            let resume = scene.directory.appendingPathComponent("resume")
            let run = try OplogFollowTests.BackgroundRun(
                scene, [],
                environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-written", "MONGO_PG_SYNC_RESUME_FILE": resume.path])
            #expect(try await run.waitForStderr("holding at batch-written"), "\(run.stderr)")
            try Self.services("stop", worker: worker)
            do {
                _ = FileManager.default.createFile(atPath: resume.path, contents: nil)
                #expect(try await run.exitStatus() == 69, "\(run.stderr)")
                #expect(run.stderr.contains("PostgreSQL"), "\(run.stderr)")
            } catch {
                try Self.services("start", worker: worker)
                throw error
            }
            try Self.services("start", worker: worker)
            #expect(try await scene.withPostgres { try await scene.tableContents($0) } == before, "no row moved")
            #expect(try await Self.syncPoints(scene) == pointsBefore, "the sync point did not move")
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectInSync(scene)
        }
    }

    @Test("etlstatus verify finds rows changed behind the tool's back on the shards (3); --all --repair mends them")
    func verifyAndRepair() async throws {
        try await InitLoadFixture.with(
            citus: true, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try await scene.initLoad()
            let plan = try scene.plan()
            let root = plan.qualifiedName(plan.tables[0]), tags = plan.qualifiedName(plan.tables[1])
            let tagsKey = Identifier.quoted(plan.distributionColumn(plan.tables[1]).name)
            try await scene.withPostgres { session in
                try await session.execute(
                    "UPDATE \(root) SET name = 'tampered' WHERE _id = 3; DELETE FROM \(tags) WHERE \(tagsKey) = 1; "
                        + "DELETE FROM \(root) WHERE _id = 4",
                    purpose: "test")
            }
            let found = try await scene.etlstatus("verify", "--all")
            #expect(found.status == 3, "\(found.stdout) \(found.stderr)")
            let repair = try await scene.etlstatus("verify", "--all", "--repair")
            #expect(repair.status == 0, "\(repair.stdout) \(repair.stderr)")
            try await OplogSyncFixture.expectInSync(scene)
            #expect(try await scene.etlstatus("verify", "--all").status == 0)
        }
    }
}
