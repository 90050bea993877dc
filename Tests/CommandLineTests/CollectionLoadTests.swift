import Foundation
import MongoPG
import TestSupport
import Testing

/// A load of some collections while the others keep syncing (`etlstatus init-load-start --collection`), through the
/// real binaries: a collection added to `[collections]`, loaded alone with writes on both collections landing before
/// its start, between its read and its swap, and after; oplog-sync running at every stage.
@Suite("Loads of some collections while the rest keep syncing", .tags(.integration))
struct CollectionLoadTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    /// The state `init-load-status --json` gives each collection.
    static func states(_ outcome: Binaries.Outcome) throws -> [String: String] {
        let collections = try #require(try json(outcome.stdout)["collections"] as? [String: [String: Any]])
        return collections.mapValues { $0["state"] as? String ?? "?" }
    }

    /// The tables of `namespace` (built by the scene's schema file for it) hold exactly MongoDB's documents.
    static func expectInSync(
        _ scene: InitLoadFixture, _ namespace: Namespace, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let plan = try SchemaFile(
            namespace: namespace, schemasDirectory: scene.directory.appendingPathComponent("schemas").path,
            settings: FlattenSettings(targetSchema: scene.targetSchema)
        ).plan
        let mongo = try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).findAll(namespace)
        let expected = try mongo.map { try normalise($0, plan: plan) }
        let stored = try await PostgresServer.withSession { session in
            try await StoredDocuments.all(plan: plan, session: session)
        }
        let byID = { (documents: [BSONDocument]) in
            documents.sorted { "\($0["_id"] ?? .null)" < "\($1["_id"] ?? .null)" }
        }
        #expect(byID(Array(stored.values)) == byID(expected), sourceLocation: sourceLocation)
    }

    @Test("a collection added to [collections] is loaded alone, writes on both collections at every stage converge")
    func addedCollection() async throws {
        try await InitLoadFixture.with(documentCount: 30) { scene in
            try await scene.initLoad()
            _ = try await OplogSyncFixture.sync(scene)
            let customers = OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            let ordersNamespace = Namespace(database: scene.namespace.database, collection: "orders")
            let orders = OplogSyncFixture.Writer(session: customers.session, namespace: ordersNamespace)
            let ids = scene.documents.map { $0["_id"]! }
            func rename(_ writer: OplogSyncFixture.Writer, _ index: Int, _ name: String) async throws {
                try await writer.update(
                    ["_id": ids[index]], .document(["$set": .document(["name": .string(name)])]))
            }

            // A second collection appears in MongoDB and in the config, with its schema file.
            try await orders.insert(Array(scene.documents.prefix(20)))
            try FileManager.default.copyItem(
                atPath: scene.schemaPath,
                toPath: scene.directory.appendingPathComponent("schemas/\(ordersNamespace).json").path)
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try (config + "\n\(ordersNamespace)\n").write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            try await rename(customers, 0, "c0")

            // Not loaded yet: the loaded collection syncs, the run ends with 1 naming the other and the command.
            var sync = try await scene.run("oplog-sync", [])
            #expect(sync.status == 1, "\(sync.stderr)")
            #expect(sync.stderr.contains("\(ordersNamespace)") && sync.stderr.contains("init-load-start --collection"))
            try await Self.expectInSync(scene, scene.namespace)
            var status = try await scene.etlstatus("init-load-status", "--json")
            #expect(status.status == 1)
            #expect(
                try Self.states(status) == [
                    scene.namespace.description: "loaded", ordersNamespace.description: "not_loaded",
                ])

            let start = try await scene.etlstatus("init-load-start", "--collection", ordersNamespace.description)
            #expect(start.status == 0, "\(start.stderr)")
            try await rename(customers, 1, "c1")
            try await rename(orders, 0, "o0")
            try await orders.insert([scene.documents[25]])
            try await orders.delete(["_id": ids[2]])
            let read = try await scene.run(
                "mongo-reader", ["--collection", ordersNamespace.description, "--csv-dir", scene.csvDirectory])
            #expect(read.status == 0, "\(read.stderr)")

            // Between the read and the swap: oplog-sync goes on with the loaded collection.
            try await rename(orders, 1, "o1")
            try await rename(customers, 2, "c2")
            sync = try await scene.run("oplog-sync", [])
            #expect(sync.status == 1, "\(sync.stderr)")
            try await Self.expectInSync(scene, scene.namespace)
            status = try await scene.etlstatus("init-load-status", "--json")
            #expect(try Self.states(status)[ordersNamespace.description] == "loading")
            try await rename(orders, 3, "o3")

            let copy = try await scene.run(
                "psql-copy", ["--collection", ordersNamespace.description, "--csv-dir", scene.csvDirectory])
            #expect(copy.status == 0, "\(copy.stderr)")
            try await rename(orders, 4, "o4")
            #expect(try await scene.etlstatus("init-load-finish", "ok").status == 0)

            // The new collection replays from its load's position, the other from its sync point.
            _ = try await OplogSyncFixture.sync(scene)
            try await Self.expectInSync(scene, scene.namespace)
            try await Self.expectInSync(scene, ordersNamespace)
            status = try await scene.etlstatus("init-load-status", "--json")
            #expect(status.status == 0, "\(status.stderr)")
            #expect(try await scene.stateRowCount("collection_starts") == "0", "the sync point passed its start")

            // Taken out of [collections]: its tables stay as they are, init-load-status says so.
            try await rename(orders, 5, "o5")
            try config.write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            _ = try await OplogSyncFixture.sync(scene)
            status = try await scene.etlstatus("init-load-status")
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stderr.contains("\(ordersNamespace) is no longer in [collections]"), "\(status.stderr)")
        }
    }

    @Test("a reload of one collection while oplog-sync runs from a loop beside it loses and doubles nothing")
    func reloadBesideLoop() async throws {
        try await InitLoadFixture.with(documentCount: 40) { scene in
            try await scene.initLoad()
            _ = try await OplogSyncFixture.sync(scene)
            let writer = OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            let ids = scene.documents.map { $0["_id"]! }
            // Cron: oplog-sync again and again; each run syncs, finds the sync lock held (75) or waits for the load.
            let loop = Task { () -> [Int32] in
                var statuses: [Int32] = []
                while !Task.isCancelled {
                    statuses.append(try await scene.run("oplog-sync", []).status)
                }
                return statuses
            }
            var round = 0
            func write() async throws {
                round += 1
                try await writer.update(
                    ["_id": ids[round % ids.count]],
                    .document(["$set": .document(["name": .string("round \(round)")])]))
            }
            try await write()
            // init-load-start and psql-copy take the sync lock without waiting: a sync run holding it is 75, try again.
            var start = try await scene.etlstatus("init-load-start", "--collection", scene.namespace.description)
            while start.status == 75 {
                start = try await scene.etlstatus("init-load-start", "--collection", scene.namespace.description)
            }
            #expect(start.status == 0, "\(start.stderr)")
            try await write()
            #expect(try await scene.read().status == 0)
            try await write()
            var copy = try await scene.copy()
            while copy.status == 75 { copy = try await scene.copy() }
            #expect(copy.status == 0, "\(copy.stderr)")
            try await write()
            #expect(try await scene.etlstatus("init-load-finish", "ok").status == 0)
            try await write()
            loop.cancel()
            let statuses = try await loop.value
            #expect(statuses.allSatisfy { [0, 1, 75].contains($0) }, "\(statuses)")
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectInSync(scene)
        }
    }

    @Test("init-load-start --collection names only configured collections")
    func unknownCollection() async throws {
        try await InitLoadFixture.with(documentCount: 5) { scene in
            let outcome = try await scene.etlstatus("init-load-start", "--collection", "nowhere.nothing")
            #expect(outcome.status == 64, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("nowhere.nothing is not a configured collection"))
        }
    }
}
