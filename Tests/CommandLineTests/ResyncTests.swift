import Foundation
import MongoPG
import TestSupport
import Testing

/// `oplog-sync --resync` through the real binary: the way back after the oplog rolled past the sync point while
/// oplog-sync was down, converging the tables in place.
@Suite("oplog-sync --resync: back in sync after a lapse, in place", .tags(.integration))
struct ResyncTests {
    typealias Writer = OplogSyncFixture.Writer

    /// A private server whose oplog keeps 40 entries, loaded and synced once: the lapses below roll it past.
    static func withSyncedScene(
        documents: [BSONDocument] = OplogSyncFixture.documents,
        _ body: (InitLoadFixture, MongoSession, _ uri: String) async throws -> Void
    ) async throws {
        try await InitLoadFixture.withPrivateServer(
            arguments: ["--oplog-max-entries", "40"], schema: OplogSyncFixture.schema, documents: documents
        ) { scene, mongo, uri in
            try await scene.initLoad()
            _ = try await OplogSyncFixture.sync(scene)
            try await body(scene, mongo, uri)
        }
    }

    /// Writes of every kind while oplog-sync is down, then enough inserts and deletes that the oplog rolls past the
    /// sync point (SecantusDB prunes on its admin command, as mongod does on each write).
    static func lapse(_ scene: InitLoadFixture, _ mongo: MongoSession, uri: String, seed: Int) async throws {
        try await ChangeStreamSyncTests.runWorkload(
            uri: uri, seed: seed, count: 40, shaped: true, on: [scene.namespace])
        let writer = Writer(session: mongo, namespace: scene.namespace)
        for id in Int32(900_000)..<900_060 { try await writer.insert([["_id": .int32(id), "name": .string("lapse")]]) }
        for id in Int32(900_000)..<900_030 { try await writer.delete(["_id": .int32(id)]) }
        _ = try await mongo.runCommand(["secantusAdmin.pruneOplog": .int32(1)], database: "admin")
    }

    /// How many documents the tables hold otherwise than MongoDB (differing, missing or extra).
    static func differing(_ scene: InitLoadFixture, uri: String) async throws -> Int {
        let mongo = try await MongoSession(uri: uri, name: "check").findAll(scene.namespace)
        let (stored, expected) = try await OplogSyncFixture.tableContents(scene, mongo)
        func byID(_ documents: [BSONDocument]) -> [String: BSONDocument] {
            Dictionary(uniqueKeysWithValues: documents.map { ("\($0["_id"] ?? .null)", $0) })
        }
        let tables = byID(stored), server = byID(expected)
        return Set(tables.keys).union(server.keys).filter { tables[$0] != server[$0] }.count
    }

    /// The oids of the root table and of a view on it, which a resync must keep (no staging, no swap).
    static func identities(_ scene: InitLoadFixture) async throws -> [String?] {
        let plan = try scene.plan()
        return try await PostgresServer.withSession { session in
            try await session.query(
                "SELECT $1::regclass::oid::text, $2::regclass::oid::text",
                parameters: [plan.qualifiedName(plan.rootTable), "\(scene.targetSchema).resync_view"], purpose: "test"
            ).rows.first ?? []
        }
    }

    static func createView(_ scene: InitLoadFixture) async throws {
        let plan = try scene.plan()
        try await PostgresServer.withSession { session in
            try await session.execute(
                """
                CREATE VIEW \(PostgresSQL.quoteIdentifier(scene.targetSchema)).resync_view AS
                SELECT * FROM \(plan.qualifiedName(plan.rootTable))
                """, purpose: "test")
        }
    }

    static func figures(_ outcome: Binaries.Outcome) throws -> [String: Any] {
        try ChangeStreamSyncTests.figures(outcome)
    }

    @Test(
        "after a lapse that rolled the oplog past the sync point: plain oplog-sync is 1 naming --resync; --resync writes exactly the differing documents in place (view and oids kept), and replay goes on from there",
        // nil: the digests' comparison; "0": its bound sends the convergence to the sorted merge.
        arguments: [nil, "0"] as [String?]
    )
    func lapse(digestLimit: String?) async throws {
        let environment = digestLimit.map { ["MONGO_PG_SYNC_DIGEST_LIMIT": $0] } ?? [:]
        try await Self.withSyncedScene { scene, mongo, uri in
            try await Self.createView(scene)
            let identities = try await Self.identities(scene)
            try await Self.lapse(scene, mongo, uri: uri, seed: 11)

            let stopped = try await scene.run("oplog-sync", [])
            #expect(stopped.status == 1, "\(stopped.stderr)")
            #expect(stopped.stderr.contains("oplog-sync --resync"), "\(stopped.stderr)")

            let differing = try await Self.differing(scene, uri: uri)
            #expect(differing > 0)
            let resync = try await scene.run("oplog-sync", ["--resync", "--json"], environment: environment)
            #expect(resync.status == 0, "\(resync.stderr)")
            #expect(resync.stderr.contains("merging sorted by _id") == (digestLimit != nil), "\(resync.stderr)")
            let figures = try Self.figures(resync)
            #expect(figures["documents_differing"] as? Int == differing, "\(resync.stdout)")
            #expect(figures["documents_written"] as? Int == differing, "\(resync.stdout)")
            #expect((figures["documents_compared"] as? Int ?? 0) > 0, "\(resync.stdout)")
            #expect((figures["sync_points"] as? [String: Any])?["rs0"] != nil, "\(resync.stdout)")
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
            #expect(try await Self.identities(scene) == identities, "the table and the view on it are the same")
            let ledger = try await PostgresServer.withSession { session in
                try await session.query(
                    """
                    SELECT figures->>'documents_written' FROM \(PostgresSQL.qualifiedName(schema: scene.stateSchema, "runs"))
                    ORDER BY id DESC LIMIT 1
                    """, purpose: "test"
                ).scalar
            }
            #expect(ledger == String(differing), "the ledger's run has the resync's figures")

            // A second resync finds nothing to write.
            let repeated = try await scene.run("oplog-sync", ["--resync", "--json"], environment: environment)
            #expect(repeated.status == 0, "\(repeated.stderr)")
            #expect(try Self.figures(repeated)["documents_written"] as? Int == 0)

            try await ChangeStreamSyncTests.runWorkload(
                uri: uri, seed: 12, count: 20, shaped: true, on: [scene.namespace])
            _ = try await OplogSyncFixture.sync(scene)
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
        }
    }

    @Test("a resync forgets the transactions kept open on the sources it moves: their end may lie in the history lost")
    func forgetsOpenTransactions() async throws {
        try await Self.withSyncedScene { scene, mongo, uri in
            try await Self.lapse(scene, mongo, uri: uri, seed: 23)
            let lost = OpenTransaction(
                session: .document(["id": .binary(BSONBinary(subtype: 4, data: Array(repeating: 5, count: 16)))]),
                number: 9, firstTS: BSONTimestamp(seconds: 1, increment: 1),
                lastTS: BSONTimestamp(seconds: 1, increment: 1),
                prepared: true,
                operations: [
                    ["op": .string("i"), "ns": .string("\(scene.namespace)"), "o": .document(["_id": .int32(99)])]
                ])
            try await PostgresServer.withSession { session in
                try await StateStore(session: session, schema: scene.stateSchema).keepOpenTransactions(["rs0": [lost]])
            }
            _ = try await OplogSyncFixture.sync(scene, ["--resync"])
            #expect(try await scene.stateRowCount("open_transactions") == "0")
            let after = try await OplogSyncFixture.sync(scene, ["--json"])
            #expect(after.stdout.contains(#""open_transactions":[]"#), "\(after.stdout)")
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
        }
    }

    @Test(
        "--resync finds every kind of difference the rows can hold (a root value, a nested child row, a child row gone, a document gone, an extra document) and writes exactly those"
    )
    func everyKindOfDifference() async throws {
        try await Self.withSyncedScene { scene, _, uri in
            let plan = try scene.plan()
            func table(_ suffix: String) throws -> String {
                try plan.qualifiedName(#require(plan.tables.first { $0.name.hasSuffix(suffix) }))
            }
            let root = plan.qualifiedName(plan.rootTable), key = Identifier.quoted(plan.tables[1].columns[0].name)
            let children = plan.tables.dropFirst().map { plan.qualifiedName($0) }
            try await PostgresServer.withSession { session in
                try await session.execute(
                    """
                    UPDATE \(root) SET name = 'tampered' WHERE _id = 3;
                    UPDATE \(try table("_items_notes")) SET notes = 'tampered' WHERE \(key) = 1;
                    DELETE FROM \(try table("_matrix_items")) WHERE \(key) = 4 AND idx = 0;
                    DELETE FROM \(root) WHERE _id = 2;
                    \(children.map { "DELETE FROM \($0) WHERE \(key) = 2;" }.joined(separator: "\n"))
                    INSERT INTO \(root) (_id, name) VALUES (77, 'extra');
                    INSERT INTO \(try table("_tags")) (\(key), idx, tags) VALUES (77, 0, 'extra');
                    """, purpose: "test")
            }
            #expect(try await Self.differing(scene, uri: uri) == 5)
            let figures = try Self.figures(try await OplogSyncFixture.sync(scene, ["--resync", "--json"]))
            #expect(figures["documents_differing"] as? Int == 5, "\(figures)")
            #expect(figures["documents_written"] as? Int == 5, "\(figures)")
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
            let again = try Self.figures(try await OplogSyncFixture.sync(scene, ["--resync", "--json"]))
            #expect(again["documents_differing"] as? Int == 0, "\(again)")
        }
    }

    @Test("writes running during the resync converge by the next plain oplog-sync")
    func writesDuringResync() async throws {
        try await Self.withSyncedScene { scene, mongo, uri in
            try await Self.lapse(scene, mongo, uri: uri, seed: 21)
            async let writes: Void = ChangeStreamSyncTests.runWorkload(
                uri: uri, seed: 22, count: 300, shaped: true, on: [scene.namespace])
            try await Task.sleep(for: .milliseconds(100))
            _ = try await OplogSyncFixture.sync(scene, ["--resync"])
            try await writes
            _ = try await OplogSyncFixture.sync(scene)
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
        }
    }

    @Test("a resync killed after a committed round and at random moments leaves nothing a rerun does not finish")
    func killedAnywhere() async throws {
        let many = (1...3000).map { id -> BSONDocument in
            ["_id": .int32(Int32(id)), "name": .string("n\(id)"), "tags": .array([.string("a"), .string("b")])]
        }
        try await Self.withSyncedScene(documents: many) { scene, mongo, uri in
            let writer = Writer(session: mongo, namespace: scene.namespace)
            try await writer.update(
                ["_id": .document(["$mod": .array([.int32(3), .int32(0)])])],
                .document(["$set": .document(["name": .string("changed")]), "$push": .document(["tags": .string("c")])]
                ),
                multi: true)
            try await Self.lapse(scene, mongo, uri: uri, seed: 31)
            // One kill surely mid-run (a round committed, the rest not), then five at random moments.
            let held = try OplogFollowTests.BackgroundRun(
                scene, ["--resync"], environment: ["MONGO_PG_SYNC_HOLD_AT": "converge-round"])
            #expect(try await held.waitForStderr("holding at converge-round"), "\(held.stderr)")
            kill(held.pid, SIGKILL)
            _ = try await held.exitStatus()
            var random = SeededRandom(seed: UInt64(Date().timeIntervalSince1970))
            for _ in 0..<5 {
                let run = try OplogFollowTests.BackgroundRun(scene, ["--resync"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...2500, using: &random)))
                kill(run.pid, SIGKILL)
                _ = try await run.exitStatus()
            }
            _ = try await OplogSyncFixture.sync(scene, ["--resync"])
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
            _ = try await OplogSyncFixture.sync(scene)
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
        }
    }

    @Test("[sync] on_history_lost = resync: a plain oplog-sync resyncs by itself (a warning, said in the summary)")
    func resyncByItself() async throws {
        try await Self.withSyncedScene { scene, mongo, uri in
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "[sync]\n", with: "[sync]\non_history_lost = resync\n")
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            try await Self.lapse(scene, mongo, uri: uri, seed: 41)
            let run = try await OplogSyncFixture.sync(scene, ["--json"])
            #expect(run.stderr.contains("history is lost: resyncing"), "\(run.stderr)")
            let resync = try Self.figures(run)["resync"] as? [String: Any]
            #expect((resync?["documents_written"] as? Int ?? 0) > 0, "\(run.stdout)")
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
            let plain = try await OplogSyncFixture.sync(scene)
            #expect(!plain.stdout.contains("history lost"), "\(plain.stdout)")
        }
    }

    @Test(
        "--collection: with the history lost every collection synced from the source must be named (1); with it intact only the named one converges"
    )
    func namedCollections() async throws {
        try await Self.withSyncedScene { scene, mongo, uri in
            let other = Namespace(database: scene.namespace.database, collection: "orders")
            try await Self.addCollection(other, to: scene, mongo: mongo)
            let otherTable = try Self.plan(of: other, scene).qualifiedName(try Self.plan(of: other, scene).rootTable)
            let ownTable = try scene.plan().qualifiedName(try scene.plan().rootTable)

            // History intact: damage both collections' tables; only the named one is put right.
            try await PostgresServer.withSession { session in
                for table in [ownTable, otherTable] {
                    try await session.execute("UPDATE \(table) SET name = 'damaged'", purpose: "test")
                }
            }
            let named = try await OplogSyncFixture.sync(scene, ["--resync", "--collection", "\(scene.namespace)"])
            #expect(named.stdout.contains("resync: 1 collections"), "\(named.stdout)")
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
            let damaged = try await PostgresServer.withSession { session in
                try await session.query("SELECT count(*) FROM \(otherTable) WHERE name = 'damaged'", purpose: "test")
                    .scalar
            }
            #expect(damaged == "2", "the other collection's tables were left alone")

            try await Self.lapse(scene, mongo, uri: uri, seed: 51)
            let refused = try await scene.run("oplog-sync", ["--resync", "--collection", "\(scene.namespace)"])
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("every collection synced from it must be resynced"), "\(refused.stderr)")
            #expect(refused.stderr.contains("--collection \(other)"), "\(refused.stderr)")
            _ = try await OplogSyncFixture.sync(
                scene, ["--resync", "--collection", "\(scene.namespace)", "--collection", "\(other)"])
            try await ChangeStreamSyncTests.expectInSync(scene, uri: uri)
            _ = try await OplogSyncFixture.sync(scene)
        }
    }

    static func plan(of namespace: Namespace, _ scene: InitLoadFixture) throws -> TablePlan {
        try SchemaFile(
            namespace: namespace, schemasDirectory: scene.directory.appendingPathComponent("schemas").path,
            settings: FlattenSettings(targetSchema: scene.targetSchema)
        ).plan
    }

    /// A second collection (the same schema, two documents) in the scene's configuration, loaded by a new init load
    /// of both collections, then synced.
    static func addCollection(_ other: Namespace, to scene: InitLoadFixture, mongo: MongoSession) async throws {
        try await mongo.insert(Array(OplogSyncFixture.documents.prefix(2)), into: other)
        try OplogSyncFixture.schema.write(
            to: scene.directory.appendingPathComponent("schemas/\(other).json"), atomically: true, encoding: .utf8)
        let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
        try (config + "\n\(other)\n").write(toFile: scene.configPath, atomically: true, encoding: .utf8)
        #expect(try await scene.etlstatus("init-load-start").status == 0)
        for namespace in [scene.namespace, other] {
            let arguments = ["--collection", "\(namespace)", "--csv-dir", scene.csvDirectory]
            let read = try await scene.run("mongo-reader", arguments)
            #expect(read.status == 0, "\(read.stderr)")
            let copy = try await scene.run("psql-copy", arguments)
            #expect(copy.status == 0, "\(copy.stderr)")
        }
        #expect(try await scene.etlstatus("init-load-finish", "ok").status == 0)
        _ = try await OplogSyncFixture.sync(scene)
    }
}
