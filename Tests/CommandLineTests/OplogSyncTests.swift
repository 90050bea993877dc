import Foundation
import MongoPG
import TestSupport
import Testing

/// oplog-sync through the real binary: the live catch-up from SecantusDB after an init load, and `--from-file`
/// replays of the oplog forms SecantusDB never writes.
@Suite("oplog-sync: replay into the tables", .tags(.integration))
struct OplogSyncTests {
    @Test("after an init load, bursts of every kind of write are caught up exactly, run after run")
    func liveBursts() async throws {
        try await InitLoadFixture.with(schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents) {
            scene in
            try await scene.initLoad()
            let writer = OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)

            // Inserts, nested and array updates, type changes, unknown fields, deletes.
            try await writer.insert([
                OplogSyncFixture.json(
                    #"{"_id": 5, "name": "five", "tags": ["t"], "items": [{"sku": "q", "qty": 9, "notes": ["a", "b"]}]}"#
                )
            ])
            try await writer.insert([
                OplogSyncFixture.json(#"{"_id": 6, "name": "six"}"#),
                OplogSyncFixture.json(#"{"_id": 7, "name": "seven", "matrix": [[7, 7]]}"#),
            ])
            try await writer.set(
                1, ["address.city": .string("Bergen"), "items.0.qty": .int32(5), "items.0.notes.1": .string("n2")])
            try await writer.set(2, ["items.3.sku": .string("past the end"), "tags.2": .string("padded")])
            try await writer.update(
                ["_id": .int32(3)],
                .document(["$unset": .document(["address": .string("")]), "$inc": .document(["score": .double(2)])]))
            try await writer.update(["_id": .int32(4)], .document(["$push": .document(["matrix.0": .int32(5)])]))
            try await writer.update(
                ["_id": .int32(1)],
                .document([
                    "$pull": .document(["tags": .string("a")]), "$rename": .document(["name": .string("title")]),
                ]))
            try await writer.update(["_id": .int32(5)], .document(["$pop": .document(["items.0.notes": .int32(1)])]))
            try await writer.set(
                6, ["name": .int32(66), "meta": .document(["é": .string("x"), "e\u{301}": .string("y")])])
            try await writer.update(
                ["_id": .int32(7)],
                .document(["_id": .int32(7), "name": .string("replaced"), "tags": .array([.string("r")])]))
            try await writer.delete(["_id": .int32(2)])
            // The schema policy counts what it absorbs, as the init load does: the renamed field is unknown, the
            // name that became a number does not fit its column.
            let first = try await OplogSyncFixture.sync(scene, ["--json"])
            #expect(first.stdout.contains(#""unknown":{"$.title":"#), "\(first.stdout)")
            #expect(first.stdout.contains(#""mismatched":{"$.name":"#), "\(first.stdout)")
            try await OplogSyncFixture.expectInSync(scene)

            // A second burst: array operators, $[] , update_many, upsert, delete_many, and a no-op run after it.
            try await writer.update(["_id": .int32(1)], .document(["$set": .document(["items.$[].qty": .int32(0)])]))
            try await writer.update(
                ["name": .document(["$exists": .bool(true)])], .document(["$set": .document(["score": .double(9.5)])]),
                multi: true)
            try await writer.update(["_id": .int32(8)], .document(["$set": .document(["name": .string("upserted")])]))
            try await writer.command([
                "update": .string(scene.namespace.collection),
                "updates": .array([
                    .document([
                        "q": .document(["_id": .int32(9)]),
                        "u": .document(["$set": .document(["name": .string("nine")])]), "upsert": .bool(true),
                    ])
                ]),
            ])
            try await writer.update(
                ["_id": .int32(5)],
                .document([
                    "$push": .document([
                        "items": .document([
                            "$each": .array([.document(["sku": .string("s")])]), "$position": .int32(0),
                        ])
                    ])
                ]))
            try await writer.update(["_id": .int32(4)], .document(["$set": .document(["matrix": .array([])])]))
            try await writer.delete(["name": .string("six")], limit: 0)
            let second = try await OplogSyncFixture.sync(scene, ["--json"])
            #expect(second.stdout.contains("\"documents_written\""))
            try await OplogSyncFixture.expectInSync(scene)
            // Nothing new here (other tests write elsewhere on the server): only the entry at the sync point is read
            // (and applied, harmlessly) again.
            let quiet = try await OplogSyncFixture.sync(scene, ["--json"])
            let figures = try JSONSerialization.jsonObject(with: Data(quiet.stdout.utf8)) as? [String: Any]
            #expect((figures?["inserts"] as? Int) == 0 && (figures?["deletes"] as? Int) == 0, "\(quiet.stdout)")
            #expect((figures?["updates"] as? Int ?? 99) <= 1, "\(quiet.stdout)")
            try await OplogSyncFixture.expectInSync(scene)

            // Replaying again from the init load's position (older than needed) changes nothing.
            try await PostgresServer.withSession { session in
                try await session.execute(
                    "DELETE FROM \(PostgresSQL.quoteIdentifier(scene.stateSchema)).sync_points", purpose: "test")
            }
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectInSync(scene)
        }
    }

    @Test("a transaction, whose entries share one ts on SecantusDB, commits whole in one batch even with batch_size 1")
    func liveTransaction() async throws {
        try await InitLoadFixture.with(
            batchSize: 1, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try await scene.initLoad()
            try await OplogSyncFixture.pymongo(
                """
                client = pymongo.MongoClient(uri)
                collection = client[db][coll]
                with client.start_session() as session:
                    with session.start_transaction():
                        collection.insert_one({"_id": 30, "name": "in a transaction", "tags": ["t"]}, session=session)
                        collection.update_one({"_id": 1}, {"$set": {"address.zip": "9999"}, "$push": {"tags": "c"}}, session=session)
                        collection.delete_one({"_id": 2}, session=session)
                collection.update_one({"_id": 3}, {"$set": {"name": "after"}})
                """, scene)
            let outcome = try await OplogSyncFixture.sync(scene, ["--json"])
            try await OplogSyncFixture.expectInSync(scene)
            // The ledger's batch steps: the transaction's three entries in one, never cut by batch_size 1.
            let steps = try await PostgresServer.withSession { session in
                try await session.query(
                    """
                    SELECT (step->>'entries')::int FROM \(PostgresSQL.quoteIdentifier(scene.stateSchema)).runs,
                    jsonb_array_elements(steps) AS step WHERE tool = 'oplog-sync' ORDER BY id
                    """, purpose: "test"
                ).column("int4")?.compactMap { $0.flatMap { Int($0) } } ?? []
            }
            #expect(steps.contains(3), "\(steps) \(outcome.stdout)")
        }
    }

    static let lsid = #""lsid": {"id": {"$binary": {"base64": "EjRWeBI0VniQEjRWeBI0Vg==", "subType": "04"}}}"#

    /// Oplog entries of the forms mongod writes and SecantusDB never does, for `ns`.
    static func mongodEntries(_ ns: String) -> [BSONDocument] {
        let db = ns.split(separator: ".")[0]
        return [
            OplogSyncFixture.entry(
                1,
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$set": {"address.city": "Paris", "items.0.notes.2": "n3"}, "$unset": {"score": true}}, "o2": {"_id": 1}}"#
            ),
            OplogSyncFixture.entry(
                2,
                #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"i": {"tags": ["x"]}, "sitems": {"a": true, "l": 1, "s0": {"u": {"qty": 7}}}}}, "o2": {"_id": 2}}"#
            ),
            OplogSyncFixture.entry(
                3,
                #"{"op": "c", "ns": "admin.$cmd", \#(lsid), "txnNumber": {"$numberLong": "1"}, "o": {"applyOps": [{"op": "i", "ns": "\#(ns)", "o": {"_id": 10, "name": "ten"}}, {"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"u": {"name": "tx"}}}, "o2": {"_id": 3}}]}}"#
            ),
            OplogSyncFixture.entry(
                4,
                #"{"op": "c", "ns": "admin.$cmd", \#(lsid), "txnNumber": {"$numberLong": "2"}, "o": {"applyOps": [{"op": "i", "ns": "\#(ns)", "o": {"_id": 11, "name": "eleven"}}], "partialTxn": true}}"#
            ),
            OplogSyncFixture.entry(5, #"{"op": "n", "ns": "", "o": {"msg": "periodic noop"}}"#),
            OplogSyncFixture.entry(
                6,
                #"{"op": "c", "ns": "admin.$cmd", \#(lsid), "txnNumber": {"$numberLong": "2"}, "o": {"applyOps": [{"op": "d", "ns": "\#(ns)", "o": {"_id": 4}}], "count": 2}}"#
            ),
            OplogSyncFixture.entry(
                7,
                #"{"op": "c", "ns": "admin.$cmd", \#(lsid), "txnNumber": {"$numberLong": "3"}, "o": {"applyOps": [{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"i": {"tags": ["p"]}}}, "o2": {"_id": 10}}], "prepare": true}}"#
            ),
            OplogSyncFixture.entry(
                8,
                #"{"op": "c", "ns": "admin.$cmd", \#(lsid), "txnNumber": {"$numberLong": "4"}, "o": {"applyOps": [{"op": "i", "ns": "\#(ns)", "o": {"_id": 12}}], "prepare": true}}"#
            ),
            OplogSyncFixture.entry(
                9,
                #"{"op": "c", "ns": "admin.$cmd", \#(lsid), "txnNumber": {"$numberLong": "3"}, "o": {"commitTransaction": 1, "commitTimestamp": {"$timestamp": {"t": 8, "i": 5}}}}"#
            ),
            OplogSyncFixture.entry(
                10,
                #"{"op": "c", "ns": "admin.$cmd", \#(lsid), "txnNumber": {"$numberLong": "4"}, "o": {"abortTransaction": 1}}"#
            ),
            OplogSyncFixture.entry(11, #"{"op": "i", "ns": "\#(ns)", "o": {"_id": 13}, "fromMigrate": true}"#),
            OplogSyncFixture.entry(12, #"{"op": "i", "ns": "\#(db).other", "o": {"_id": 1}}"#),
            OplogSyncFixture.entry(
                13,
                #"{"op": "c", "ns": "admin.$cmd", "o": {"applyOps": [{"op": "d", "ns": "\#(ns)", "o": {"_id": 11}}, {"op": "i", "ns": "\#(ns)", "o": {"_id": 14}, "fromMigrate": true}]}}"#
            ),
            OplogSyncFixture.entry(
                14,
                #"{"op": "c", "ns": "\#(db).$cmd", "o": {"createIndexes": "x", "v": 2, "key": {"a": 1}, "name": "a_1"}}"#
            ),
            OplogSyncFixture.entry(15, #"{"op": "c", "ns": "\#(db).$cmd", "o": {"drop": "other"}}"#),
            OplogSyncFixture.entry(
                16,
                #"{"op": "u", "ns": "\#(ns)", "o": {"_id": 3, "name": "replaced", "matrix": [[9]]}, "o2": {"_id": 3}}"#),
            OplogSyncFixture.entry(
                17, #"{"op": "u", "ns": "\#(ns)", "o": {"$set": {"matrix.1.2": 5, "tags.3": "d"}}, "o2": {"_id": 1}}"#),
        ]
    }

    static let mongodResult: [BSONDocument] = [
        OplogSyncFixture.json(
            #"{"_id": 1, "name": "one", "address": {"city": "Paris", "zip": "0150"}, "tags": ["a", "b", null, "d"], "items": [{"sku": "x", "qty": 1, "notes": ["n1", null, "n3"]}], "matrix": [[1, 2], [3, null, 5]], "meta": {"k": 1}}"#
        ),
        OplogSyncFixture.json(#"{"_id": 2, "name": "two", "items": [{"sku": "y", "qty": 7}], "tags": ["x"]}"#),
        OplogSyncFixture.json(#"{"_id": 3, "name": "replaced", "matrix": [[9]]}"#),
        OplogSyncFixture.json(#"{"_id": 10, "name": "ten", "tags": ["p"]}"#),
    ]

    @Test(
        "--from-file replays mongod's forms (v1, v2 deltas, transactions, chains, prepared, batched applyOps) over a dump's load, twice alike, moving no sync point"
    )
    func fromFile() async throws {
        try await OplogSyncFixture.withLoadedDump(batchSize: 3) { scene in
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            try OplogSyncFixture.writeEntries(Self.mongodEntries(scene.namespace.description), to: oplog)

            let first = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path, "--json"])
            #expect(first.stdout.contains("\"entries_read\":17"), "\(first.stdout)")
            #expect(first.stdout.contains("\"from_migrate\":2"), "\(first.stdout)")
            #expect(first.stdout.contains("\"aborted_transaction\":1"), "\(first.stdout)")
            try await OplogSyncFixture.expectTables(scene, hold: Self.mongodResult)
            _ = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path])
            try await OplogSyncFixture.expectTables(scene, hold: Self.mongodResult)
            let syncPoints = try await scene.stateRowCount("sync_points")
            #expect(syncPoints == "0")
        }
    }

    /// A transaction entry's `prevOpTime`: its entry before at `seconds` (written by `OplogSyncFixture.entry`), or
    /// none (0) for its first.
    static func previous(_ seconds: Int) -> String {
        #""prevOpTime": {"ts": {"$timestamp": {"t": \#(seconds), "i": \#(seconds == 0 ? 0 : 1)}}, "t": {"$numberLong": "1"}}"#
    }

    @Test(
        "a transaction split across two files applies whole with the second, the first run naming it left open; the second alone is refused (65)"
    )
    func transactionAcrossFiles() async throws {
        try await OplogSyncFixture.withLoadedDump(batchSize: 2) { scene in
            let ns = scene.namespace.description
            let transaction = #"\#(Self.lsid), "txnNumber": {"$numberLong": "7"}"#
            let first = scene.directory.appendingPathComponent("oplog-1.bson")
            let second = scene.directory.appendingPathComponent("oplog-2.bson")
            try OplogSyncFixture.writeEntries(
                [
                    OplogSyncFixture.entry(1, #"{"op": "i", "ns": "\#(ns)", "o": {"_id": 20, "name": "before"}}"#),
                    OplogSyncFixture.entry(
                        2,
                        #"{"op": "c", "ns": "admin.$cmd", \#(transaction), \#(Self.previous(0)), "o": {"applyOps": [{"op": "i", "ns": "\#(ns)", "o": {"_id": 21, "name": "part one"}}], "partialTxn": true}}"#
                    ),
                    OplogSyncFixture.entry(
                        3,
                        #"{"op": "c", "ns": "admin.$cmd", \#(transaction), \#(Self.previous(2)), "o": {"applyOps": [{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"u": {"name": "part two"}}}, "o2": {"_id": 1}}], "partialTxn": true}}"#
                    ),
                ], to: first)
            try OplogSyncFixture.writeEntries(
                [
                    OplogSyncFixture.entry(
                        4,
                        #"{"op": "c", "ns": "admin.$cmd", \#(transaction), \#(Self.previous(3)), "o": {"applyOps": [{"op": "i", "ns": "\#(ns)", "o": {"_id": 22, "name": "part three"}}], "count": 3}}"#
                    ),
                    OplogSyncFixture.entry(5, #"{"op": "i", "ns": "\#(ns)", "o": {"_id": 23, "name": "after"}}"#),
                ], to: second)

            // The second file alone: its first entry ends a transaction whose earlier entries were never read.
            let orphan = try await scene.run("oplog-sync", ["--from-file", second.path])
            #expect(orphan.status == 65, "\(orphan.stderr)")
            for words in ["txnNumber 7", "Timestamp(4, 1)", "Timestamp(3, 1)", "refused"] {
                #expect(orphan.stderr.contains(words), "\(orphan.stderr)")
            }
            try await OplogSyncFixture.expectTables(scene, hold: OplogSyncFixture.documents)

            // The first file: the transaction is left open, and said so; nothing of it applied.
            let cut = try await OplogSyncFixture.sync(scene, ["--from-file", first.path, "--json"])
            #expect(cut.stdout.contains(#""transaction_left_open":2"#), "\(cut.stdout)")
            #expect(cut.stdout.contains(#""open_transactions":[{"#), "\(cut.stdout)")
            #expect(cut.stdout.contains("txnNumber 7"), "\(cut.stdout)")
            let line = try await OplogSyncFixture.sync(scene, ["--from-file", first.path])
            #expect(line.stdout.contains("left open, carried to the next run: lsid"), "\(line.stdout)")
            let before = OplogSyncFixture.json(#"{"_id": 20, "name": "before"}"#)
            try await OplogSyncFixture.expectTables(scene, hold: OplogSyncFixture.documents + [before])
            #expect(try await scene.stateRowCount("open_transactions") == "1")

            // The second file: the transaction applies whole, and nothing is left open.
            let ended = try await OplogSyncFixture.sync(scene, ["--from-file", second.path, "--json"])
            #expect(ended.stdout.contains(#""open_transactions":[]"#), "\(ended.stdout)")
            var expected = OplogSyncFixture.documents + [before]
            expected[0]["name"] = .string("part two")
            expected += [
                OplogSyncFixture.json(#"{"_id": 21, "name": "part one"}"#),
                OplogSyncFixture.json(#"{"_id": 22, "name": "part three"}"#),
                OplogSyncFixture.json(#"{"_id": 23, "name": "after"}"#),
            ]
            try await OplogSyncFixture.expectTables(scene, hold: expected)
            #expect(try await scene.stateRowCount("open_transactions") == "0")
        }
    }

    @Test(
        "an array emptied in one batch and refilled in a later one (as a diff, an index $set or a description) comes back whole"
    )
    func refilledArrays() async throws {
        try await OplogSyncFixture.withLoadedDump(batchSize: 1) { scene in
            let ns = scene.namespace.description
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            try OplogSyncFixture.writeEntries(
                [
                    OplogSyncFixture.entry(
                        1,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"stags": {"a": true, "l": 0}}}, "o2": {"_id": 1}}"#
                    ),
                    OplogSyncFixture.entry(
                        2,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"stags": {"a": true, "u0": "z"}}}, "o2": {"_id": 1}}"#
                    ),
                    OplogSyncFixture.entry(
                        3,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"u": {"items": []}}}, "o2": {"_id": 2}}"#),
                    OplogSyncFixture.entry(
                        4,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 1, "$set": {"items.0.sku": "new", "items.0.notes.1": "n"}}, "o2": {"_id": 2}}"#
                    ),
                    OplogSyncFixture.entry(
                        5,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"updatedFields": {"tags.0": "d"}}}, "o2": {"_id": 3}}"#
                    ),
                    OplogSyncFixture.entry(
                        6,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"u": {"address": {}}}}, "o2": {"_id": 1}}"#
                    ),
                    OplogSyncFixture.entry(
                        7,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"saddress": {"i": {"city": "Lima"}}}}, "o2": {"_id": 1}}"#
                    ),
                ], to: oplog)
            let outcome = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path, "--json"])
            #expect(outcome.stdout.contains("\"documents_to_verify\":0"), "\(outcome.stdout)")
            var expected = OplogSyncFixture.documents
            expected[0] = OplogSyncFixture.json(
                #"{"_id": 1, "name": "one", "address": {"city": "Lima"}, "tags": ["z"], "items": [{"sku": "x", "qty": 1, "notes": ["n1"]}], "matrix": [[1, 2], [3]], "meta": {"k": 1}, "score": 1.5}"#
            )
            // notes did not exist: MongoDB creates it as the object {"1": "n"}, which the schema's array cannot hold.
            expected[1] = OplogSyncFixture.json(
                #"{"_id": 2, "name": "two", "tags": [], "items": [{"sku": "new", "notes": {"1": "n"}}]}"#)
            expected[2] = OplogSyncFixture.json(
                #"{"_id": 3, "name": "three", "address": {"city": "Rome"}, "tags": ["d"]}"#)
            try await OplogSyncFixture.expectTables(scene, hold: expected)
        }
    }

    @Test(
        "an unknown entry stops the run before it (65) and a rename of a synced collection too (1), after committing what came before"
    )
    func stops() async throws {
        try await OplogSyncFixture.withLoadedDump { scene in
            let ns = scene.namespace.description, db = scene.namespace.database
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            for (stopper, status, words) in [
                (
                    OplogSyncFixture.entry(
                        2, #"{"op": "c", "ns": "\#(db).$cmd", "o": {"convertToCapped": "customers", "size": 1}}"#),
                    Int32(65), "convertToCapped"
                ),
                (
                    OplogSyncFixture.entry(
                        2,
                        #"{"op": "c", "ns": "\#(db).$cmd", "o": {"renameCollection": "\#(ns)", "to": "\#(db).renamed"}}"#
                    ), 1, "renamed"
                ),
            ] + Self.hostileUpdates(ns) {
                try OplogSyncFixture.writeEntries(
                    [
                        OplogSyncFixture.entry(1, #"{"op": "i", "ns": "\#(ns)", "o": {"_id": 20, "name": "before"}}"#),
                        stopper,
                        OplogSyncFixture.entry(3, #"{"op": "i", "ns": "\#(ns)", "o": {"_id": 21, "name": "after"}}"#),
                    ], to: oplog)
                let outcome = try await scene.run("oplog-sync", ["--from-file", oplog.path])
                #expect(outcome.status == status, "\(outcome.stderr)")
                #expect(
                    outcome.stderr.contains("Timestamp(2, 1)") && outcome.stderr.contains(words), "\(outcome.stderr)")
                // The ledger records the run ended with its status, never left running.
                let ledger = try await PostgresServer.withSession { session in
                    try await session.query(
                        """
                        SELECT status, exit_code::text FROM \(PostgresSQL.qualifiedName(schema: scene.stateSchema, "runs"))
                        WHERE tool = 'oplog-sync' ORDER BY id DESC LIMIT 1
                        """, purpose: "test"
                    ).rows
                }
                #expect(ledger.first?[0] != "running" && ledger.first?[1] == String(status), "\(words): \(ledger)")
                try await OplogSyncFixture.expectTables(
                    scene, hold: OplogSyncFixture.documents + [OplogSyncFixture.json(#"{"_id": 20, "name": "before"}"#)]
                )
            }
        }
    }

    /// Update entries no MongoDB writes (issue 21), each stopping the run before it with 65 and the words its
    /// message must hold: arrays padded past mongod's limit (which crashed the tool allocating gigabytes), a change
    /// of `_id`, and a diff of an unknown form on a document that is not there.
    static func hostileUpdates(_ ns: String) -> [(BSONDocument, Int32, String)] {
        [
            (#"{"$v": 1, "$set": {"tags.100000000": "x"}}"#, 1, "tags.100000000 would pad an array"),
            (#"{"$v": 2, "diff": {"updatedFields": {"tags.100000000": "x"}}}"#, 1, "would pad an array"),
            (
                #"{"$v": 2, "diff": {"stags": {"a": true, "l": {"$numberLong": "4000000000"}}}}"#, 1,
                "4000000000 elements"
            ),
            (#"{"$v": 2, "diff": {"stags": {"a": true, "u100000000": "x"}}}"#, 1, "100000001 elements"),
            (#"{"$v": 1, "$set": {"_id": 5}}"#, 1, "changes _id"),
            (#"{"$v": 2, "diff": {"u": {"_id": 5}}}"#, 1, "changes _id"),
            (#"{"_id": 9, "name": "nine"}"#, 1, "_id differs"),
            (#"{"$v": 2, "diff": {"x": {"u": {"name": "n"}}}}"#, 999, "unexpected section x"),
        ].map { update, id, words in
            (
                OplogSyncFixture.entry(2, #"{"op": "u", "ns": "\#(ns)", "o": \#(update), "o2": {"_id": \#(id)}}"#),
                65, words
            )
        } + [
            (
                OplogSyncFixture.entry(2, #"{"op": "u", "ns": "\#(ns)", "o": {"_id": 9, "name": "nine"}}"#), 65,
                "without o2._id"
            )
        ]
    }

    @Test("an update of a root field rewrites the root row only: the document's child rows stay as they were")
    func untouchedChildRows() async throws {
        try await OplogSyncFixture.withLoadedDump { scene in
            let ns = scene.namespace.description
            let plan = try scene.plan()
            func locations() async throws -> [String: [String: String]] {
                try await OplogSyncFixture.rowLocations(scene)
            }
            let before = try await locations()
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            try OplogSyncFixture.writeEntries(
                [
                    OplogSyncFixture.entry(
                        1,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"u": {"name": "renamed"}}}, "o2": {"_id": 1}}"#
                    )
                ], to: oplog)
            _ = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path])
            let after = try await locations()
            for table in plan.tables.dropFirst() {
                #expect(after[table.name] == before[table.name], "\(table.name) was rewritten")
            }
            #expect(after[plan.tables[0].name] != before[plan.tables[0].name], "the root row was rewritten")
            var expected = OplogSyncFixture.documents
            expected[0]["name"] = .string("renamed")
            try await OplogSyncFixture.expectTables(scene, hold: expected)
        }
    }

    @Test("an update of an array element leaves the root row alone, its jsonb included, however PostgreSQL spells it")
    func untouchedRootRow() async throws {
        try await OplogSyncFixture.withLoadedDump { scene in
            let ns = scene.namespace.description
            let plan = try scene.plan()
            let before = try await OplogSyncFixture.rowLocations(scene)
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            try OplogSyncFixture.writeEntries(
                [
                    OplogSyncFixture.entry(
                        1,
                        #"{"op": "u", "ns": "\#(ns)", "o": {"$v": 2, "diff": {"stags": {"a": true, "u1": "c"}}}, "o2": {"_id": 1}}"#
                    )
                ], to: oplog)
            _ = try await OplogSyncFixture.sync(scene, ["--from-file", oplog.path])
            let after = try await OplogSyncFixture.rowLocations(scene)
            #expect(after[plan.tables[0].name] == before[plan.tables[0].name], "the root row was rewritten")
            #expect(after != before, "the tags rows were rewritten")
            var expected = OplogSyncFixture.documents
            expected[0]["tags"] = .array([.string("a"), .string("c")])
            try await OplogSyncFixture.expectTables(scene, hold: expected)
        }
    }

    @Test("divergence planted behind the tool's back is repaired by the next batch touching it, and counted")
    func repairs() async throws {
        try await InitLoadFixture.with(
            batchSize: 2, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try await scene.initLoad()
            _ = try await OplogSyncFixture.sync(scene)
            let tables = try scene.plan().tables.map { try scene.plan().qualifiedName($0) }
            try await PostgresServer.withSession { session in
                // A value changed, a child row deleted (a gap in idx), a document's rows gone, a document MongoDB lacks.
                try await session.execute("UPDATE \(tables[0]) SET name = 'tampered' WHERE _id = 1", purpose: "test")
                try await session.execute(
                    "DELETE FROM \(try scene.plan().qualifiedName(scene.plan().tables.first { $0.name.hasSuffix("_items") }!)) WHERE \"\(scene.namespace.collection)_id\" = 2 AND idx = 0",
                    purpose: "test")
                for table in tables.reversed() {
                    let key = table == tables[0] ? "_id" : "\"\(scene.namespace.collection)_id\""
                    try await session.execute("DELETE FROM \(table) WHERE \(key) = 3", purpose: "test")
                }
            }
            let writer = OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            for id: Int32 in [1, 2, 3] { try await writer.set(id, ["score": .double(Double(id))]) }
            // Document 4 changes twice, in two batches: after the first, MongoDB already holds the second change,
            // which is no divergence (left to the next batch), never a repair.
            try await writer.set(4, ["name": .string("first")])
            try await writer.set(4, ["name": .string("second")])
            let outcome = try await OplogSyncFixture.sync(scene, ["--json"])
            let figures = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
            #expect(figures?["documents_repaired"] as? Int == 3, "\(outcome.stdout) \(outcome.stderr)")
            #expect(outcome.stderr.contains("repaired a document"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("path=name") || outcome.stderr.contains("path: name"), "\(outcome.stderr)")
            try await OplogSyncFixture.expectInSync(scene)

            // --no-verify replays without looking at MongoDB: planted divergence stays.
            try await PostgresServer.withSession { session in
                try await session.execute(
                    "UPDATE \(tables[0]) SET name = 'tampered again' WHERE _id = 1", purpose: "test")
            }
            try await writer.set(1, ["score": .double(10)])
            let unverified = try await OplogSyncFixture.sync(scene, ["--no-verify", "--json"])
            #expect(unverified.stdout.contains("\"documents_verified\":0"), "\(unverified.stdout)")
            let name = try await PostgresServer.withSession { session in
                try await session.query("SELECT name FROM \(tables[0]) WHERE _id = 1", purpose: "test").scalar
            }
            #expect(name == "tampered again")
        }
    }

    @Test(
        "oplog-sync killed at random moments loses nothing and doubles nothing: each rerun catches up exactly (verified, and pipelined with --no-verify)",
        arguments: [[String](), ["--no-verify"]])
    func killedAnywhere(arguments: [String]) async throws {
        try await InitLoadFixture.with(
            batchSize: 7, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try await scene.initLoad()
            let writer = OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            var random = SeededRandom(seed: UInt64(Date().timeIntervalSince1970))
            var nextID: Int32 = 100
            for round in 0..<20 {
                // A burst of inserts, updates of growing arrays, and deletes, then a run killed after a random delay.
                try await writer.randomBurst(round: round, nextID: &nextID, using: &random)
                let run = try OplogFollowTests.BackgroundRun(scene, arguments)
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...900, using: &random)))
                kill(run.pid, SIGKILL)
                _ = try await run.exitStatus()
                if round % 10 == 9 {
                    _ = try await OplogSyncFixture.sync(scene, arguments)
                    try await OplogSyncFixture.expectInSync(scene)
                }
            }
            _ = try await OplogSyncFixture.sync(scene, arguments)
            try await OplogSyncFixture.expectInSync(scene)
        }
    }

    @Test(
        "SIGTERM stops oplog-sync at the next batch boundary: exit 0, the batches before it committed, a rerun catches up"
    )
    func terminated() async throws {
        try await InitLoadFixture.with(
            batchSize: 2, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) { scene in
            try await scene.initLoad()
            let writer = OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            for id: Int32 in 50..<60 { try await writer.insert([["_id": .int32(id), "name": .string("n\(id)")]]) }
            let run = try OplogFollowTests.BackgroundRun(
                scene, ["--json"], environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-committed"])
            #expect(try await run.waitForStderr("holding at batch-committed"), "\(run.stderr)")
            kill(run.pid, SIGTERM)
            #expect(try await run.exitStatus() == 0, "\(run.stderr)")
            #expect(run.stdout.contains("\"interrupted_by\":15"), "\(run.stdout)")
            #expect(run.stdout.contains("\"batches\":1,"), "one batch committed before the stop: \(run.stdout)")
            _ = try await OplogSyncFixture.sync(scene)
            try await OplogSyncFixture.expectInSync(scene)
        }
    }

    @Test(
        "a document a batch left to verify is verified by the next run, even after a SIGKILL and with no new entry for it"
    )
    func leftToVerifySurvivesKill() async throws {
        // A server of its own: the first batch must hold this test's entries, not other tests' writes.
        try await InitLoadFixture.withPrivateServer(
            batchSize: 2, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
        ) {
            scene, mongo, uri in
            try await scene.initLoad()
            let root = try scene.plan().qualifiedName(scene.plan().tables[0])
            try await PostgresServer.withSession { session in
                try await session.execute("UPDATE \(root) SET name = 'tampered' WHERE _id = 1", purpose: "test")
            }
            let writer = OplogSyncFixture.Writer(session: mongo, namespace: scene.namespace)
            // The first batch applies document 1's update on the tampered row: it differs, and a full batch (more
            // entries follow) only remembers it. The run is killed right after that batch commits.
            try await writer.set(1, ["score": .double(9)])
            for id: Int32 in 50..<56 { try await writer.insert([["_id": .int32(id), "name": .string("n\(id)")]]) }
            let run = try OplogFollowTests.BackgroundRun(
                scene, [], environment: ["MONGO_PG_SYNC_HOLD_AT": "batch-committed"])
            #expect(try await run.waitForStderr("holding at batch-committed"), "\(run.stderr)")
            kill(run.pid, SIGKILL)
            _ = try await run.exitStatus()
            let left = try await scene.stateRowCount("pending_verifications")
            #expect(left == "1", "the killed run's batch left document 1 to verify: \(run.stderr)")

            let rerun = try await OplogSyncFixture.sync(scene, ["--json"])
            #expect(rerun.stdout.contains("\"documents_repaired\":1"), "\(rerun.stdout) \(rerun.stderr)")
            try await OplogSyncFixture.expectTables(scene, hold: try await mongo.findAll(scene.namespace))
        }
    }

    @Test(
        "when the oplog has rolled past the sync point, oplog-sync says an init load is needed (1), never 'nothing new'"
    )
    func oplogRolledPast() async throws {
        try await InitLoadFixture.withPrivateServer(
            arguments: ["--oplog-max-entries", "40"], schema: OplogSyncFixture.schema,
            documents: OplogSyncFixture.documents
        ) { scene, mongo, uri in
            try await scene.initLoad()
            let writer = OplogSyncFixture.Writer(session: mongo, namespace: scene.namespace)
            try await writer.delete(["_id": .int32(4)])
            for id: Int32 in 100..<160 { try await writer.insert([["_id": .int32(id)]]) }
            // SecantusDB prunes every 1000 writes; its admin command prunes now, as mongod does on each write.
            _ = try await mongo.runCommand(["secantusAdmin.pruneOplog": .int32(1)], database: "admin")
            let outcome = try await scene.run("oplog-sync", [])
            #expect(outcome.status == 1, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("the oplog of source rs0 no longer reaches back"), "\(outcome.stderr)")
            let points = try await scene.stateRowCount("sync_points")
            #expect(points == "0", "no sync point moved")
        }
    }

    @Test(
        "two shard sources merge by ts into one replay, each with its own sync point; one out of reach is 69, moving none"
    )
    func shardSources() async throws {
        try await PrivateMongoServer.with { shardA in
            try await PrivateMongoServer.with { shardB in
                try await InitLoadFixture.with(
                    mongoURI: shardA, schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents
                ) {
                    scene in
                    let a = OplogSyncFixture.Writer(
                        session: try MongoSession(uri: shardA, name: "a"), namespace: scene.namespace)
                    let b = OplogSyncFixture.Writer(
                        session: try MongoSession(uri: shardB, name: "b"), namespace: scene.namespace)
                    // As shards do, each holds part of the collection.
                    try await a.insert(Array(OplogSyncFixture.documents[0..<2]))
                    try await b.insert(Array(OplogSyncFixture.documents[2...]))
                    let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
                    try (config + "\n[oplog:shardA]\nuri = \(shardA)\n\n[oplog:shardB]\nuri = \(shardB)\n")
                        .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
                    #expect(try await scene.etlstatus("init-load-start").status == 0)
                    try await OplogSyncFixture.loadFromDump(scene)
                    #expect(try await scene.etlstatus("init-load-finish", "ok").status == 0)

                    try await a.set(1, ["name": .string("a1")])
                    try await b.set(3, ["name": .string("b3"), "tags.1": .string("t")])
                    try await a.insert([["_id": .int32(5), "name": .string("on a")]])
                    try await b.delete(["_id": .int32(4)])
                    try await b.insert([["_id": .int32(6), "name": .string("on b")]])
                    try await a.set(5, ["score": .double(5)])
                    // [mongo] uri is one shard here (a mongos in production): verification would take the other
                    // shard's documents for missing ones.
                    let outcome = try await OplogSyncFixture.sync(scene, ["--no-verify", "--json"])
                    #expect(
                        outcome.stdout.contains("\"shardA\"") && outcome.stdout.contains("\"shardB\""),
                        "\(outcome.stdout)")
                    let union =
                        try await MongoSession(uri: shardA, name: "a").findAll(scene.namespace)
                        + MongoSession(uri: shardB, name: "b").findAll(scene.namespace)
                    try await OplogSyncFixture.expectTables(scene, hold: union)
                    let points = try await PostgresServer.withSession { session in
                        try await session.query(
                            "SELECT source, oplog_ts FROM \(PostgresSQL.quoteIdentifier(scene.stateSchema)).sync_points ORDER BY 1",
                            purpose: "test"
                        ).rows
                    }
                    #expect(points.map { $0[0] } == ["shardA", "shardB"])

                    // Shard B out of reach: 69, and neither sync point moves.
                    try await a.set(2, ["name": .string("a2")])
                    try await withDeadLoopbackPort { deadPort in
                        let withDeadShard = try String(contentsOfFile: scene.configPath, encoding: .utf8)
                            .replacingOccurrences(
                                of: "uri = \(shardB)",
                                with: "uri = mongodb://127.0.0.1:\(deadPort)/?serverSelectionTimeoutMS=1000")
                        try withDeadShard.write(toFile: scene.configPath, atomically: true, encoding: .utf8)
                        let dead = try await scene.run("oplog-sync", ["--no-verify"])
                        #expect(dead.status == 69, "\(dead.stderr)")
                        let after = try await PostgresServer.withSession { session in
                            try await session.query(
                                "SELECT source, oplog_ts FROM \(PostgresSQL.quoteIdentifier(scene.stateSchema)).sync_points ORDER BY 1",
                                purpose: "test"
                            ).rows
                        }
                        #expect(after == points)
                    }
                }
            }
        }
    }

    @Test("oplog-sync refuses to run before an init load (1), beside another sync (75), and with dead servers (69)")
    func refusals() async throws {
        try await InitLoadFixture.with(schema: OplogSyncFixture.schema, documents: OplogSyncFixture.documents) {
            scene in
            let early = try await scene.run("oplog-sync", [])
            #expect(early.status == 1, "\(early.stderr)")
            #expect(early.stderr.contains("init load"), "\(early.stderr)")
            try await scene.initLoad()
            try await PostgresServer.withSession { session in
                try await session.tryAdvisoryLock(key: SyncLock.key(stateSchema: scene.stateSchema), purpose: "test")
                let locked = try await scene.run("oplog-sync", [])
                #expect(locked.status == 75, "\(locked.stderr)")
                #expect(locked.stderr.contains("held by another session (backend pid "), "\(locked.stderr)")
            }
            // A write after the init load, so the run reads an entry and records its sync point (the init load's
            // position need not be an entry, and a run that reads nothing moves no sync point).
            try await OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace
            )
            .set(1, ["name": .string("after the load")])
            #expect(try await scene.run("oplog-sync", []).status == 0)

            // MongoDB gone: 69, and the sync point stays where it was.
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try await withDeadLoopbackPort { deadPort in
                let uriLine = try #require(config.split(separator: "\n").first { $0.hasPrefix("uri = ") })
                try config.replacingOccurrences(
                    of: String(uriLine), with: "uri = mongodb://127.0.0.1:\(deadPort)/?serverSelectionTimeoutMS=1000"
                ).write(toFile: scene.configPath, atomically: true, encoding: .utf8)
                let before = try await PostgresServer.withSession { session in
                    try await session.query(
                        "SELECT oplog_ts FROM \(PostgresSQL.quoteIdentifier(scene.stateSchema)).sync_points",
                        purpose: "test"
                    ).rows
                }
                let dead = try await scene.run("oplog-sync", [])
                #expect(dead.status == 69, "\(dead.stderr)")
                #expect(dead.stderr.split(separator: "\n").count == 1, "one line: \(dead.stderr)")
                let after = try await PostgresServer.withSession { session in
                    try await session.query(
                        "SELECT oplog_ts FROM \(PostgresSQL.quoteIdentifier(scene.stateSchema)).sync_points",
                        purpose: "test"
                    ).rows
                }
                #expect(before == after && !before.isEmpty)
            }
        }
        try await withDeadLoopbackPort { port in
            try await InitLoadFixture.with(
                postgresConninfo: "postgresql://sync@127.0.0.1:\(port)/postgres?connect_timeout=3", documentCount: 1
            ) { scene in
                let outcome = try await scene.run("oplog-sync", [])
                #expect(outcome.status == 69, "\(outcome.stderr)")
            }
        }
    }
}
