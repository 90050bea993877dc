import Foundation
import MongoPG
import TestSupport
import Testing

/// `oplog-sync --follow` through the real binary, run in the background while writes arrive, and oplog-sync under
/// faults: its PostgreSQL connection killed in the middle of a batch, MongoDB restarted in the middle of a run.
@Suite("oplog-sync: following the oplog, and faults", .tags(.integration))
struct OplogFollowTests {
    typealias Writer = OplogSyncFixture.Writer

    /// An oplog-sync process running beside the test, its output collected as it comes.
    final class BackgroundRun: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var output = Data(), errors = Data()
        /// How many of stdout and stderr reached their end.
        private var streamsEnded = 0

        init(_ scene: InitLoadFixture, _ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = Binaries.url("oplog-sync")
            process.arguments = ["--config", scene.configPath] + arguments
            process.environment = ProcessInfo.processInfo.environment
                .merging(scene.environment) { _, new in new }.merging(environment) { _, new in new }
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            out.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    self?.endStream()
                } else {
                    self?.append(data, error: false)
                }
            }
            err.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    self?.endStream()
                } else {
                    self?.append(data, error: true)
                }
            }
            try process.run()
        }

        private func append(_ data: Data, error: Bool) {
            lock.withLock {
                if error { errors.append(data) } else { output.append(data) }
            }
        }

        private func endStream() { lock.withLock { streamsEnded += 1 } }

        var stdout: String { lock.withLock { String(decoding: output, as: UTF8.self) } }
        var stderr: String { lock.withLock { String(decoding: errors, as: UTF8.self) } }
        var pid: Int32 { process.processIdentifier }

        /// Waits until stderr holds `text`; false after `timeout` seconds or when the process ended first.
        func waitForStderr(_ text: String, timeout: Double = 60) async throws -> Bool {
            try await OplogFollowTests.waitUntil(timeout: timeout) {
                self.stderr.contains(text) || !self.process.isRunning
            }
            return stderr.contains(text)
        }

        /// The exit status, or nil when the process still runs after `timeout` seconds (it is then killed).
        func exitStatus(timeout: Double = 60) async throws -> Int32? {
            let ended = try await OplogFollowTests.waitUntil(timeout: timeout) { !self.process.isRunning }
            guard ended else {
                kill(pid, SIGKILL)
                return nil
            }
            // The last output reaches the handlers: both streams read to their end.
            try await OplogFollowTests.waitUntil(timeout: 10) { self.lock.withLock { self.streamsEnded == 2 } }
            return process.terminationStatus
        }

        /// Held at `batch-written`: its PostgreSQL connections are terminated, then it is resumed through `resume`.
        /// It must end with 69 and one line saying why, after the hold point's.
        func losesPostgres(resuming resume: URL) async throws {
            let killed = try await OplogFollowTests.query(
                "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE application_name = 'oplog-sync[\(pid)]'"
            )
            #expect(!killed.isEmpty && killed.allSatisfy { $0 == ["true"] }, "\(killed)")
            _ = FileManager.default.createFile(atPath: resume.path, contents: nil)
            #expect(try await exitStatus() == 69, "\(stderr)")
            let after = stderr.components(separatedBy: "holding at batch-written\n").last ?? ""
            #expect(
                after.hasPrefix("oplog-sync: PostgreSQL: ") && after.split(separator: "\n").count == 1,
                "one line says why: \(stderr)")
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// Polls `condition` every 200 ms; false when it did not hold within `timeout` seconds.
    @discardableResult
    static func waitUntil(timeout: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    /// Whether the tables hold exactly `documents`, as the relational model gives them back.
    static func tablesHold(_ scene: InitLoadFixture, _ documents: [BSONDocument]) async throws -> Bool {
        let (stored, expected) = try await OplogSyncFixture.tableContents(scene, documents)
        return stored == expected
    }

    /// Sets `[sync] follow_commit_seconds`.
    static func setCommitSeconds(_ seconds: Int, _ scene: InitLoadFixture) throws {
        let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "[sync]\n", with: "[sync]\nfollow_commit_seconds = \(seconds)\n")
            .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
    }

    static func query(_ sql: String) async throws -> [[String?]] {
        try await PostgresServer.withSession { session in try await session.query(sql, purpose: "test").rows }
    }

    static func state(_ scene: InitLoadFixture, _ table: String) -> String {
        "\(PostgresSQL.quoteIdentifier(scene.stateSchema)).\(table)"
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    @Test(
        "--follow keeps the tables equal to the collection while writes come in bursts, lag stays in seconds, SIGTERM ends it with 0 and the ledger"
    )
    func followBursts() async throws {
        // A server of its own: the lag measured is this follower's, not that of every other test's writes.
        try await InitLoadFixture.withPrivateServer(
            batchSize: 5, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene, mongo, uri in
            try await scene.initLoad()
            try Self.setCommitSeconds(1, scene)
            let fileAndFollow = try await scene.run("oplog-sync", ["--follow", "--from-file", "oplog.bson"])
            #expect(fileAndFollow.status == 64, "a file has no tail: \(fileAndFollow.stderr)")
            let writer = Writer(session: mongo, namespace: scene.namespace)
            let run = try BackgroundRun(scene, ["--follow", "--json"])
            #expect(try await run.waitForStderr("following"), "\(run.stderr)")
            var nextID: Int32 = 100
            for burst in 0..<3 {
                for step in 0..<12 {
                    switch step % 4 {
                    case 0:
                        nextID += 1
                        try await writer.insert([
                            ["_id": .int32(nextID), "name": .string("b\(burst)"), "tags": .array([.string("t")])]
                        ])
                    case 1:
                        try await writer.update(
                            ["_id": .int32(nextID)],
                            .document([
                                "$push": .document(["tags": .string("p\(burst)")]),
                                "$set": .document(["address.city": .string("c\(step)")]),
                            ]))
                    case 2:
                        try await writer.set(Int32(1 + step % 4), ["score": .double(Double(burst * 100 + step))])
                    default: try await writer.delete(["_id": .int32(nextID - 1)])
                    }
                }
                try await Task.sleep(for: .milliseconds(1500))
            }
            // A transaction of 7 entries sharing one ts, more than a read of batch_size 5 takes: it comes in two
            // reads and commits whole.
            try await OplogSyncFixture.python(
                """
                client = pymongo.MongoClient(uri)
                collection = client[db][coll]
                with client.start_session() as session:
                    with session.start_transaction():
                        for i in range(7):
                            collection.insert_one({"_id": 500 + i, "name": "tx", "tags": ["t"]}, session=session)
                """, uri: uri, scene.namespace)
            let synced = try await Self.waitUntil(timeout: 90) {
                try await Self.tablesHold(scene, try await mongo.findAll(scene.namespace))
            }
            #expect(synced, "the tables never caught up: \(run.stderr)")
            try await OplogSyncFixture.expectTables(scene, hold: try await mongo.findAll(scene.namespace))
            #expect(run.process.isRunning, "a following run keeps running: \(run.stderr)")

            // Lag in seconds while it follows.
            let lag = try await scene.etlstatus("lag", "--json")
            let sources = Self.json(lag.stdout)["sources"] as? [[String: Any]] ?? []
            let seconds = sources.first?["lag_seconds"] as? Double
            #expect(seconds != nil && seconds! < 10, "\(lag.stdout) \(lag.stderr)")
            // --max-age measures a following run from its newest batch, not from the end of an earlier run.
            let check = try await scene.etlstatus("check", "--json", "--max-age", "1m")
            let findings = Self.json(check.stdout)["findings"] as? [[String: Any]] ?? []
            #expect(
                findings.contains {
                    ($0["text"] as? String)?.contains("running, last heard of") == true && $0["status"] as? Int == 0
                }, "\(check.stdout) \(check.stderr)")

            // Idle, it still tells the ledger it is alive (every six commit periods), without a batch step.
            let ledgerRow =
                "SELECT last_seen_at::text, jsonb_array_length(steps)::text FROM \(Self.state(scene, "runs")) "
                + "WHERE tool = 'oplog-sync' ORDER BY id DESC LIMIT 1"
            let before = try await Self.query(ledgerRow)
            try await Task.sleep(for: .seconds(10))
            let after = try await Self.query(ledgerRow)
            #expect(after.first?[1] == before.first?[1], "no batch while idle: \(before) \(after)")
            #expect((after.first?[0] ?? "") > (before.first?[0] ?? "~"), "a heartbeat: \(before) \(after)")

            kill(run.pid, SIGTERM)
            let status = try await run.exitStatus()
            #expect(status == 0, "\(run.stderr)")
            let summary = Self.json(run.stdout)
            #expect(summary["interrupted_by"] as? Int == 15, "\(run.stdout)")
            #expect((summary["documents_verified"] as? Int ?? 0) > 0, "verified as it followed: \(run.stdout)")
            // Where verification's time went: MongoDB's answers are part of it.
            let verifying = summary["verify_seconds"] as? Double ?? 0
            let asking = summary["verify_mongo_seconds"] as? Double ?? 0
            #expect(verifying > 0 && asking > 0 && asking <= verifying, "\(run.stdout)")
            #expect((summary["batches"] as? Int ?? 0) >= 3, "\(run.stdout)")
            let ledger = try await Self.query(
                "SELECT status, exit_code::text, figures->>'interrupted_by_signal' FROM \(Self.state(scene, "runs")) "
                    + "WHERE tool = 'oplog-sync' ORDER BY id DESC LIMIT 1")
            #expect(ledger == [["ok", "0", "15"]])
            // A run from cron after it: nothing lost, nothing doubled.
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectTables(scene, hold: try await mongo.findAll(scene.namespace))
        }
    }

    @Test(
        "--follow commits a lone write follow_commit_seconds after reading it, with no more writes; a source that dies is 69"
    )
    func timedCommit() async throws {
        try await InitLoadFixture.withRestartableServer(
            schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene, mongo, server in
            try await scene.initLoad()
            try Self.setCommitSeconds(3, scene)
            let run = try BackgroundRun(scene, ["--follow"])
            #expect(try await run.waitForStderr("following"), "\(run.stderr)")
            try await Task.sleep(for: .seconds(2))  // past the start's checks: the tail waits for entries
            let root = try scene.plan().qualifiedName(scene.plan().tables[0])
            let written = Date()
            try await Writer(session: mongo, namespace: scene.namespace).insert([
                ["_id": .int32(99), "name": .string("alone")]
            ])
            var committed: Date?
            try await Self.waitUntil(timeout: 90) {
                let rows = try await Self.query("SELECT name FROM \(root) WHERE _id = 99")
                if rows == [["alone"]] { committed = Date() }
                return committed != nil
            }
            let seconds = committed.map { $0.timeIntervalSince(written) }
            // Not before the commit time (the entry is read after the write), and at all: batch_size entries never
            // come. (How soon after is the machine's load: 4 to 8 s alone, 25 s seen under a full suite.)
            #expect(seconds != nil && seconds! >= 3, "\(String(describing: seconds)) \(run.stderr)")
            let entries = try await mongo.findAll(
                MongoSession.oplog, filter: ["o._id": .int32(99)],
                options: FindOptions(projection: ["ts": .int32(1)]))
            let point = try await Self.query("SELECT oplog_ts::text FROM \(Self.state(scene, "sync_points"))")
            if case .timestamp(let ts)? = entries.last?["ts"] {
                #expect(point == [[String(ts.packed)]], "the sync point is the lone write's entry")
            }
            #expect(run.process.isRunning)

            // The source goes away under the tail: 69, the reason on one line.
            await server.stop()
            let status = try await run.exitStatus(timeout: 90)
            #expect(status == 69, "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").last?.contains("MongoDB") == true, "\(run.stderr)")
            try await server.restart()
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectTables(scene, hold: try await mongo.findAll(scene.namespace))
        }
    }

    @Test(
        "--follow defers a document MongoDB changed after the batch (never repaired to a later state) and repairs planted divergence"
    )
    func followVerification() async throws {
        try await InitLoadFixture.withPrivateServer(
            schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene, mongo, uri in
            try await scene.initLoad()
            try Self.setCommitSeconds(2, scene)
            let writer = Writer(session: mongo, namespace: scene.namespace)
            let resume = scene.directory.appendingPathComponent("resume")
            let run = try BackgroundRun(
                scene, ["--follow", "--json"],
                environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-written", "MONGO_PG_SYNC_RESUME_FILE": resume.path])
            #expect(try await run.waitForStderr("following"), "\(run.stderr)")
            let root = try scene.plan().qualifiedName(scene.plan().tables[0])
            try await PostgresServer.withSession { session in
                try await session.execute("UPDATE \(root) SET name = 'tampered' WHERE _id = 3", purpose: "test")
            }
            // One batch: document 3 (tampered) and document 4's first change.
            try await writer.set(3, ["score": .double(3)])
            try await writer.set(4, ["name": .string("first")])
            #expect(try await run.waitForStderr("holding at batch-written"), "\(run.stderr)")
            // While that batch is written and not verified yet, MongoDB moves document 4 on.
            try await writer.set(4, ["name": .string("second")])
            _ = FileManager.default.createFile(atPath: resume.path, contents: nil)
            let synced = try await Self.waitUntil(timeout: 60) {
                try await Self.tablesHold(scene, try await mongo.findAll(scene.namespace))
            }
            #expect(synced, "\(run.stderr)")
            kill(run.pid, SIGTERM)
            #expect(try await run.exitStatus() == 0, "\(run.stderr)")
            let summary = Self.json(run.stdout)
            #expect(summary["documents_repaired"] as? Int == 1, "only the tampered one: \(run.stdout)")
            #expect(run.stderr.contains("repaired a document"), "\(run.stderr)")
            try await OplogSyncFixture.expectTables(scene, hold: try await mongo.findAll(scene.namespace))
        }
    }

    @Test(
        "--follow over two shard sources keeps the tables equal to their union as writes come, a sync point each; SIGINT ends it with 0"
    )
    func followShards() async throws {
        try await PrivateMongoServer.with { shardA in
            try await PrivateMongoServer.with { shardB in
                try await InitLoadFixture.with(
                    mongoURI: shardA, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
                ) { scene in
                    let a = Writer(session: try MongoSession(uri: shardA, name: "a"), namespace: scene.namespace)
                    let b = Writer(session: try MongoSession(uri: shardB, name: "b"), namespace: scene.namespace)
                    try await a.insert(Array(OplogSyncFixture.documents[0..<2]))
                    try await b.insert(Array(OplogSyncFixture.documents[2...]))
                    let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
                    try (config + "\n[oplog:shardA]\nuri = \(shardA)\n\n[oplog:shardB]\nuri = \(shardB)\n")
                        .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
                    try Self.setCommitSeconds(1, scene)
                    #expect(try await scene.etlstatus("init-load-start").status == 0)
                    try await OplogSyncFixture.loadFromDump(scene)
                    #expect(try await scene.etlstatus("init-load-finish", "ok").status == 0)

                    // [mongo] uri is one shard here (a mongos in production): verification is off.
                    let run = try BackgroundRun(scene, ["--follow", "--no-verify", "--json"])
                    #expect(try await run.waitForStderr("following"), "\(run.stderr)")
                    try await a.set(1, ["name": .string("a1")])
                    try await b.set(3, ["name": .string("b3")])
                    // Document 2 moves from shard A to shard B (a migration, without fromMigrate here): A's delete
                    // comes first in ts (a second apart, since the two servers' clocks count increments apart), and
                    // must be replayed first even if shard B's entry is read first.
                    try await a.delete(["_id": .int32(2)])
                    try await Task.sleep(for: .milliseconds(1100))
                    try await b.insert([["_id": .int32(2), "name": .string("moved to b")]])
                    try await a.insert([["_id": .int32(5), "name": .string("on a")]])
                    try await b.delete(["_id": .int32(4)])
                    let union = {
                        try await MongoSession(uri: shardA, name: "a").findAll(scene.namespace)
                            + MongoSession(uri: shardB, name: "b").findAll(scene.namespace)
                    }
                    let synced = try await Self.waitUntil(timeout: 60) {
                        try await Self.tablesHold(scene, try await union())
                    }
                    #expect(synced, "\(run.stderr)")
                    kill(run.pid, SIGINT)
                    #expect(try await run.exitStatus() == 0, "\(run.stderr)")
                    #expect(Self.json(run.stdout)["interrupted_by"] as? Int == 2, "\(run.stdout)")
                    try await OplogSyncFixture.expectTables(scene, hold: try await union())
                    let points = try await Self.query(
                        "SELECT source FROM \(Self.state(scene, "sync_points")) ORDER BY 1")
                    #expect(points == [["shardA"], ["shardB"]])
                }
            }
        }
    }

    @Test(
        "--follow whose oplog rolls past it while it is held mid-batch exits 1, never skipping what it lost; so does the next run"
    )
    func followRolledPast() async throws {
        try await InitLoadFixture.withPrivateServer(
            arguments: ["--oplog-max-entries", "40"], schema: OplogSyncFixture.schema,
            documents: OplogSyncFixture.documents
        ) { scene, mongo, uri in
            try await scene.initLoad()
            try Self.setCommitSeconds(1, scene)
            let writer = Writer(session: mongo, namespace: scene.namespace)
            let resume = scene.directory.appendingPathComponent("resume")
            let run = try BackgroundRun(
                scene, ["--follow"],
                environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-written", "MONGO_PG_SYNC_RESUME_FILE": resume.path])
            #expect(try await run.waitForStderr("following"), "\(run.stderr)")
            try await writer.set(1, ["name": .string("first")])
            #expect(try await run.waitForStderr("holding at batch-written"), "\(run.stderr)")
            // While the reader is held, the oplog rolls past everything it has read: SecantusDB's cursor would go
            // on after the pruned entries without a word.
            try await Self.rollPast(run, writer: writer, mongo: mongo, resume: resume)
            let again = try await scene.run("oplog-sync", [])
            #expect(again.status == 1, "\(again.stderr)")
            #expect(again.stderr.contains("no longer reaches back"), "\(again.stderr)")
        }
    }

    /// Writes past a 40-entry oplog and prunes it while `run` is held at a hold point, then resumes it: it must end
    /// with 1, saying the oplog rolled past it.
    static func rollPast(_ run: BackgroundRun, writer: Writer, mongo: MongoSession, resume: URL) async throws {
        for id: Int32 in 100..<160 { try await writer.insert([["_id": .int32(id)]]) }
        _ = try await mongo.runCommand(["secantusAdmin.pruneOplog": .int32(1)], database: "admin")
        _ = FileManager.default.createFile(atPath: resume.path, contents: nil)
        #expect(try await run.exitStatus() == 1, "\(run.stderr)")
        #expect(run.stderr.contains("rolled past the reader"), "\(run.stderr)")
    }

    @Test(
        "a catch-up run whose oplog rolls past it while it is held mid-batch exits 1, never skipping what it lost"
    )
    func catchUpRolledPast() async throws {
        try await InitLoadFixture.withPrivateServer(
            arguments: ["--oplog-max-entries", "40"], batchSize: 2, schema: OplogSyncFixture.schema,
            documents: OplogSyncFixture.documents
        ) { scene, mongo, uri in
            try await scene.initLoad()
            let writer = Writer(session: mongo, namespace: scene.namespace)
            for id: Int32 in 1...4 { try await writer.set(id, ["name": .string("changed \(id)")]) }
            let resume = scene.directory.appendingPathComponent("resume")
            let run = try BackgroundRun(
                scene, [],
                environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-written", "MONGO_PG_SYNC_RESUME_FILE": resume.path])
            #expect(try await run.waitForStderr("holding at batch-written"), "\(run.stderr)")
            // While the reader is held after its first batch, the oplog rolls past what it has not read yet.
            try await Self.rollPast(run, writer: writer, mongo: mongo, resume: resume)
        }
    }

    @Test("oplog-sync whose PostgreSQL connection is killed in the middle of a batch exits 69; the next run catches up")
    func postgresKilledMidBatch() async throws {
        try await InitLoadFixture.with(
            batchSize: 2, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try await scene.initLoad()
            let writer = Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            for id: Int32 in 40..<50 { try await writer.insert([["_id": .int32(id), "name": .string("n\(id)")]]) }
            let resume = scene.directory.appendingPathComponent("resume")
            let run = try BackgroundRun(
                scene, [],
                environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-written", "MONGO_PG_SYNC_RESUME_FILE": resume.path])
            #expect(try await run.waitForStderr("holding at batch-written"), "\(run.stderr)")
            try await run.losesPostgres(resuming: resume)
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectInSync(scene)
        }
    }

    @Test("oplog-sync whose MongoDB restarts in the middle of a run exits 69; the next run catches up")
    func mongoRestartedMidRun() async throws {
        try await InitLoadFixture.withRestartableServer(
            batchSize: 2, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene, mongo, server in
            try await scene.initLoad()
            let writer = Writer(session: mongo, namespace: scene.namespace)
            for id: Int32 in 40..<60 { try await writer.insert([["_id": .int32(id), "name": .string("n\(id)")]]) }
            let resume = scene.directory.appendingPathComponent("resume")
            let run = try BackgroundRun(
                scene, [],
                environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-written", "MONGO_PG_SYNC_RESUME_FILE": resume.path])
            #expect(try await run.waitForStderr("holding at batch-written"), "\(run.stderr)")
            try await server.restart()
            _ = FileManager.default.createFile(atPath: resume.path, contents: nil)
            #expect(try await run.exitStatus(timeout: 120) == 69, "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").last?.contains("MongoDB") == true, "\(run.stderr)")
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectTables(scene, hold: try await mongo.findAll(scene.namespace))
        }
    }
}
