import Foundation
import MongoPG
import TestSupport
import Testing

/// What the oplog-sync scenes share (`OplogSyncTests`, `OplogFollowTests`, `OplogPipelineTests`, `ChangeStreamSyncTests`
/// and others): a schema and documents of every shape, a writer of MongoDB changes, oplog entries written to files,
/// python scripts for what only a full driver sends, and checks of what the tables hold.
enum OplogSyncFixture {
    /// Nested objects, arrays of scalars and of objects (with an array inside), an array of arrays, json.
    static let schema = """
        {"_id": "int", "name": "string", "address": {"city": "string", "zip": "string"}, "tags": ["string"],
         "items": [{"sku": "string", "qty": "int", "notes": ["string"]}], "matrix": [["int"]], "meta": "json",
         "score": "double"}
        """

    static func json(_ text: String) -> BSONDocument { try! BSONDocument(extendedJSON: text) }

    static let documents: [BSONDocument] = [
        json(
            #"{"_id": 1, "name": "one", "address": {"city": "Oslo", "zip": "0150"}, "tags": ["a", "b"], "items": [{"sku": "x", "qty": 1, "notes": ["n1"]}], "matrix": [[1, 2], [3]], "meta": {"k": 1}, "score": 1.5}"#
        ),
        json(#"{"_id": 2, "name": "two", "tags": [], "items": [{"sku": "y", "qty": 2}, {"sku": "z", "qty": 3}]}"#),
        json(#"{"_id": 3, "name": "three", "address": {"city": "Rome"}}"#),
        json(#"{"_id": 4, "name": "four", "matrix": [[4]]}"#),
    ]

    static func sync(_ scene: InitLoadFixture, _ arguments: [String] = []) async throws -> Binaries.Outcome {
        let outcome = try await scene.run("oplog-sync", arguments)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        return outcome
    }

    /// The tables hold exactly MongoDB's documents, as the relational model gives them back (`normalise`).
    static func expectInSync(_ scene: InitLoadFixture, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let mongo = try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).findAll(scene.namespace)
        try await expectTables(scene, hold: mongo, sourceLocation: sourceLocation)
    }

    struct Writer {
        let session: MongoSession
        let namespace: Namespace

        func command(_ command: BSONDocument) async throws {
            let reply = try await session.runCommand(command, database: namespace.database)
            #expect(reply["writeErrors"] == nil, "\(reply)")
        }
        func update(_ filter: BSONDocument, _ update: BSONValue, multi: Bool = false) async throws {
            try await command([
                "update": .string(namespace.collection),
                "updates": .array([.document(["q": .document(filter), "u": update, "multi": .bool(multi)])]),
            ])
        }
        func set(_ id: Int32, _ fields: BSONDocument) async throws {
            try await update(["_id": .int32(id)], .document(["$set": .document(fields)]))
        }
        func insert(_ documents: [BSONDocument]) async throws { try await session.insert(documents, into: namespace) }
        func delete(_ filter: BSONDocument, limit: Int32 = 1) async throws {
            try await command([
                "delete": .string(namespace.collection),
                "deletes": .array([.document(["q": .document(filter), "limit": .int32(limit)])]),
            ])
        }

        /// Six random writes of round `round`: inserts (of ids after `nextID`, which moves on), pushes to growing
        /// arrays, nested sets and deletes, of the fixture's documents and those inserted.
        func randomBurst(round: Int, nextID: inout Int32, using random: inout SeededRandom) async throws {
            for _ in 0..<6 {
                switch Int.random(in: 0..<4, using: &random) {
                case 0:
                    nextID += 1
                    try await insert([
                        ["_id": .int32(nextID), "name": .string("r\(round)"), "tags": .array([.string("a")])]
                    ])
                case 1:
                    try await update(
                        ["_id": .int32(Int32.random(in: 1...nextID, using: &random))],
                        .document([
                            "$push": .document(["tags": .string("p\(round)")]),
                            "$inc": .document(["score": .double(1)]),
                        ]))
                case 2:
                    try await set(
                        Int32.random(in: 1...4, using: &random), ["address.city": .string("c\(round)")])
                default: try await delete(["_id": .int32(Int32.random(in: 5...nextID, using: &random))])
                }
            }
        }
    }

    /// Runs a pymongo script (the project's .venv, which scripts/setup makes) with the MongoDB URI, database and
    /// collection as `uri`, `db` and `coll`: for writes only a full driver sends, such as transactions.
    static func pymongo(_ script: String, _ scene: InitLoadFixture) async throws {
        try await python(script, uri: try ServerEnvironment.shared.mongoURI(), scene.namespace)
    }

    /// Runs a pymongo script with `uri`, `db` and `coll` set, against the server at `uri`.
    static func python(_ script: String, uri: String, _ namespace: Namespace) async throws {
        try await runPython([
            "-c", "import sys, pymongo\nuri, db, coll = sys.argv[1:4]\n" + script, uri, namespace.database,
            namespace.collection,
        ])
    }

    /// Runs the project's .venv python with `arguments`; it must exit 0 (its stderr is the failure's message).
    static func runPython(_ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = ServerEnvironment.packageRoot.appendingPathComponent(".venv/bin/python")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(message)")
    }

    static func entry(_ seconds: Int, _ body: String) -> BSONDocument {
        json(#"{"ts": {"$timestamp": {"t": \#(seconds), "i": 1}}, "#.appending(body.dropFirst()))
    }

    static func writeEntries(_ entries: [BSONDocument], to url: URL) throws {
        try Data(try entries.flatMap { try BSONEncoder.encode($0) }).write(to: url)
    }

    /// The tables hold exactly `documents`, as the relational model gives them back.
    static func expectTables(
        _ scene: InitLoadFixture, plan: TablePlan? = nil, hold documents: [BSONDocument],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let (stored, expected) = try await tableContents(scene, documents, plan: plan)
        #expect(stored == expected, sourceLocation: sourceLocation)
    }

    /// The documents the scene's tables give back and `documents` as the relational model keeps them, both in `_id`
    /// order. The tables are read in one snapshot: a following run may commit between two tables' reads. `plan`:
    /// the scene's own when nil.
    static func tableContents(_ scene: InitLoadFixture, _ documents: [BSONDocument], plan: TablePlan? = nil)
        async throws -> (stored: [BSONDocument], expected: [BSONDocument])
    {
        let plan = try plan ?? scene.plan()
        let expected = try documents.map { try normalise($0, plan: plan) }
        let stored = try await scene.withPostgres { session in
            try await session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", purpose: "test")
            let stored = try await StoredDocuments.all(plan: plan, session: session)
            try await session.execute("COMMIT", purpose: "test")
            return stored
        }
        let byID = { (documents: [BSONDocument]) in
            documents.sorted { "\($0["_id"] ?? .null)" < "\($1["_id"] ?? .null)" }
        }
        return (byID(Array(stored.values)), byID(expected))
    }

    /// The scene's documents loaded from a dump file, with no oplog position: what `--from-file` replays onto.
    static func loadFromDump(_ scene: InitLoadFixture) async throws {
        let dump = scene.directory.appendingPathComponent("dump.bson")
        try writeEntries(documents, to: dump)
        #expect(try await scene.read(["--input-file", dump.path]).status == 0)
        #expect(try await scene.copy().status == 0)
    }

    /// `documents` loaded from a dump (`loadFromDump`) with `schema`, and `batch_size` set when given, for
    /// replays of files.
    static func withLoadedDump(batchSize: Int? = nil, _ body: (InitLoadFixture) async throws -> Void) async throws {
        try await InitLoadFixture.with(batchSize: batchSize, schema: schema, documents: documents) { scene in
            try await loadFromDump(scene)
            try await body(scene)
        }
    }

    /// Where each row lies (its ctid), by table name, then by its key cells joined with commas ("1,0").
    static func rowLocations(_ scene: InitLoadFixture) async throws -> [String: [String: String]] {
        let plan = try scene.plan()
        return try await PostgresServer.withSession { session in
            var rows: [String: [String: String]] = [:]
            for table in plan.tables {
                let key = table.keyColumns.map { Identifier.quoted($0.name) + "::text" }.joined(separator: ", ")
                let located = try await session.query(
                    "SELECT concat_ws(',', \(key)), ctid::text FROM \(plan.qualifiedName(table))", purpose: "test"
                ).rows
                rows[table.name] = Dictionary(uniqueKeysWithValues: located.map { ($0[0] ?? "", $0[1] ?? "") })
            }
            return rows
        }
    }
}
