import Foundation
import MongoPG
import TestSupport
import Testing

/// oplog-sync with `[oplog:<name>] mode = changestream` through the real binary: the same replay engine fed by a
/// change stream instead of `local.oplog.rs`, on SecantusDB.
@Suite("oplog-sync: change streams as the source", .tags(.integration))
struct ChangeStreamSyncTests {
    typealias Writer = OplogSyncFixture.Writer

    /// Makes the scene's one source (`rs0`, on `uri`) read as `lines` say (`mode = changestream`, ...).
    static func configure(_ scene: InitLoadFixture, uri: String, _ lines: String...) throws {
        let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
        try (config + "\n[oplog:rs0]\nuri = \(uri)\n" + lines.joined(separator: "\n") + "\n")
            .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
    }

    /// Replaces the scene's `[oplog:rs0]` section (the last lines of its config) with one reading as `lines` say.
    static func reconfigure(_ scene: InitLoadFixture, uri: String, _ lines: String...) throws {
        let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
        let head = config.components(separatedBy: "\n[oplog:rs0]\n")[0]
        try (head + "\n[oplog:rs0]\nuri = \(uri)\n" + lines.joined(separator: "\n") + "\n")
            .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
    }

    /// A seeded random workload of every kind of write (inserts, `$set` of nested and array paths, `$unset`,
    /// `$push`, `$pop`, `$pull`, `$inc`, `$rename`, replacements, upserts, deletes, `update_many`, transactions),
    /// the same sequence on each namespace given, through pymongo.
    static let workload = """
        import sys, random, pymongo
        uri, seed, count, shaped = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "shaped"
        client = pymongo.MongoClient(uri)
        for ns in sys.argv[5:]:
            db, name = ns.split(".", 1)
            c = client[db][name]
            r = random.Random(seed)
            def rid(): return r.randint(1, 30)
            for n in range(count):
                k, i, j = r.randrange(15), rid(), rid()
                try:  # a write the document's shape refuses (a $push onto an object) writes nothing: that is fine
                    if k == 0: c.replace_one({"_id": i}, {"name": f"r{n}", "tags": [f"t{n}"], "items": [{"sku": "s", "qty": n}]}, upsert=True)
                    elif k == 1: c.update_one({"_id": i}, {"$set": {"name": f"n{n}", "address.city": f"c{n}"}}, upsert=True)
                    elif k == 2: c.update_one({"_id": i}, {"$push": {"tags": f"p{n}", "items": {"sku": f"k{n}", "qty": n, "notes": ["a"]}}})
                    elif k == 3: c.update_one({"_id": i}, {"$pop": {"tags": 1, "items": -1}})
                    elif k == 4: c.update_one({"_id": i}, {"$pull": {"tags": {"$in": ["a", f"p{n - 1}", f"t{n - 2}"]}}})
                    elif k == 5: c.update_one({"_id": i}, {"$inc": {"score": 1.5}})
                    elif k == 6: c.update_one({"_id": i}, {"$unset": {"address": "", "tags.0": ""}})
                    elif k == 7: c.delete_one({"_id": i})
                    elif k == 8: c.update_many({"_id": {"$lt": 8}}, {"$set": {"meta": {"k": n, "deep": {"x": [n]}}}})
                    elif k == 9:
                        # Unshaped: on a document without items or tags this makes objects where the schema has arrays.
                        only = {"items.0": {"$exists": True}, "tags": {"$type": "array"}} if shaped else {}
                        c.update_one({"_id": i, **only}, {"$set": {"items.0.qty": n, "items.0.notes.1": "x", "tags.3": "pad"}})
                    elif k == 10: c.update_one({"_id": i}, {"$set": {"matrix": [[n, n + 1], [n]]}})
                    elif k == 11: c.update_one({"_id": i, **({"matrix.0": {"$type": "array"}} if shaped else {})}, {"$push": {"matrix.0": n}})
                    elif k == 12: c.update_one({"_id": i}, {"$rename": {"name": "title"}})
                    elif k == 13: c.update_one({"_id": i}, {"$rename": {"title": "name"}, "$push": {"tags": {"$each": ["e", "f"], "$slice": -2}}})
                    else:
                        with client.start_session() as s:
                            with s.start_transaction():
                                c.insert_one({"_id": 100000 + seed * 1000 + n, "name": "tx", "tags": ["x"]}, session=s)
                                c.update_one({"_id": i}, {"$set": {"name": f"tx{n}"}, "$push": {"tags": "tx"}}, session=s)
                                c.delete_one({"_id": j}, session=s)
                except pymongo.errors.OperationFailure:
                    pass
        """

    /// `shaped`: no write creates an object where the schema has an array. Such values are lossy in the tables (the
    /// relational model keeps them as NULL), so a later update replays onto a document that is not MongoDB's and
    /// only verification puts it right, which a kill between two batches can defeat (see `killedAnywhere`).
    static func runWorkload(uri: String, seed: Int, count: Int, shaped: Bool = false, on namespaces: [Namespace])
        async throws
    {
        try await OplogSyncFixture.runPython(
            ["-c", workload, uri, String(seed), String(count), shaped ? "shaped" : "any"]
                + namespaces.map(\.description))
    }

    /// The tables hold exactly what an init load of the collection on `uri` would give now.
    static func expectInSync(_ scene: InitLoadFixture, uri: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let mongo = try await MongoSession(uri: uri, name: "check").findAll(scene.namespace)
        try await OplogSyncFixture.expectTables(scene, hold: mongo, sourceLocation: sourceLocation)
    }

    static func syncPoints(_ scene: InitLoadFixture) async throws -> [[String?]] {
        try await PostgresServer.withSession { session in
            try await session.query(
                """
                SELECT source, oplog_ts::text, encode(resume_token, 'hex') FROM \(PostgresSQL.quoteIdentifier(scene.stateSchema)).sync_points
                ORDER BY 1
                """, purpose: "test"
            ).rows
        }
    }

    static func figures(_ outcome: Binaries.Outcome) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any] ?? [:]
    }

    @Test(
        "one random workload on one server, synced with mode = oplog, mode = changestream and with update_lookup: every table equals an init load"
    )
    func bothModes() async throws {
        let uri = try ServerEnvironment.shared.mongoURI()
        let schema = OplogSyncFixture.schema, documents = OplogSyncFixture.documents
        try await InitLoadFixture.with(batchSize: 5, schema: schema, documents: documents) { oplogScene in
            try await InitLoadFixture.with(batchSize: 5, schema: schema, documents: documents) { streamScene in
                try await InitLoadFixture.with(batchSize: 5, schema: schema, documents: documents) { lookupScene in
                    try Self.configure(oplogScene, uri: uri, "mode = oplog")
                    try Self.configure(streamScene, uri: uri, "mode = changestream")
                    try Self.configure(
                        lookupScene, uri: uri, "mode = changestream", "scope = database",
                        "full_document = update_lookup")
                    let scenes = [oplogScene, streamScene, lookupScene]
                    for scene in scenes { try await scene.initLoad() }
                    let seed = Int(Date().timeIntervalSince1970) % 1000
                    for round in 0..<4 {
                        try await Self.runWorkload(
                            uri: uri, seed: seed + round, count: 60, on: scenes.map(\.namespace))
                        for scene in scenes {
                            let run = try Self.figures(try await OplogSyncFixture.sync(scene, ["--json"]))
                            // Every mode read the round's writes and verified the documents they touched.
                            #expect((run["updates"] as? Int ?? 0) > 0, "\(run)")
                            #expect((run["documents_verified"] as? Int ?? 0) > 0, "\(run)")
                            try await Self.expectInSync(scene, uri: uri)
                        }
                    }
                    // Change stream sources keep a resume token beside their sync point (per database with
                    // scope = database); the oplog source keeps none.
                    #expect(try await Self.syncPoints(oplogScene).map { $0[2] } == [nil])
                    #expect(try await Self.syncPoints(streamScene).first?[2] != nil)
                    #expect(
                        try await Self.syncPoints(lookupScene).map { $0[0] }
                            == ["rs0/\(lookupScene.namespace.database)"])

                    // A quiet run (other tests may write elsewhere: filtered in the server) still moves the token and
                    // applies nothing.
                    let before = try await Self.syncPoints(streamScene)
                    let quiet = try Self.figures(try await OplogSyncFixture.sync(streamScene, ["--json"]))
                    #expect((quiet["inserts"] as? Int) == 0 && (quiet["updates"] as? Int) == 0, "\(quiet)")
                    #expect((quiet["skipped"] as? [String: Int])?["noop"] == 1, "\(quiet)")
                    let after = try await Self.syncPoints(streamScene)
                    let moved: Int64 = after.first?[1].flatMap { Int64($0) } ?? 0
                    let stood: Int64 = before.first?[1].flatMap { Int64($0) } ?? 1
                    #expect(moved >= stood)

                    // etlstatus lag reads the position of each: the sync point the last run left.
                    let lag = try await streamScene.etlstatus("lag", "--json")
                    #expect(lag.status == 0, "\(lag.stderr)")
                    #expect(lag.stdout.contains("\"sync_point\""), "\(lag.stdout)")
                }
            }
        }
    }

    @Test(
        "a sync killed at random moments (12 times) loses nothing and doubles nothing, in both modes",
        arguments: ["changestream", "oplog"])
    func killedAnywhere(mode: String) async throws {
        let uri = try ServerEnvironment.shared.mongoURI()
        try await InitLoadFixture.with(
            batchSize: 7, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try Self.configure(scene, uri: uri, "mode = \(mode)")
            try await scene.initLoad()
            var random = SeededRandom(seed: UInt64(Date().timeIntervalSince1970))
            for round in 0..<12 {
                // Shaped writes: with unshaped ones (seeds 500-511), both modes leave one document wrong, since a
                // difference that verification remembered for a later batch is forgotten when the process is killed.
                try await Self.runWorkload(
                    uri: uri, seed: 500 + round, count: 25, shaped: true, on: [scene.namespace])
                let run = try OplogFollowTests.BackgroundRun(scene, [])
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...1500, using: &random)))
                kill(run.pid, SIGKILL)
                _ = try await run.exitStatus()
                if round % 4 == 3 {
                    _ = try await OplogSyncFixture.sync(scene)
                    try await Self.expectInSync(scene, uri: uri)
                }
            }
            _ = try await OplogSyncFixture.sync(scene)
            try await Self.expectInSync(scene, uri: uri)
        }
    }

    @Test("a change stream source resumes from its stored token after the server restarted, between runs and mid-run")
    func serverRestart() async throws {
        try await InitLoadFixture.withRestartableServer(
            schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene, mongo, server in
            let uri = server.uri
            try Self.configure(scene, uri: uri, "mode = changestream")
            try await scene.initLoad()
            try await Self.runWorkload(uri: uri, seed: 7, count: 40, on: [scene.namespace])
            _ = try await OplogSyncFixture.sync(scene)
            try await Self.expectInSync(scene, uri: uri)
            let token = try await Self.syncPoints(scene).first?[2]
            #expect(token != nil)

            await server.stop()
            try await server.start()
            try await Self.runWorkload(uri: uri, seed: 8, count: 40, on: [scene.namespace])
            let resumed = try await OplogSyncFixture.sync(scene, ["--log-level", "info"])
            #expect(resumed.stderr.contains("resume token"), "\(resumed.stderr)")
            try await Self.expectInSync(scene, uri: uri)

            // The server going away under a run: 69 (or a clean end, when the run was already done); the next
            // run catches up from the token.
            try await Self.runWorkload(uri: uri, seed: 9, count: 40, on: [scene.namespace])
            let run = try OplogFollowTests.BackgroundRun(scene, [])
            // The stream is open (or the run done already) before its server goes.
            #expect(try await run.waitForStderr("replaying a change stream"), "\(run.stderr)")
            await server.stop()
            let status = try await run.exitStatus(timeout: 120)
            #expect(status == 0 || status == 69, "exit \(String(describing: status)): \(run.stderr)")
            try await server.start()
            _ = try await OplogSyncFixture.sync(scene)
            try await Self.expectInSync(scene, uri: uri)
        }
    }

    @Test(
        "a change stream whose history fell off the oplog is 1 naming the source, from a stored token and from the init load's position"
    )
    func historyLost() async throws {
        try await InitLoadFixture.withPrivateServer(
            arguments: ["--oplog-max-entries", "40"], schema: OplogSyncFixture.schema,
            documents: OplogSyncFixture.documents
        ) { scene, mongo, uri in
            try Self.configure(scene, uri: uri, "mode = changestream")
            let writer = Writer(session: mongo, namespace: scene.namespace)
            func roll() async throws {
                for id: Int32 in 100..<160 { try await writer.insert([["_id": .int32(id)]]) }
                try await writer.delete(["_id": .int32(100)], limit: 0)
                for id: Int32 in 100..<160 { try await writer.delete(["_id": .int32(id)]) }
                _ = try await mongo.runCommand(["secantusAdmin.pruneOplog": .int32(1)], database: "admin")
            }

            // No token yet: the init load's position is older than the oplog's oldest entry.
            try await scene.initLoad()
            try await writer.set(1, ["name": .string("lost")])
            try await roll()
            let fromStart = try await scene.run("oplog-sync", [])
            #expect(fromStart.status == 1, "\(fromStart.stderr)")
            #expect(fromStart.stderr.contains("source rs0"), "\(fromStart.stderr)")
            #expect(try await Self.syncPoints(scene).isEmpty, "no sync point moved")

            // A stored token whose event fell off: the server refuses to resume (286).
            try await scene.initLoad()
            _ = try await OplogSyncFixture.sync(scene)
            let stored = try await Self.syncPoints(scene)
            #expect(stored.first?[2] != nil)
            try await writer.set(2, ["name": .string("lost too")])
            try await roll()
            let fromToken = try await scene.run("oplog-sync", [])
            #expect(fromToken.status == 1, "\(fromToken.stderr)")
            #expect(
                fromToken.stderr.contains("change stream of source rs0 cannot resume from its stored resume token"),
                "\(fromToken.stderr)")
            #expect(fromToken.stderr.contains("init load is needed"), "\(fromToken.stderr)")
            #expect(try await Self.syncPoints(scene) == stored, "the sync point and token stay where they were")
        }
    }

    @Test(
        "a damaged resume token (not BSON, or no token the server reads) names the source and --resync, which is the way back"
    )
    func damagedToken() async throws {
        let uri = try ServerEnvironment.shared.mongoURI()
        try await InitLoadFixture.with(schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents) {
            scene in
            try Self.configure(scene, uri: uri, "mode = changestream")
            try await scene.initLoad()
            _ = try await OplogSyncFixture.sync(scene)
            let writer = Writer(session: try MongoSession(uri: uri), namespace: scene.namespace)
            for (token, status, named) in [
                ("deadbeef", Int32(65), "the resume token of change stream source rs0"),
                ("0c0000001078000100000000", 1, "the change stream of source rs0 cannot resume from its stored"),
            ] {
                try await PostgresServer.withSession { session in
                    try await session.execute(
                        "UPDATE \(PostgresSQL.quoteIdentifier(scene.stateSchema)).sync_points "
                            + "SET resume_token = decode('\(token)', 'hex')", purpose: "test: damage the token")
                }
                try await writer.set(1, ["name": .string("changed with token \(token)")])
                let damaged = try await scene.run("oplog-sync", [])
                #expect(damaged.status == status, "\(damaged.stderr)")
                #expect(damaged.stderr.contains(named), "\(damaged.stderr)")
                #expect(damaged.stderr.contains("oplog-sync --resync"), "\(damaged.stderr)")
                let resync = try await scene.run("oplog-sync", ["--resync"])
                #expect(resync.status == 0, "\(resync.stderr)")
                try await Self.expectInSync(scene, uri: uri)
                _ = try await OplogSyncFixture.sync(scene)
                #expect(try await Self.syncPoints(scene).first?[2] != nil, "a new token is stored")
            }
        }
    }

    @Test(
        "a user with find and changeStream on one database only: changestream (scope = database) syncs, oplog mode is 69 naming the privilege"
    )
    func restrictedUser() async throws {
        try await InitLoadFixture.withRestartableServer(
            schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene, root, server in
            let admin = server.uri
            let database = scene.namespace.database
            _ = try await root.runCommand(
                [
                    "createRole": .string("syncStreamOnly"),
                    "privileges": .array([
                        .document([
                            "resource": .document(["db": .string(database), "collection": .string("")]),
                            "actions": .array([.string("find"), .string("changeStream")]),
                        ])
                    ]),
                    "roles": .array([]),
                ], database: "admin")
            _ = try await root.runCommand(
                [
                    "createUser": .string("syncer"), "pwd": .string("s3cret-pw"),
                    "roles": .array([.document(["role": .string("syncStreamOnly"), "db": .string("admin")])]),
                ], database: "admin")
            _ = try await root.runCommand(
                [
                    "createUser": .string("root"), "pwd": .string("r00t-pw"),
                    "roles": .array([.document(["role": .string("root"), "db": .string("admin")])]),
                ], database: "admin")
            await server.stop()
            try await server.start(arguments: ["--auth"])

            let syncer = server.uri(user: "syncer", password: "s3cret-pw")
            let rootURI = server.uri(user: "root", password: "r00t-pw")
            // The sync's user reads the collection and its database's change stream, never the oplog.
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "uri = \(admin)", with: "uri = \(syncer)")
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            try Self.configure(scene, uri: syncer, "mode = changestream", "scope = database")
            try await scene.initLoad()

            let writer = Writer(session: try MongoSession(uri: rootURI, name: "root"), namespace: scene.namespace)
            try await Self.runWorkload(uri: rootURI, seed: 3, count: 50, on: [scene.namespace])
            try await writer.set(1, ["name": .string("seen through a change stream")])
            _ = try await OplogSyncFixture.sync(scene)
            try await Self.expectInSync(scene, uri: rootURI)
            let lag = try await scene.etlstatus("lag")
            #expect(lag.status == 0, "\(lag.stderr)")
            #expect(lag.stdout.contains("window unknown"), "\(lag.stdout)")

            // scope = cluster needs find and changeStream on every database: 69, naming them.
            try Self.reconfigure(scene, uri: syncer, "mode = changestream", "scope = cluster")
            try await writer.set(2, ["name": .string("cluster")])
            let cluster = try await scene.run("oplog-sync", [])
            #expect(cluster.status == 69, "\(cluster.stderr)")
            #expect(cluster.stderr.contains("find and changeStream actions on every database"), "\(cluster.stderr)")

            // mode = oplog needs find on local.oplog.rs: 69, naming it.
            try Self.reconfigure(scene, uri: syncer, "mode = oplog")
            let oplog = try await scene.run("oplog-sync", [])
            #expect(oplog.status == 69, "\(oplog.stderr)")
            #expect(oplog.stderr.contains("needs the find action on local.oplog.rs"), "\(oplog.stderr)")
            #expect(!oplog.stderr.contains("s3cret-pw"), "no secret in the message")

            // Back to change streams: it catches up from where it stood.
            try Self.reconfigure(scene, uri: syncer, "mode = changestream", "scope = database")
            _ = try await OplogSyncFixture.sync(scene)
            try await Self.expectInSync(scene, uri: rootURI)
        }
    }

    @Test(
        "--follow with a change stream source, scope cluster and database: the tables follow a random workload, lag stays in seconds, SIGTERM ends it with 0 and the token is stored; a rename stops it with 1",
        arguments: ["cluster", "database"])
    func follow(scope: String) async throws {
        typealias Follow = OplogFollowTests
        // A server of its own: the lag measured is this follower's, not that of every other test's writes.
        try await InitLoadFixture.withPrivateServer(
            batchSize: 5, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene, mongo, uri in
            try Self.configure(scene, uri: uri, "mode = changestream", "scope = \(scope)")
            try await scene.initLoad()
            try Follow.setCommitSeconds(1, scene)
            let run = try Follow.BackgroundRun(scene, ["--follow", "--json"])
            #expect(try await run.waitForStderr("following a change stream"), "\(run.stderr)")
            let seed = Int(Date().timeIntervalSince1970) % 1000
            for round in 0..<3 {
                try await Self.runWorkload(uri: uri, seed: seed + round, count: 40, on: [scene.namespace])
                try await Task.sleep(for: .milliseconds(1500))
            }
            let synced = try await Follow.waitUntil(timeout: 120) {
                try await Follow.tablesHold(scene, try await mongo.findAll(scene.namespace))
            }
            #expect(synced, "the tables never caught up: \(run.stderr)")
            try await Self.expectInSync(scene, uri: uri)
            #expect(run.process.isRunning, "a following run keeps running: \(run.stderr)")
            let lag = try await scene.etlstatus("lag", "--json")
            let sources = Follow.json(lag.stdout)["sources"] as? [[String: Any]] ?? []
            let seconds = sources.first?["lag_seconds"] as? Double
            #expect(seconds != nil && seconds! < 10, "\(lag.stdout) \(lag.stderr)")
            // While only collections that are not synced are written, the stream moves its sync point and token
            // on (every six commit periods), so it never falls out of the oplog's window. (SecantusDB's resume
            // token stays put while nothing at all is written: then nothing leaves the window either.)
            let idle = try await Self.syncPoints(scene)
            let unsynced = Namespace(database: scene.namespace.database, collection: "unsynced_\(scope)")
            for second in 0..<10 {
                try await mongo.insert([["_id": .int32(Int32(second))]], into: unsynced)
                try await Task.sleep(for: .seconds(1))
            }
            let moved = try await Self.syncPoints(scene)
            #expect(
                moved.count == idle.count
                    && zip(moved, idle).allSatisfy {
                        UInt64($0[1] ?? "") ?? 0 > UInt64($1[1] ?? "") ?? 0 && $0[2] != $1[2]
                    },
                "\(idle) \(moved)")

            kill(run.pid, SIGTERM)
            #expect(try await run.exitStatus() == 0, "\(run.stderr)")
            let summary = Follow.json(run.stdout)
            #expect(summary["interrupted_by"] as? Int == 15, "\(run.stdout)")
            #expect((summary["documents_verified"] as? Int ?? 0) > 0, "verified as it followed: \(run.stdout)")
            let points = try await Self.syncPoints(scene)
            #expect(!points.isEmpty && points.allSatisfy { $0[2] != nil }, "a token per stream: \(points)")

            // The next follower resumes from the stored token: nothing lost, nothing doubled; a rename of the
            // synced collection stops it with 1 after what came before it committed.
            let writer = Writer(session: mongo, namespace: scene.namespace)
            try await writer.set(1, ["name": .string("before the rename")])
            let again = try Follow.BackgroundRun(scene, ["--follow"])
            #expect(try await again.waitForStderr("following a change stream"), "\(again.stderr)")
            try await Self.runWorkload(uri: uri, seed: seed + 10, count: 20, on: [scene.namespace])
            try await writer.set(1, ["name": .string("before the rename")])
            let expected = try await mongo.findAll(scene.namespace)
            _ = try await mongo.runCommand(
                [
                    "renameCollection": .string(scene.namespace.description),
                    "to": .string("\(scene.namespace.database).renamed_\(scope)"),
                ], database: "admin")
            #expect(try await again.exitStatus(timeout: 90) == 1, "\(again.stderr)")
            #expect(again.stderr.contains("renameCollection"), "\(again.stderr)")
            try await OplogSyncFixture.expectTables(scene, hold: expected)
        }
    }

    @Test("a rename of a synced collection stops with 1 after the changes before it committed, as in oplog mode")
    func renameStops() async throws {
        let uri = try ServerEnvironment.shared.mongoURI()
        try await InitLoadFixture.with(schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents) {
            scene in
            try Self.configure(scene, uri: uri, "mode = changestream")
            try await scene.initLoad()
            let mongo = try MongoSession(uri: uri, name: "rename")
            let writer = Writer(session: mongo, namespace: scene.namespace)
            try await writer.set(1, ["name": .string("before the rename")])
            _ = try await mongo.runCommand(
                [
                    "renameCollection": .string(scene.namespace.description),
                    "to": .string("\(scene.namespace.database).renamed"),
                ], database: "admin")
            let outcome = try await scene.run("oplog-sync", [])
            #expect(outcome.status == 1, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("renameCollection"), "\(outcome.stderr)")
            let rows = try await PostgresServer.withSession { session in
                try await session.query(
                    "SELECT name FROM \(try scene.plan().qualifiedName(try scene.plan().tables[0])) WHERE _id = 1",
                    purpose: "test"
                ).scalar
            }
            #expect(rows == "before the rename")
        }
    }
}
