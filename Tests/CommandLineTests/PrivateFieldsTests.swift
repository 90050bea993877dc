import Foundation
import MongoPG
import TestSupport
import Testing

/// Issue 21: fields that must not leave MongoDB. An init load, replays with and without verification and a repairing
/// verification of a collection with excluded and hashed fields (inside arrays too); then every output of every tool,
/// the CSV files, the state tables and the synced tables (pg_dump) are searched for the plain values.
@Suite("Excluded and hashed fields never reach PostgreSQL, a log or a report", .tags(.integration))
struct PrivateFieldsTests {
    static let keyVariable = "SYNC_TEST_HASH_KEY"
    static let keyText = "KEYTEXT-8f3a1c-never-printed"

    static let schema = """
        {"_id": "int", "name": "string", "ssn": {"exclude": true}, "email": {"hash": "text"},
         "profile": {"phone": {"hash": "bytea"}, "notes": {"exclude": true}, "city": "string"},
         "emails": [{"hash": "text"}], "cards": [{"number": {"hash": "text"}, "pin": {"exclude": true}, "brand": "string"}],
         "secrets": {"exclude": true}}
        """

    static func json(_ text: String) -> BSONDocument { try! BSONDocument(extendedJSON: text) }

    static let documents = [
        json(
            #"{"_id": 1, "name": "one", "ssn": "PLAIN-SSN-1", "email": "plain-mail-1@example.org", "profile": {"phone": "PLAIN-PHONE-1", "notes": "PLAIN-NOTES-1", "city": "Bern"}, "emails": ["plain-mail-1@example.org", "plain-other-1@example.org"], "cards": [{"number": "PLAIN-CARD-1", "pin": "PLAIN-PIN-1", "brand": "visa"}], "secrets": {"a": "PLAIN-SECRET-1"}}"#
        ),
        json(
            #"{"_id": 2, "name": "two", "ssn": "PLAIN-SSN-2", "email": "plain-mail-2@example.org", "profile": {"city": "Rome"}, "cards": [{"number": "PLAIN-CARD-2", "pin": "PLAIN-PIN-2"}, {"number": "PLAIN-CARD-3", "brand": "amex"}]}"#
        ),
        json(#"{"_id": 3, "name": "three", "email": 1, "profile": {"phone": "PLAIN-PHONE-3"}}"#),
    ]

    /// Every plain value the scene ever writes to MongoDB under an excluded or hashed field, and the key.
    static let secrets = [
        "PLAIN-SSN", "plain-mail", "plain-other", "PLAIN-PHONE", "PLAIN-NOTES", "PLAIN-CARD", "PLAIN-PIN",
        "PLAIN-SECRET", "PLAIN-PROFILE", keyText,
    ]

    var environment: [String: String] { [Self.keyVariable: Self.keyText] }

    @Test("init load, oplog-sync, oplog-sync --no-verify and verify --all --repair keep every private value out")
    func neverLeaves() async throws {
        try await InitLoadFixture.with(schema: Self.schema, documents: Self.documents) { scene in
            try Self.configure(scene)
            var outputs: [String] = []
            @discardableResult
            func run(_ tool: String, _ arguments: String..., expecting status: Int32 = 0) async throws
                -> Binaries.Outcome
            {
                let outcome = try await scene.run(
                    tool, ["--log-level", "debug"] + arguments, environment: environment)
                #expect(outcome.status == status, "\(tool) \(arguments): \(outcome.stdout) \(outcome.stderr)")
                outputs += [outcome.stdout, outcome.stderr]
                return outcome
            }
            let collection = scene.namespace.description
            try await run("etlstatus", "init-load-start")
            try await run("mongo-reader", "--collection", collection, "--csv-dir", scene.csvDirectory)
            try await run("psql-copy", "--collection", collection, "--csv-dir", scene.csvDirectory)
            try await run("etlstatus", "init-load-finish", "ok")

            let writer = OplogSyncFixture.Writer(
                session: try MongoSession(uri: try ServerEnvironment.shared.mongoURI()), namespace: scene.namespace)
            try await writer.set(
                1,
                ["ssn": .string("PLAIN-SSN-1b"), "email": .string("plain-mail-1b@example.org"), "name": .string("uno")])
            try await writer.set(
                2, ["profile.notes": .string("PLAIN-NOTES-2"), "cards.0.pin": .string("PLAIN-PIN-2b")])
            try await writer.insert([
                Self.json(
                    #"{"_id": 4, "name": "four", "ssn": "PLAIN-SSN-4", "email": "plain-mail-4@example.org", "emails": ["plain-mail-4@example.org"], "unknown": "kept"}"#
                )
            ])
            try await run("oplog-sync")
            try await writer.set(
                3, ["profile": .string("PLAIN-PROFILE-as-a-string"), "secrets": .string("PLAIN-SECRET-3")])
            try await writer.set(
                1, ["cards.0.number": .string("PLAIN-CARD-1b"), "emails.1": .string("plain-other-1b@example.org")])
            try await writer.set(4, ["name": .string("vier")])
            try await run("oplog-sync", "--no-verify")

            let plan = try Self.plan(scene)
            let root = plan.qualifiedName(plan.tables[0])
            let cards = plan.qualifiedName(plan.tables.first { $0.name.hasSuffix("_cards") }!)
            try await PostgresServer.withSession { session in
                try await session.execute("UPDATE \(root) SET email = NULL WHERE _id = 1", purpose: "test")
                try await session.execute("DELETE FROM \(cards) WHERE idx = 1", purpose: "test")
            }
            try await run("etlstatus", "verify", "--all", expecting: 3)
            try await run("etlstatus", "verify", "--all", "--repair")
            try await run("etlstatus", "verify", "--all", "--json")
            try await run("etlstatus", "runs", "--json")
            try await run("etlstatus", "metrics")
            // Inferred again, the schema keeps its private leaves: the sample differs by the unknown field alone.
            let inferred = try await run("mongo-schema", "--collection", collection)
            #expect(inferred.stdout.contains(#""ssn": {"exclude": true}"#), "\(inferred.stdout)")
            #expect(inferred.stdout.contains(#""phone": {"hash": "bytea"}"#), "\(inferred.stdout)")
            let diff = try await run("mongo-schema", "--collection", collection, "--diff", expecting: 3)
            #expect(!diff.stdout.contains("needs a load"), "\(diff.stdout)")
            try await OplogSyncFixture.expectTables(
                scene, plan: plan,
                hold: try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).findAll(scene.namespace))

            // The stored hash is HMAC-SHA-256 of the value under the key: equal values join across tables.
            let hashes = try await PostgresServer.withSession { session in
                try await session.query("SELECT email FROM \(root) WHERE _id = 4", purpose: "test").scalar
            }
            let expected = HMACSHA256.authenticationCode(
                for: try BSONEncoder.encode(["": .string("plain-mail-4@example.org")]), key: Array(Self.keyText.utf8))
            #expect(hashes == expected.map { String(format: "%02x", $0) }.joined())

            let places = [
                ("tool output", outputs.joined(separator: "\n")),
                ("CSV files", try Self.filesText(under: scene.csvDirectory)),
                ("pg_dump", try Self.dump(schemas: [scene.stateSchema, scene.targetSchema])),
            ]
            for (place, text) in places {
                for secret in Self.secrets { #expect(!text.contains(secret), "\(secret) is in the \(place)") }
            }
            #expect(places[2].1.contains("uno") && places[2].1.contains("kept"), "the dump holds the tables")
        }
    }

    @Test(
        "a schema that hashes without its key variable set is a configuration error (78) naming the variable, before and after a load"
    )
    func missingKey() async throws {
        try await InitLoadFixture.with(schema: Self.schema, documents: Self.documents) { scene in
            try Self.configure(scene)
            let collection = scene.namespace.description
            func expectRefused(_ tool: String, _ arguments: [String]) async throws {
                for environment in [[:], [Self.keyVariable: ""]] {
                    let outcome = try await scene.run(tool, arguments, environment: environment)
                    #expect(outcome.status == 78, "\(tool): \(outcome.stderr)")
                    #expect(
                        outcome.stderr.contains(Self.keyVariable) && outcome.stderr.contains("$.email"),
                        "\(tool): \(outcome.stderr)")
                }
            }
            try await expectRefused("mongo-reader", ["--collection", collection, "--csv-dir", scene.csvDirectory])
            for arguments in [
                ["etlstatus", "init-load-start"],
                ["mongo-reader", "--collection", collection, "--csv-dir", scene.csvDirectory],
                ["psql-copy", "--collection", collection, "--csv-dir", scene.csvDirectory],
                ["etlstatus", "init-load-finish", "ok"],
            ] {
                let outcome = try await scene.run(arguments[0], Array(arguments.dropFirst()), environment: environment)
                #expect(outcome.status == 0, "\(arguments): \(outcome.stderr)")
            }
            // Loaded, the tables' plan comes from the catalog: without the key it is still a configuration error.
            try await expectRefused("etlstatus", ["verify", "--all"])
            try await expectRefused("oplog-sync", [])
        }
    }

    /// `keep_extra` on (so that any leak into `_extra` would show) and the key variable named.
    static func configure(_ scene: InitLoadFixture) throws {
        let text = try String(contentsOfFile: scene.configPath, encoding: .utf8)
        try text.replacingOccurrences(
            of: "[sync]\n", with: "[sync]\nkeep_extra = true\nhash_key_env = \(keyVariable)\n"
        )
        .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
    }

    static func plan(_ scene: InitLoadFixture) throws -> TablePlan {
        try SchemaFile(
            namespace: scene.namespace, schemasDirectory: scene.directory.appendingPathComponent("schemas").path,
            settings: FlattenSettings(
                keepExtra: true, targetSchema: scene.targetSchema, hashKeyVariable: keyVariable,
                hashKey: HashKey(keyText))
        ).plan
    }

    static func filesText(under folder: String) throws -> String {
        let files = FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? []
        return files.compactMap { FileManager.default.contents(atPath: folder + "/" + $0) }
            .map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
    }

    /// pg_dump of the schemas, data included.
    static func dump(schemas: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["pg_dump", "--dbname", try ServerEnvironment.shared.postgresURI()] + schemas.map { "--schema=\($0)" }
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = ServerEnvironment.shared.values["PGPASSWORD"]
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }
}
