import Foundation
import MongoPG
import TestSupport
import Testing

/// oplog-sync's pipelined batches (`--from-file`, `--no-verify`): the next batch is read and computed while one
/// commits, from the images of the documents the committing batch touches. Small batches, so that consecutive batches
/// touch the same documents, and faults while a batch is written and the next one computed.
@Suite("oplog-sync: pipelined batches", .tags(.integration))
struct OplogPipelineTests {
    typealias Writer = OplogSyncFixture.Writer

    static func json(_ text: String) -> BSONDocument { OplogSyncFixture.json(text) }

    /// Entries over `OplogSyncFixture.documents` where every pair of consecutive 2-entry batches shares documents:
    /// document 1 gets a name and a tag appended (an array diff past the end), document 2 a nested array element and
    /// the json column, document 10 is inserted, updated and deleted again across boundaries, document 4 replaced,
    /// then updated in the next batch; and the documents they must leave.
    static func entries(_ ns: String) -> (entries: [BSONDocument], documents: [BSONDocument]) {
        var entries: [BSONDocument] = []
        var documents = OplogSyncFixture.documents
        var tags: [BSONValue] = [.string("a"), .string("b")]
        var ten: BSONDocument?
        for k in 1...24 {
            switch k % 3 {
            case 1:
                entries.append(
                    OplogSyncFixture.entry(
                        k,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"u": {"name": "one \#(k)"}, "stags": {"a": true, "u\#(tags.count)": "t\#(k)"}}}, "o2": {"_id": 1}}"#
                    ))
                tags.append(.string("t\(k)"))
                documents[0]["name"] = .string("one \(k)")
                documents[0]["tags"] = .array(tags)
            case 2:
                entries.append(
                    OplogSyncFixture.entry(
                        k,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"u": {"meta": {"k": \#(k)}}, "sitems": {"a": true, "s0": {"u": {"qty": \#(k)}}}}}, "o2": {"_id": 2}}"#
                    ))
                documents[1]["meta"] = .document(["k": .int32(Int32(k))])
                documents[1]["items"] = .array([
                    .document(["sku": .string("y"), "qty": .int32(Int32(k))]),
                    .document(["sku": .string("z"), "qty": .int32(3)]),
                ])
            default:
                switch (k / 3) % 3 {
                case 1:
                    entries.append(
                        OplogSyncFixture.entry(
                            k, #"{"op": "i", "ns": "\#(ns)", "o": {"_id": 10, "name": "ten \#(k)", "tags": ["x"]}}"#))
                    ten = json(#"{"_id": 10, "name": "ten \#(k)", "tags": ["x"]}"#)
                case 2:
                    entries.append(
                        OplogSyncFixture.entry(
                            k,
                            #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$set": {"tags.1": "y\#(k)", "score": 1.5}}, "o2": {"_id": 10}}"#
                        ))
                    ten?["tags"] = .array([.string("x"), .string("y\(k)")])
                    ten?["score"] = .double(1.5)
                default:
                    entries.append(OplogSyncFixture.entry(k, #"{"op": "d", "ns": "\#(ns)", "o": {"_id": 10}}"#))
                    ten = nil
                }
            }
        }
        entries.append(
            OplogSyncFixture.entry(
                25,
                #"{"op": "u", "ns": "\#(ns)", "o": {"_id": 4, "name": "four", "matrix": [[7, 8]]}, "o2": {"_id": 4}}"#))
        entries.append(
            OplogSyncFixture.entry(
                26, #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$set": {"matrix.0.2": 9}}, "o2": {"_id": 4}}"#))
        documents[3] = json(#"{"_id": 4, "name": "four", "matrix": [[7, 8, 9]]}"#)
        return (entries, documents + (ten.map { [$0] } ?? []))
    }

    @Test(
        "batches of 2 entries touching the same documents, inserts and deletes across boundaries, leave what an init load of the result gives"
    )
    func consecutiveBatches() async throws {
        try await OplogSyncFixture.withLoadedDump(batchSize: 2) { scene in
            let (entries, documents) = Self.entries(scene.namespace.description)
            #expect(documents.count == 5, "document 10 is inserted again at the end")
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            try OplogSyncFixture.writeEntries(entries, to: oplog)
            let outcome = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path, "--json"])
            #expect(outcome.stdout.contains("\"batches\":13,"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("\"documents_to_verify\":0"), "\(outcome.stdout)")
            try await OplogSyncFixture.expectTables(scene, hold: documents)
            // The same replay as one batch, on freshly loaded tables: the pipelined run must match it table for table.
            let plan = try scene.plan()
            func tables() async throws -> [[[String?]]] {
                try await PostgresServer.withSession { session in
                    var contents: [[[String?]]] = []
                    for table in plan.tables {
                        contents.append(
                            try await session.query(
                                "SELECT t::text FROM \(plan.qualifiedName(table)) AS t ORDER BY 1", purpose: "test"
                            ).rows)
                    }
                    return contents
                }
            }
            let pipelined = try await tables()
            #expect(try await scene.copy().status == 0)
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "batch_size = 2", with: "batch_size = 1000")
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            _ = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path])
            #expect(try await tables() == pipelined)
        }
    }

    @Test(
        "one-entry batches over the same document rewrite only the child rows that changed, and leave what an init load of the result gives"
    )
    func rowByRow() async throws {
        try await OplogSyncFixture.withLoadedDump(batchSize: 1) { scene in
            let ns = scene.namespace.description
            let plan = try scene.plan()
            /// Each child row's ctid, by the path of its table and its key.
            func ctids() async throws -> [String: String] {
                var ctids: [String: String] = [:]
                for (name, rows) in try await OplogSyncFixture.rowLocations(scene) {
                    guard let table = plan.tables.first(where: { $0.name == name }), table.parent != nil else {
                        continue
                    }
                    for (key, ctid) in rows { ctids["\(table.jsonPath) \(key)"] = ctid }
                }
                return ctids
            }
            let before = try await ctids()
            var document = OplogSyncFixture.documents[0]
            let entries = [
                // One element's field (its child row rewritten, its nested notes row left), one tag, a tag pushed.
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"sitems": {"a": true, "s0": {"u": {"qty": 5}}}}}, "o2": {"_id": 1}}"#,
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$set": {"tags.1": "B"}}, "o2": {"_id": 1}}"#,
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"stags": {"a": true, "u2": "c"}}}, "o2": {"_id": 1}}"#,
                // A nested array's element, then the outer array set past its end (padded with null).
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$set": {"matrix.0.1": 20}}, "o2": {"_id": 1}}"#,
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$set": {"matrix.3": [7]}}, "o2": {"_id": 1}}"#,
                // The tags truncated to one, an untouched document in between, then the items unset whole.
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"stags": {"a": true, "l": 1}}}, "o2": {"_id": 1}}"#,
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$set": {"name": "TWO"}}, "o2": {"_id": 2}}"#,
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$unset": {"items": true}}, "o2": {"_id": 1}}"#,
            ].enumerated().map { OplogSyncFixture.entry($0.offset + 1, $0.element) }
            document["tags"] = .array([.string("a")])
            document["matrix"] = .array([
                .array([.int32(1), .int32(20)]), .array([.int32(3)]), .null, .array([.int32(7)]),
            ])
            document["items"] = nil
            var documents = OplogSyncFixture.documents
            documents[0] = document
            documents[1]["name"] = .string("TWO")
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            try OplogSyncFixture.writeEntries(entries, to: oplog)
            let outcome = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path, "--json"])
            #expect(outcome.stdout.contains("\"batches\":8,"), "\(outcome.stdout)")
            // Read back: document 1 once, document 2; the other updates of 1 from what the run wrote.
            #expect(outcome.stdout.contains("\"documents_read_back\":2,"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("\"documents_from_cache\":6,"), "\(outcome.stdout)")
            try await OplogSyncFixture.expectTables(scene, hold: documents)
            let after = try await ctids()
            // Rows whose values never changed keep their place; changed ones moved.
            for kept in ["$.tags 1,0", "$.matrix[*] 1,0,0", "$.matrix[*] 1,1,0", "$.items 2,0", "$.items 2,1"] {
                #expect(before[kept] != nil && before[kept] == after[kept], "\(kept): \(before) \(after)")
            }
            #expect(
                after["$.matrix[*] 1,0,1"] != nil && before["$.matrix[*] 1,0,1"] != after["$.matrix[*] 1,0,1"],
                "changed: rewritten")
            #expect(after["$.tags 1,1"] == nil && after["$.items[*].notes 1,0,0"] == nil)
            #expect(after["$.matrix[*] 1,3,0"] != nil)

            // No document cache: the update after document 2's batch reads document 1 back (the batch committing
            // before each still stands in for its documents), with the same tables.
            #expect(try await scene.copy().status == 0)
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "[sync]\n", with: "[sync]\ndocument_cache_mb = 0\n")
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            let uncached = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path, "--json"])
            #expect(uncached.stdout.contains("\"documents_read_back\":3,"), "\(uncached.stdout)")
            #expect(uncached.stdout.contains("\"documents_from_cache\":5,"), "\(uncached.stdout)")
            try await OplogSyncFixture.expectTables(scene, hold: documents)
        }
    }

    /// Inserts, then updates of the same two documents, so that consecutive batches of 2 touch the same documents.
    static func writes(_ writer: Writer) async throws {
        for id: Int32 in 40..<44 { try await writer.insert([["_id": .int32(id), "name": .string("n\(id)")]]) }
        for round in 0..<4 {
            try await writer.set(40, ["name": .string("forty \(round)"), "tags": .array([.string("r\(round)")])])
            try await writer.set(41, ["score": .double(Double(round))])
        }
        try await writer.delete(["_id": .int32(42)])
    }

    /// A `--no-verify` run over `writes` in 2-entry batches, held after its first batch's rows are written while the
    /// next batch is read and computed; `act` ends it, then nothing of either batch may be in the tables or the sync
    /// points, and a rerun catches up.
    static func heldWhileNextComputed(
        _ act: (InitLoadFixture, OplogFollowTests.BackgroundRun, _ resume: URL) async throws -> Void
    ) async throws {
        try await InitLoadFixture.withPrivateServer(
            batchSize: 2, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene, mongo, _ in
            try await scene.initLoad()
            try await Self.writes(Writer(session: mongo, namespace: scene.namespace))
            let resume = scene.directory.appendingPathComponent("resume")
            let run = try OplogFollowTests.BackgroundRun(
                scene, ["--no-verify"],
                environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-written", "MONGO_PG_SYNC_RESUME_FILE": resume.path])
            #expect(try await run.waitForStderr("holding at batch-written"), "\(run.stderr)")
            try await Task.sleep(for: .seconds(1))  // the next batch is read and computed meanwhile
            try await act(scene, run, resume)
            #expect(try await scene.stateRowCount("sync_points") == "0", "no sync point moved")
            try await OplogSyncFixture.expectTables(scene, hold: scene.documents)

            _ = try await OplogSyncFixture.sync(scene, ["--no-verify"])
            try await OplogSyncFixture.expectTables(scene, hold: try await mongo.findAll(scene.namespace))
        }
    }

    @Test(
        "--no-verify killed (SIGKILL) while a batch is written and the next computed: nothing of either commits, the rerun catches up"
    )
    func killedWhileNextComputed() async throws {
        try await Self.heldWhileNextComputed { _, run, _ in
            kill(run.pid, SIGKILL)
            _ = try await run.exitStatus()
        }
    }

    @Test(
        "--no-verify whose PostgreSQL connections are killed while a batch is written and the next computed exits 69, writes nothing after; the rerun catches up"
    )
    func writeFailsWhileNextComputed() async throws {
        try await Self.heldWhileNextComputed { _, run, resume in
            try await run.losesPostgres(resuming: resume)
        }
    }

    @Test(
        "SecantusDB's updates of inner arrays, of an emptied inner array read back from its rows, and arrayFilters beside a replacement, in batches of 1 and 2 with no cache, leave the documents MongoDB holds",
        arguments: [1, 2])
    func innerArraysBesideReplacements(batchSize: Int) async throws {
        try await OplogSyncFixture.withLoadedDump(batchSize: batchSize) { scene in
            let ns = scene.namespace.description
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "[sync]\n", with: "[sync]\ndocument_cache_mb = 0\n")
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            func update(_ id: Int, _ object: String) -> String {
                #"{"op": "u", "ns": "\#(ns)", "o": \#(object), "o2": {"_id": \#(id)}}"#
            }
            let entries = [
                // Inner arrays emptied: their rows are none, read back two batches later.
                update(4, #"{"$v": 2, "diff": {"updatedFields": {"matrix": [[]]}}}"#),
                update(3, #"{"_id": 3, "name": "three", "matrix": [[], [1]]}"#),
                // `$set {"tags.$[t]": "z"}` with t matching both tags, beside a replacement of another document.
                update(1, #"{"$v": 2, "diff": {"updatedFields": {"tags.0": "z", "tags.1": "z"}}}"#),
                update(2, #"{"_id": 2, "name": "two", "tags": ["r"], "matrix": [[5, 6]]}"#),
                update(1, #"{"$v": 2, "diff": {"updatedFields": {"matrix.0.1": 244}}}"#),
                update(2, #"{"$v": 2, "diff": {"updatedFields": {"matrix.0.0": 1}, "removedFields": []}}"#),
                // The emptied inner arrays set past their ends.
                update(4, #"{"$v": 2, "diff": {"updatedFields": {"matrix.0.1": 9}}}"#),
                update(3, #"{"$v": 2, "diff": {"updatedFields": {"matrix.0.2": 8}}}"#),
            ].enumerated().map { OplogSyncFixture.entry($0.offset + 1, $0.element) }
            var documents = OplogSyncFixture.documents
            documents[0]["tags"] = .array([.string("z"), .string("z")])
            documents[0]["matrix"] = .array([.array([.int32(1), .int32(244)]), .array([.int32(3)])])
            documents[1] = Self.json(#"{"_id": 2, "name": "two", "tags": ["r"], "matrix": [[1, 6]]}"#)
            documents[3]["matrix"] = .array([.array([.null, .int32(9)])])
            documents[2] = Self.json(
                #"{"_id": 3, "name": "three", "matrix": [[null, null, 8], [1]]}"#)
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            try OplogSyncFixture.writeEntries(entries, to: oplog)
            let outcome = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path, "--json"])
            #expect(outcome.stdout.contains("\"documents_to_verify\":0"), "\(outcome.stdout)")
            try await OplogSyncFixture.expectTables(scene, hold: documents)
        }
    }
}
