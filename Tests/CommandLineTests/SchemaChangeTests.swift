import Foundation
import MongoPG
import TestSupport
import Testing

/// Schema files edited after the load, applied in place by a plain `oplog-sync` (issue 20, section 2), through the
/// real binaries: the tables end as a fresh init load with the new schema would build them, users' objects on them
/// stay, and what cannot be applied in place stops the run before anything changes.
@Suite("oplog-sync: schema changes applied in place", .tags(.integration))
struct SchemaChangeTests {
    typealias Writer = OplogSyncFixture.Writer
    typealias BackgroundRun = OplogFollowTests.BackgroundRun

    static let oldSchema = #"{"_id": "int", "name": "string", "age": "int"}"#
    /// A new field, a new array and a widening.
    static let newSchema = #"{"_id": "int", "name": "string", "age": "long", "note": "string", "tags": ["string"]}"#

    /// Documents holding what the old schema lacks: `note` and `tags` unknown, a long `age` now and then.
    static func documents(_ range: Range<Int>) -> [BSONDocument] {
        range.map { i in
            var document: BSONDocument = [
                "_id": .int32(Int32(i)), "name": .string("n\(i)"),
                "age": i % 5 == 0 ? .int64(Int64(i) << 33 + 1) : .int32(Int32(i)),
            ]
            document.append("note", .string("note \(i)"))
            if i % 3 == 0 { document.append("tags", .array([.string("t\(i)"), .string("u")])) }
            return document
        }
    }

    /// A scene loaded with the old schema (`keep_extra` as given), its documents in MongoDB.
    static func withLoadedScene(
        keepExtra: Bool, count: Int = 300, settings: String = "", schema: String = oldSchema,
        documents: (Range<Int>) -> [BSONDocument] = documents, _ body: (InitLoadFixture, Writer) async throws -> Void
    ) async throws {
        try await InitLoadFixture.with(schema: schema, documents: documents(0..<count)) { scene in
            let config = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "[sync]\n", with: "[sync]\nkeep_extra = \(keepExtra)\n\(settings)\n")
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            try await scene.initLoad()
            let writer = Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI(), name: "writer"),
                namespace: scene.namespace)
            try await body(scene, writer)
        }
    }

    static func writeSchema(_ text: String, _ scene: InitLoadFixture) throws {
        try text.write(toFile: scene.schemaPath, atomically: true, encoding: .utf8)
    }

    static func sync(_ scene: InitLoadFixture, _ arguments: [String] = []) async throws -> Binaries.Outcome {
        try await scene.run("oplog-sync", arguments)
    }

    /// Every table of the target schema, its columns in name order (so a column added at the end compares with one
    /// a load put in schema order), its rows sorted.
    static func contents(_ scene: InitLoadFixture) async throws -> [String: [[String?]]] {
        try await PostgresServer.withSession { session in
            let tables = try await session.query(
                "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1 ORDER BY 1",
                parameters: [scene.targetSchema], purpose: "test"
            ).rows.compactMap { $0[0] }
            var contents: [String: [[String?]]] = [:]
            for table in tables {
                let columns = try await session.query(
                    """
                    SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
                    ORDER BY column_name COLLATE "C"
                    """, parameters: [scene.targetSchema, table], purpose: "test"
                ).rows.compactMap { $0[0] }
                let list = columns.map(PostgresSQL.quoteIdentifier).joined(separator: ", ")
                let rows = try await session.query(
                    "SELECT \(list) FROM \(PostgresSQL.qualifiedName(schema: scene.targetSchema, table))",
                    purpose: "test"
                ).rows.sorted { $0.map { $0 ?? "\u{0}" }.lexicographicallyPrecedes($1.map { $0 ?? "\u{0}" }) }
                contents[table] = [columns] + rows
            }
            return contents
        }
    }

    /// What a fresh init load of the scene's collection with its current schema file gives.
    static func freshLoadContents(_ scene: InitLoadFixture) async throws -> [String: [[String?]]] {
        try await scene.initLoad()
        return try await contents(scene)
    }

    static func query(_ sql: String) async throws -> [[String?]] { try await OplogFollowTests.query(sql) }

    @Test(
        "a new field, a new array and a widening, written during the change, end as a fresh load with the new schema",
        arguments: [true, false])
    func additive(keepExtra: Bool) async throws {
        try await Self.withLoadedScene(keepExtra: keepExtra) { scene, writer in
            let root = PostgresSQL.qualifiedName(schema: scene.targetSchema, "customers")
            _ = try await Self.query(
                "CREATE VIEW \(PostgresSQL.qualifiedName(schema: scene.targetSchema, "names")) AS "
                    + "SELECT _id, name FROM \(root)")
            _ = try await Self.query("GRANT SELECT ON \(root) TO PUBLIC")
            let oid = try await Self.query("SELECT '\(root)'::regclass::oid::text")
            #expect(try await scene.etlstatus("init-load-status").status == 0)

            try Self.writeSchema(Self.newSchema, scene)
            #expect(try await scene.etlstatus("init-load-status").status == 1, "the file changed: not applied yet")
            let writes = Task {
                for i in 0..<60 {
                    try await writer.insert(Self.documents((1000 + i)..<(1001 + i)))
                    try await writer.set(Int32(i * 4), ["note": .string("changed \(i)"), "age": .int64(7 << 40)])
                    try await writer.set(Int32(i * 4 + 1), ["tags": .array([.string("new")])])
                }
            }
            let run = try await Self.sync(scene, ["--json"])
            try await writes.value
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let changes = try #require(summary["schema_changes"] as? [[String: Any]], "\(run.stdout)")
            #expect(changes.first?["columns_added"] as? [String] == ["customers.note"], "\(changes)")
            #expect(changes.first?["tables_created"] as? [String] == ["customers_tags"], "\(changes)")
            #expect(changes.first?["columns_widened"] as? [String] == ["customers.age"], "\(changes)")
            #expect((changes.first?["documents_converged"] as? Int ?? 0) > 0, "\(changes)")
            #expect(!run.stderr.contains("wrote the new places"), "a widening converges: \(run.stderr)")
            #expect(try await scene.etlstatus("init-load-status").status == 0)
            let ledger = try await Self.query(
                "SELECT figures->>'schema_columns_added' FROM \(OplogFollowTests.state(scene, "runs")) "
                    + "WHERE tool = 'oplog-sync' ORDER BY id DESC LIMIT 1")
            #expect(ledger == [["1"]])

            let caughtUp = try await Self.sync(scene)
            #expect(caughtUp.status == 0, "\(caughtUp.stderr)")
            #expect(!caughtUp.stdout.contains("schema change"), "applied once: \(caughtUp.stdout)")
            #expect(try await Self.query("SELECT '\(root)'::regclass::oid::text") == oid, "the root table is kept")
            #expect(
                try await Self.query("SELECT has_table_privilege('public', '\(root)', 'SELECT')::text") == [["true"]])
            #expect(
                try await Self.query(
                    "SELECT count(*)::text FROM \(PostgresSQL.qualifiedName(schema: scene.targetSchema, "names"))")
                    == [["\(300 + 60)"]])
            let inPlace = try await Self.contents(scene)
            #expect(inPlace["customers_tags"] != nil)
            #expect(inPlace == (try await Self.freshLoadContents(scene)))
        }
    }

    @Test(
        "with keep_extra, a new column's values kept in _extra move there by SQL: no document is rewritten, and the tables are a fresh load's"
    )
    func valuesMovedOutOfExtra() async throws {
        try await Self.withLoadedScene(keepExtra: true, count: 120) { scene, _ in
            let root = PostgresSQL.qualifiedName(schema: scene.targetSchema, "customers")
            let kept = try await Self.query("SELECT count(*)::text FROM \(root) WHERE _extra ? 'note'")
            #expect(kept == [["120"]], "the load kept every note in _extra")
            try Self.writeSchema(#"{"_id": "int", "name": "string", "age": "int", "note": "string"}"#, scene)
            let run = try await Self.sync(scene, ["--json"])
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
            let changes = try #require(summary["schema_changes"] as? [[String: Any]], "\(run.stdout)")
            #expect(changes.first?["columns_added"] as? [String] == ["customers.note"], "\(changes)")
            #expect(changes.first?["documents_compared"] as? Int == 120, "\(changes)")
            #expect(changes.first?["documents_converged"] as? Int == 0, "\(changes)")
            let inPlace = try await Self.contents(scene)
            #expect(inPlace == (try await Self.freshLoadContents(scene)))
        }
    }

    @Test(
        "mongo-schema --diff shows what a sample would add, with the values oplog-sync could not place; 0 once applied")
    func diff() async throws {
        try await Self.withLoadedScene(keepExtra: false, count: 30) { scene, writer in
            for i in 0..<5 { try await writer.set(Int32(i), ["note": .string("later \(i)")]) }
            #expect(try await Self.sync(scene).status == 0)
            let arguments = ["--collection", scene.namespace.description, "--diff", "--json"]
            let before = try await scene.run("mongo-schema", arguments)
            #expect(before.status == 3, "\(before.stderr)")
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [String: Any], "\(before.stdout)")
            let additions = report["additions"] as? [String] ?? []
            for expected in ["new column customers.note", "new table customers_tags", "column customers.age widened"] {
                #expect(additions.contains { $0.hasPrefix(expected) }, "\(expected): \(additions)")
            }
            let absorbed = report["absorbed"] as? [String: [String: Int]]
            #expect(absorbed?["$.note"]?["unknown"] == 5, "\(report)")

            try Self.writeSchema(Self.newSchema, scene)
            #expect(try await Self.sync(scene).status == 0)
            let after = try await scene.run("mongo-schema", arguments)
            #expect(after.status == 0, "\(after.stdout)\n\(after.stderr)")
        }
    }

    @Test("a view on a column to widen: exit 78 naming the view, and nothing changes")
    func viewOnWidenedColumn() async throws {
        try await Self.withLoadedScene(keepExtra: true, count: 20) { scene, _ in
            let view = PostgresSQL.qualifiedName(schema: scene.targetSchema, "ages")
            _ = try await Self.query(
                "CREATE VIEW \(view) AS SELECT _id, age FROM "
                    + PostgresSQL.qualifiedName(schema: scene.targetSchema, "customers"))
            let before = try await Self.contents(scene)
            try Self.writeSchema(Self.newSchema, scene)
            let run = try await Self.sync(scene)
            #expect(run.status == 78, "\(run.stderr)")
            #expect(run.stderr.contains(view) && run.stderr.contains("drop it"), "\(run.stderr)")
            #expect(try await Self.contents(scene) == before, "nothing changed")
            #expect(try await scene.etlstatus("init-load-status").status == 1)

            _ = try await Self.query("DROP VIEW \(view)")
            let again = try await Self.sync(scene)
            #expect(again.status == 0, "\(again.stderr)")
        }
    }

    @Test("a removed field is exit 1 naming the collection, the field and the one-collection load")
    func removedField() async throws {
        try await Self.withLoadedScene(keepExtra: false, count: 20) { scene, _ in
            let before = try await Self.contents(scene)
            try Self.writeSchema(#"{"_id": "int", "age": "int", "note": "string"}"#, scene)
            let run = try await Self.sync(scene)
            #expect(run.status == 1, "\(run.stderr)")
            for text in [scene.namespace.description, "$.name", "init-load-start --collection \(scene.namespace)"] {
                #expect(run.stderr.contains(text), "\(text): \(run.stderr)")
            }
            #expect(try await Self.contents(scene) == before, "nothing changed, not even the additive part")
        }
    }

    @Test("schema_changes = stop keeps exit 1 for an additive change")
    func stopPolicy() async throws {
        try await Self.withLoadedScene(keepExtra: false, count: 20, settings: "schema_changes = stop") { scene, _ in
            try Self.writeSchema(Self.newSchema, scene)
            let run = try await Self.sync(scene)
            #expect(run.status == 1, "\(run.stderr)")
            #expect(run.stderr.contains("schema changed for \(scene.namespace)"), "\(run.stderr)")
        }
    }

    @Test("killed after the change's DDL, or at a random moment of its convergence, a rerun finishes it")
    func killedDuringConvergence() async throws {
        try await Self.withLoadedScene(keepExtra: true, count: 3000) { scene, _ in
            try Self.writeSchema(Self.newSchema, scene)
            try await Self.killTwiceThenRerun(scene, holdingAt: "schema-changed")
        }
    }

    /// Kills a run held at `point` (then `whenKilled` looks at what it left), then one at a random moment; a rerun
    /// must finish the change: the tables are then a fresh load's.
    static func killTwiceThenRerun(
        _ scene: InitLoadFixture, holdingAt point: String, whenKilled: () async throws -> Void = {}
    ) async throws {
        let held = try BackgroundRun(scene, [], environment: ["MONGO_PG_SYNC_HOLD_AT": point])
        #expect(try await held.waitForStderr("holding at \(point)"))
        kill(held.pid, SIGKILL)
        _ = try await held.exitStatus()
        #expect(try await scene.etlstatus("init-load-status").status == 1, "not finished: the hash waits")
        try await whenKilled()

        var random = SystemRandomNumberGenerator()
        let killed = try BackgroundRun(scene, [])
        try await Task.sleep(for: .milliseconds(Int.random(in: 100...1500, using: &random)))
        kill(killed.pid, SIGKILL)
        _ = try await killed.exitStatus()

        let rerun = try await sync(scene)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try await scene.etlstatus("init-load-status").status == 0)
        let inPlace = try await contents(scene)
        #expect(inPlace == (try await freshLoadContents(scene)))
    }

    // The quick way (AdditionFill): a change that only adds columns and tables writes only its new places.

    static let fillOldSchema =
        #"{"_id": "int", "name": "string", "orders": [{"sku": "string"}], "address": {"city": "string"}}"#
    /// A new root field, a new field of a nested object, a new field inside array elements, a new array inside them
    /// and a new root array.
    static let fillNewSchema = """
        {"_id": "int", "name": "string", "note": "string", "orders": [{"sku": "string", "qty": "int", "lines": ["int"]}],
         "address": {"city": "string", "zip": "string"}, "tags": ["string"]}
        """

    /// Documents holding what the old schema lacks, some of them not, and some a value the new schema cannot hold
    /// (an int `note`: `_extra` or NULL).
    static func fillDocuments(_ range: Range<Int>) -> [BSONDocument] {
        range.map { i in
            var document: BSONDocument = ["_id": .int32(Int32(i)), "name": .string("n\(i)")]
            if i % 7 == 0 {
                document.append("note", .int32(Int32(i)))
            } else if i % 2 == 0 {
                document.append("note", .string("note \(i)"))
            }
            if i % 4 != 3 {
                var order: BSONDocument = ["sku": .string("s\(i)")]
                if i % 3 == 0 { order.append("qty", .int32(Int32(i))) }
                if i % 5 == 0 { order.append("lines", .array([.int32(Int32(i)), .int32(1)])) }
                document.append("orders", .array([.document(order), .document(["sku": .string("x")])]))
            }
            var address: BSONDocument = ["city": .string("c\(i % 10)")]
            if i % 2 == 1 { address.append("zip", .string("z\(i)")) }
            document.append("address", .document(address))
            if i % 3 == 0 { document.append("tags", .array([.string("t\(i)"), .string("u")])) }
            return document
        }
    }

    @Test(
        "new root, nested and array-element fields and new arrays, written during the change: only the new places are written, and the tables are a fresh load's",
        arguments: [true, false])
    func filled(keepExtra: Bool) async throws {
        try await Self.withLoadedScene(
            keepExtra: keepExtra, schema: Self.fillOldSchema, documents: Self.fillDocuments
        ) { scene, writer in
            let root = PostgresSQL.qualifiedName(schema: scene.targetSchema, "customers")
            let names = PostgresSQL.qualifiedName(schema: scene.targetSchema, "names")
            _ = try await Self.query("CREATE VIEW \(names) AS SELECT _id, name FROM \(root)")
            _ = try await Self.query("GRANT SELECT ON \(root) TO PUBLIC")
            _ = try await Self.query("CREATE INDEX customers_name ON \(root) (name)")
            let oid = try await Self.query("SELECT '\(root)'::regclass::oid::text")

            try Self.writeSchema(Self.fillNewSchema, scene)
            let writes = Task {
                for i in 0..<40 {
                    try await writer.insert(Self.fillDocuments((1000 + i)..<(1001 + i)))
                    try await writer.set(
                        Int32(i * 7 + 1), ["note": .string("changed \(i)"), "address.zip": .string("w")])
                    try await writer.set(Int32(i * 7 + 2), ["tags": .array([.string("new")])])
                    try await writer.delete(["_id": .int32(Int32(i * 7 + 3))])
                }
            }
            let run = try await Self.sync(scene, ["--json"])
            try await writes.value
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
            let change = try #require((summary["schema_changes"] as? [[String: Any]])?.first, "\(run.stdout)")
            #expect(
                Set(change["columns_added"] as? [String] ?? [])
                    == ["customers.note", "customers.address_zip", "customers_orders.qty"], "\(change)")
            #expect(
                Set(change["tables_created"] as? [String] ?? []) == ["customers_orders_lines", "customers_tags"],
                "\(change)")
            #expect(run.stderr.contains("wrote the new places"), "the quick way: \(run.stderr)")
            let compared = change["documents_compared"] as? Int ?? 0
            #expect(compared >= 300 - 40 && compared <= 300 + 40, "every document read once: \(change)")
            #expect((change["documents_converged"] as? Int ?? 0) > 0, "\(change)")
            #expect(try await scene.etlstatus("init-load-status").status == 0)

            let caughtUp = try await Self.sync(scene)
            #expect(caughtUp.status == 0, "\(caughtUp.stderr)")
            #expect(try await Self.query("SELECT '\(root)'::regclass::oid::text") == oid, "the root table is kept")
            #expect(
                try await Self.query("SELECT has_table_privilege('public', '\(root)', 'SELECT')::text") == [["true"]])
            #expect(
                try await Self.query(
                    "SELECT count(*)::text FROM pg_catalog.pg_indexes WHERE schemaname = '\(scene.targetSchema)' "
                        + "AND indexname = 'customers_name'") == [["1"]])
            #expect(try await Self.query("SELECT count(*)::text FROM \(names)") == [["\(300 + 40 - 40)"]])
            let inPlace = try await Self.contents(scene)
            #expect(inPlace == (try await Self.freshLoadContents(scene)))
        }
    }

    @Test(
        "new fields named with a quote, a backslash or a dot (whole documents read), kept in _extra before: the tables are a fresh load's"
    )
    func filledOddNames() async throws {
        let odd = #"it's\odd"#
        try await Self.withLoadedScene(
            keepExtra: true, count: 60, schema: Self.fillOldSchema,
            documents: { range in
                zip(range, Self.fillDocuments(range)).map { i, document in
                    var document = document
                    if i % 2 == 0 { document.append(odd, .string("odd \(i)")) }
                    if i % 3 == 0 { document.append("a.b", .int32(Int32(i))) }
                    if i % 5 == 0 { document.append("\(odd)x", .bool(true)) }
                    return document
                }
            }
        ) { scene, _ in
            let quotedOdd = #"it's\\odd"#
            try Self.writeSchema(
                #"{"_id": "int", "name": "string", "orders": [{"sku": "string"}], "address": {"city": "string"}, "#
                    + #""\#(quotedOdd)": "string"}"#, scene)
            let projected = try await Self.sync(scene)
            #expect(projected.status == 0, "\(projected.stderr)")
            #expect(projected.stderr.contains("wrote the new places"), "\(projected.stderr)")
            #expect(try await Self.contents(scene) == (try await Self.freshLoadContents(scene)))
            #expect(try await Self.sync(scene).status == 0)

            try Self.writeSchema(
                #"{"_id": "int", "name": "string", "orders": [{"sku": "string"}], "address": {"city": "string"}, "#
                    + #""\#(quotedOdd)": "string", "a.b": "int"}"#, scene)
            let whole = try await Self.sync(scene)
            #expect(whole.status == 0, "\(whole.stderr)")
            #expect(whole.stderr.contains("wrote the new places"), "\(whole.stderr)")
            #expect(try await Self.contents(scene) == (try await Self.freshLoadContents(scene)))
        }
    }

    @Test("killed while staging the new places, or at a random moment, a rerun finishes: the tables are a fresh load's")
    func killedDuringFill() async throws {
        try await Self.withLoadedScene(
            keepExtra: true, count: 3000, schema: Self.fillOldSchema, documents: Self.fillDocuments
        ) { scene, _ in
            try Self.writeSchema(Self.fillNewSchema, scene)
            try await Self.killTwiceThenRerun(scene, holdingAt: "fill-staged") {
                let tags = PostgresSQL.qualifiedName(schema: scene.targetSchema, "customers_tags")
                let staged = try await Self.query("SELECT count(*)::text FROM \(tags)")
                #expect(staged == [["0"]], "nothing of it committed")
            }
        }
    }
}
