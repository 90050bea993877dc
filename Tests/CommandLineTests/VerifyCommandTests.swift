import Foundation
import MongoPG
import TestSupport
import Testing

/// `etlstatus verify` through the real binary, against real servers: divergence planted on either side is found by
/// a sample and by the full merge, repaired, recorded, and reported by `check` and `metrics`.
@Suite("etlstatus verify: sample, full merge, repair, records", .tags(.integration))
struct VerifyCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    /// The only collection's record and its findings as `[hex _id: (kind, path)]`.
    static func verified(_ outcome: Binaries.Outcome) throws -> (
        record: [String: Any], findings: [String: (kind: String, path: String)]
    ) {
        let collections = try #require(try json(outcome.stdout)["collections"] as? [[String: Any]])
        let collection = try #require(collections.first)
        var findings: [String: (String, String)] = [:]
        for finding in try #require(collection["findings"] as? [[String: Any]]) {
            let id = try #require(finding["id"] as? String)
            let hex = id.filter(\.isHexDigit).suffix(24)
            findings[String(hex)] = (finding["kind"] as? String ?? "", finding["path"] as? String ?? "")
        }
        return (try #require(collection["record"] as? [String: Any]), findings)
    }

    static func hex(_ document: BSONDocument) throws -> String {
        guard case .objectID(let id)? = document["_id"] else { throw GeneralError(.internalError, "no ObjectId") }
        return id.hex
    }

    @Test(
        "verify finds a row changed behind the tool's back, a document changed in MongoDB, one missing and one extra; --repair fixes all"
    )
    func findsAndRepairs() async throws {
        try await InitLoadFixture.with(documentCount: 60) { scene in
            try await scene.initLoad()
            let plan = try scene.plan()
            let root = try plan.qualifiedName(plan.tables[0])
            let accounts = try plan.qualifiedName(#require(plan.tables.first { $0.name.hasSuffix("_accounts") }))
            let parentKey = "\"\(plan.tables[0].name)_id\""
            let ids = try scene.documents.prefix(5).map(Self.hex)
            let ghost = "ffffffffffffffffffffffff"

            var clean = try await scene.etlstatus("verify", "--all", "--json")
            #expect(clean.status == 0, "\(clean.stdout) \(clean.stderr)")
            #expect(try Self.verified(clean).record["documents_checked"] as? Int == 60)

            try await PostgresServer.withSession { session in
                try await session.execute(
                    "UPDATE \(root) SET name = 'tampered' WHERE _id = '\(ids[0])'", purpose: "test")
                try await session.execute(
                    "DELETE FROM \(accounts) WHERE \(parentKey) = '\(ids[3])' AND idx = 0", purpose: "test")
                try await session.execute("DELETE FROM \(accounts) WHERE \(parentKey) = '\(ids[2])'", purpose: "test")
                try await session.execute("DELETE FROM \(root) WHERE _id = '\(ids[2])'", purpose: "test")
                try await session.execute(
                    "INSERT INTO \(root) (_id, name) VALUES ('\(ghost)', 'ghost')", purpose: "test")
            }
            let writer = OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            try await writer.update(
                ["_id": scene.documents[1]["_id"]!], .document(["$set": .document(["name": .string("changed")])]))

            for mode in [["--all"], ["--sample", "1000"]] {
                let found = try await scene.run("etlstatus", ["verify", "--json"] + mode)
                #expect(found.status == 3, "\(mode): \(found.stdout) \(found.stderr)")
                let (record, findings) = try Self.verified(found)
                #expect(findings[ids[0]]?.kind == "different" && findings[ids[0]]?.path == "name", "\(findings)")
                #expect(findings[ids[1]]?.kind == "pending", "\(findings)")
                #expect(findings[ids[2]]?.kind == "missing", "\(findings)")
                #expect(findings[ids[3]]?.kind == "different", "\(findings)")
                #expect(findings[ids[3]]?.path.hasPrefix("accounts") == true, "\(findings)")
                #expect(findings[ghost]?.kind == "extra", "\(findings)")
                #expect(findings.count == 5, "\(findings)")
                #expect(record["documents_checked"] as? Int == 61, "\(mode) \(record)")
                #expect(record["divergent"] as? Int == 4 && record["pending"] as? Int == 1, "\(record)")
            }
            let human = try await scene.etlstatus("verify", "--all")
            #expect(human.status == 3)
            #expect(human.stdout.contains("missing") && human.stdout.contains(ids[2]), "\(human.stdout)")
            #expect(human.stdout.contains("4 divergent"), "\(human.stdout)")

            let critical = try await scene.etlstatus("check")
            #expect(critical.status == 2, "\(critical.stdout)")
            #expect(critical.stdout.contains("4 documents differ from MongoDB"), "\(critical.stdout)")

            let repair = try await scene.etlstatus("verify", "--all", "--repair", "--json")
            #expect(repair.status == 0, "\(repair.stdout) \(repair.stderr)")
            #expect(try Self.verified(repair).record["repaired"] as? Int == 5, "\(repair.stdout)")
            #expect(repair.stderr.contains("repaired a document"), "\(repair.stderr)")

            clean = try await scene.etlstatus("verify", "--all", "--json")
            #expect(clean.status == 0, "\(clean.stdout) \(clean.stderr)")
            #expect(try Self.verified(clean).findings.isEmpty, "\(clean.stdout)")
            #expect(try Self.verified(clean).record["documents_checked"] as? Int == 60)
            // Lag and window thresholds out of the way: other tests write to this server's oplog too.
            let ok = try await scene.etlstatus(
                "check", "--warn-lag", "1d", "--crit-lag", "2d", "--warn-window", "1s", "--crit-window", "1s")
            #expect(ok.status == 0, "\(ok.stdout)")
            #expect(ok.stdout.contains("\(scene.namespace) verified"), "\(ok.stdout)")
            #expect(ok.stdout.contains("\(scene.namespace)_divergent_documents=0"), "\(ok.stdout)")

            let metrics = try await scene.etlstatus("metrics")
            let families = try PrometheusParser.parse(metrics.stdout)
            let label = "collection=\(scene.namespace)"
            #expect(families["mongo_pg_sync_verification_divergent_documents"]?[label] == 0, "\(metrics.stdout)")
            #expect(families["mongo_pg_sync_verification_checked_documents"]?[label] == 60)
            #expect(families["mongo_pg_sync_verification_age_seconds"]?[label] != nil)
            #expect(families["mongo_pg_sync_last_run_figure"]?["figure=documents_verified,tool=etlstatus verify"] == 60)
            let runs = try await scene.etlstatus("runs", "--tool", "etlstatus verify", "--json")
            let ledger = try #require(try Self.json(runs.stdout)["runs"] as? [[String: Any]])
            #expect(ledger.count == 6, "\(runs.stdout)")
            #expect(ledger.first?["status"] as? String == "ok")
            let repairRun = ledger[1]
            #expect((repairRun["figures"] as? [String: Any])?["documents_repaired"] as? Int == 5, "\(repairRun)")
            #expect(ledger[2]["exit_code"] as? Int == 3, "\(ledger[2])")
        }
    }

    @Test("verify refuses clearly: an unknown collection 64, no init load 1, MongoDB down 69, the sync lock held 75")
    func refusals() async throws {
        try await InitLoadFixture.with(documentCount: 5) { scene in
            let beforeLoad = try await scene.etlstatus("verify")
            #expect(beforeLoad.status == 1, "\(beforeLoad.stderr)")
            #expect(beforeLoad.stderr.contains("init load needed"), "\(beforeLoad.stderr)")
            try await scene.initLoad()

            let unknown = try await scene.etlstatus("verify", "--collection", "nope.nothing")
            #expect(unknown.status == 64, "\(unknown.stderr)")
            #expect(unknown.stderr.contains("nope.nothing is not a configured collection"), "\(unknown.stderr)")
            let both = try await scene.etlstatus("verify", "--all", "--sample", "5")
            #expect(both.status == 64, "\(both.stderr)")

            let stateSchema = scene.stateSchema
            try await PostgresServer.withSession { session in
                try await StateStore(session: session, schema: stateSchema).takeSyncLock(for: "the test")
                let locked = try await scene.etlstatus("verify", "--repair")
                #expect(locked.status == 75, "\(locked.stderr)")
                let reading = try await scene.etlstatus("verify")
                #expect(reading.status == 0, "verify without --repair needs no lock: \(reading.stderr)")
            }
        }
        try await InitLoadFixture.with(documentCount: 5) { scene in
            try await scene.initLoad()
            let text = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            let dead = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500&connectTimeoutMS=500"
            let live = try ServerEnvironment.shared.mongoURI()
            try text.replacingOccurrences(of: "uri = \(live)", with: "uri = \(dead)").write(
                toFile: scene.configPath, atomically: true, encoding: .utf8)
            let down = try await scene.etlstatus("verify")
            #expect(down.status == 69, "\(down.stderr)")
        }
    }

    @Test("verify --all merges 200k documents in _id order with flat memory (peak RSS under 256 MB)")
    func allStaysFlat() async throws {
        let count = 200_000
        let schema = #"{"_id": "long", "name": "string", "tags": ["string"]}"#
        func chunk(_ start: Int) -> [BSONDocument] {
            (start..<start + 10_000).map { index in
                ["_id": .int64(Int64(index)), "name": .string("n\(index)"), "tags": .array([.string("t")])]
            }
        }
        // A server of its own, so that 200k oplog entries slow no other test's oplog queries. Chunks shuffled:
        // MongoDB's natural order is not its _id order.
        try await PrivateMongoServer.with { uri in
            try await InitLoadFixture.with(mongoURI: uri, schema: schema, documents: []) { scene in
                let mongo = try MongoSession(uri: uri)
                for start in stride(from: 0, to: count, by: 10_000).shuffled() {
                    try await mongo.insert(chunk(start), into: scene.namespace)
                }
                try await scene.initLoad()
                try await PostgresServer.withSession { session in
                    let root = try scene.plan().qualifiedName(scene.plan().tables[0])
                    try await session.execute("UPDATE \(root) SET name = 'x' WHERE _id = 123456", purpose: "test")
                }
                let outcome = try await Binaries.run(
                    "etlstatus", ["--config", scene.configPath, "verify", "--all", "--json"],
                    environment: scene.environment, measurePeakMemory: true)
                #expect(outcome.status == 3, "\(outcome.stderr)")
                let (record, findings) = try Self.verified(outcome)
                #expect(record["documents_checked"] as? Int == count)
                #expect(findings.count == 1 && record["different"] as? Int == 1, "\(outcome.stdout)")
                let peak = try #require(outcome.peakMemoryKiB)
                #expect(peak < 256 * 1024, "peak RSS \(peak) KiB")
                print("verify --all of \(count) documents: \(outcome.seconds) s, peak RSS \(peak / 1024) MiB")
            }
        }
    }
}
