import Foundation
import MongoPG
import TestSupport
import Testing

/// The fuzzer's idea as a test (issue 21): random operator sequences written by pymongo to a SecantusDB, replayed by
/// the real `oplog-sync --no-verify`, must leave exactly the tables an init load of the resulting collection gives:
/// replay has to be right without verification, the pipelined mode the speed work pushes. Each round writes one
/// sequence, syncs, snapshots the tables, loads the collection afresh and compares; the next round goes on from there.
/// A fixed seed by default; `SYNC_REPLAY_ROUNDS` runs more rounds and `SYNC_REPLAY_SEED` another sequence.
@Suite("oplog-sync --no-verify: random operator sequences", .tags(.integration))
struct ReplayPropertyTests {
    static let environment = ProcessInfo.processInfo.environment
    static let rounds = Int(environment["SYNC_REPLAY_ROUNDS"] ?? "") ?? 3
    static let seed = Int(environment["SYNC_REPLAY_SEED"] ?? "") ?? 21
    static let operationsPerRound = 40

    /// Nested objects, an object with numeric-string keys, arrays of scalars, of objects, of arrays and of arrays of
    /// arrays, and the fields `$rename` moves between.
    static let schema = """
        {"_id": "int", "name": "string", "meta": {"dims": {"w": "int", "h": "int"}, "note": "string"},
         "slots": {"0": "int", "1": "string"}, "grid": [["int"]], "cube": [[["int"]]], "tags": ["string"],
         "t": ["int"], "items": [{"sku": "string", "qty": "int"}], "n": "int", "d": "date", "moved": {"x": "int"}}
        """

    static func document(_ id: Int) -> BSONDocument {
        OplogSyncFixture.json(
            #"{"_id": \#(id), "name": "d\#(id)", "meta": {"dims": {"w": \#(id), "h": 2}}, "slots": {"0": 6, "1": "x"}, "grid": [[0, 0], [1]], "cube": [[]], "tags": ["a", "b"], "t": [1, 2, 3], "items": [{"sku": "s", "qty": 1}], "n": 5}"#
        )
    }

    /// One round's writes: `operations` random operators on documents 1-6, from python's seeded generator.
    static func script(seed: Int, operations: Int) -> String {
        """
        import random
        from pymongo.errors import OperationFailure
        random.seed(\(seed))
        c = pymongo.MongoClient(uri)[db][coll]
        def dotted_field(name, v):
            # A field of meta whose name holds a dot or starts with $. SecantusDB describes its creation by the dotted
            # path alone (no disambiguatedPaths, unlike mongod), which replay reads against the stored document: a
            # name whose first part names an object there (or one of the schema's, which the rows cannot tell from
            # an empty one), such as "dims.w", cannot be told from the nested path, so the names here do not.
            return [{"$replaceWith": {"$setField": {"field": "meta", "input": "$$ROOT", "value": {"$setField": {
                "field": {"$literal": name}, "input": {"$ifNull": ["$meta", {}]}, "value": v}}}}}]
        def one():
            r = random.randrange
            i = r(1, 7)
            v = r(-5, 300)
            ops = [
                lambda: c.update_one({"_id": i}, dotted_field(random.choice(["a.b.c", "$x", "w.1"]), v)),
                lambda: c.update_one({"_id": i}, {"$set": {"meta.dims.w": v}}),
                lambda: c.update_one({"_id": i}, {"$unset": {"meta.dims": ""}}),
                lambda: c.insert_one({"_id": r(100, 10000), "meta": {"dims.w": v, "$y": 1, "dims": {"h": v}}}),
                lambda: c.update_one({"_id": i}, {"$set": {"slots." + random.choice(["0", "1", "2"]): v}}),
                lambda: c.update_one({"_id": i}, {"$set": {"grid." + str(r(0, 3)) + "." + str(r(0, 3)): v}}),
                lambda: c.update_one({"_id": i}, {"$set": {"cube.0." + str(r(0, 3)) + "." + str(r(0, 3)): v}}),
                lambda: c.update_one({"_id": i}, {"$set": {"cube": [[]]}}),
                lambda: c.update_one({"_id": i}, {"$set": {"t.$[x]": v}}, array_filters=[{"x": {"$gte": r(0, 4)}}]),
                lambda: c.replace_one({"_id": i}, {"name": "replaced", "t": [r(0, 9), 4], "grid": [[v]]}),
                lambda: c.update_one({"_id": i}, {"$rename": {"n": "moved.x"}}),
                lambda: c.update_one({"_id": i}, {"$rename": {"moved.x": "n"}}),
                lambda: c.update_one({"_id": i}, {"$rename": {"meta.dims.h": "meta.note"}}),
                lambda: c.update_one({"_id": i}, {"$unset": {"tags." + str(r(0, 3)): ""}}),
                lambda: c.update_one({"_id": i}, {"$pop": {random.choice(["t", "tags", "grid"]): r(-1, 2, 2)}}),
                lambda: c.update_one({"_id": i}, {"$pullAll": {"t": [r(0, 5), r(0, 5)]}}),
                lambda: c.update_one({"_id": i}, {"$push": {"tags": {"$each": ["p", "q"], "$slice": r(-3, 4)}}}),
                lambda: c.update_one({"_id": i}, {"$push": {"grid": [v, v]}}),
                lambda: c.update_one({"_id": i}, {"$bit": {"n": {random.choice(["and", "or", "xor"]): r(0, 16)}}}),
                lambda: c.update_one({"_id": i}, {"$mul": {"n": r(0, 4)}}),
                lambda: c.update_one({"_id": i}, {random.choice(["$min", "$max"]): {"n": v}}),
                lambda: c.update_one({"_id": i}, {"$currentDate": {"d": True}}),
                lambda: c.update_one({"_id": i}, {"$inc": {"items.0.qty": 1}}),
                lambda: c.update_one({"_id": r(7, 10)}, {"$set": {"name": "upserted", "t": [v]}}, upsert=True),
                lambda: c.update_one({"_id": i}, [{"$set": {"n": {"$add": [{"$ifNull": ["$n", 0]}, 1]},
                    "tags": {"$slice": [{"$ifNull": ["$tags", []]}, 1]}}}]),
                lambda: c.delete_one({"_id": r(7, 10)}),
            ]
            random.choice(ops)()
        for _ in range(\(operations)):
            try:
                one()
            except OperationFailure:
                pass  # an operator that does not apply to the value there (a $bit on a string): MongoDB refused it
        """
    }

    @Test("random operator sequences replayed with --no-verify leave what an init load of the result gives")
    func randomSequences() async throws {
        try await InitLoadFixture.withPrivateServer(schema: Self.schema, documents: (1...6).map(Self.document)) {
            scene, _, uri in
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "[sync]\n", with: "[sync]\nkeep_extra = true\nbatch_size = 1\n")
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            try await scene.initLoad()
            for round in 0..<Self.rounds {
                // Batches of 1, 2 and many entries in turn: documents meet each other across and within batches.
                let batchSize = [1, 2, 1000][round % 3]
                let text = try String(contentsOfFile: scene.configPath, encoding: .utf8)
                try text.replacing(/batch_size = \d+/, with: "batch_size = \(batchSize)")
                    .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
                let seed = Self.seed + round
                try await OplogSyncFixture.python(
                    Self.script(seed: seed, operations: Self.operationsPerRound), uri: uri, scene.namespace)
                let outcome = try await scene.run("oplog-sync", ["--no-verify", "--json"])
                #expect(outcome.status == 0, "seed \(seed): \(outcome.stderr)")
                #expect(outcome.stdout.contains("\"documents_to_verify\":0"), "seed \(seed): \(outcome.stdout)")
                let replayed = try await PostgresServer.withSession { try await scene.tableContents($0) }
                #expect(try await scene.read().status == 0)
                #expect(try await scene.copy().status == 0)
                let loaded = try await PostgresServer.withSession { try await scene.tableContents($0) }
                for (table, rows) in loaded where replayed[table] != rows {
                    let kept = replayed[table] ?? []
                    Issue.record(
                        """
                        seed \(seed), batch size \(batchSize), table \(table): replay left \
                        \(kept.filter { !rows.contains($0) }), an init load gives \(rows.filter { !kept.contains($0) })
                        """)
                }
            }
        }
    }
}
