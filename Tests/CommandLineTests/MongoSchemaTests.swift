import Foundation
import MongoPG
import TestSupport
import Testing

/// The schema `mongo-schema` printed, loaded back through the schema loader and compiled into tables.
private func loadedBack(_ outcome: Binaries.Outcome, namespace: Namespace) throws -> TablePlan {
    #expect(outcome.status == 0, "\(outcome.stderr)")
    return try TablePlan(schema: CollectionSchema(namespace: namespace, jsonText: outcome.stdout))
}

private let customersFile = Fixtures.url("sample_analytics/customers.json").path
private let customersSchema = Fixtures.url("schemas/sample_analytics.customers.json")

@Suite("mongo-schema from files")
struct MongoSchemaFileTests {
    let namespace = Namespace(database: "sample_analytics", collection: "customers")

    @Test(
        "an Extended JSON file and the same documents as a .bson dump give the committed customers schema, no config needed"
    )
    func fromFiles() async throws {
        let fromJSON = try await Binaries.run(
            "mongo-schema", ["--collection", "\(namespace)", "--input-file", customersFile])
        let plan = try loadedBack(fromJSON, namespace: namespace)
        #expect(plan.tables.map(\.name) == ["customers", "customers_accounts"])
        #expect(plan.schema.fields.last == SchemaField("tier_and_details", .scalar(.json)))
        #expect(fromJSON.stdout == (try String(contentsOf: customersSchema, encoding: .utf8)))
        let report = fromJSON.stderr.split(separator: "\n").first { $0.contains("$.tier_and_details") }
        #expect(report?.contains("-> json (dynamic keys") == true, "\(fromJSON.stderr)")
        #expect(fromJSON.stderr.contains("500 documents"))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mongo-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // No extension: the format is detected from the content.
        let dump = directory.appendingPathComponent("customers-dump")
        let documents = try SchemaFixtures.documents("sample_analytics/customers.json")
        try Data(try documents.flatMap { try BSONEncoder.encode($0) }).write(to: dump)
        let fromDump = try await Binaries.run(
            "mongo-schema", ["--collection", "\(namespace)", "--input-file", dump.path])
        #expect(fromDump.status == 0, "\(fromDump.stderr)")
        #expect(fromDump.stdout == fromJSON.stdout)
    }

    @Test("--sample takes the first documents of a file; --json prints the report with the schema's text")
    func sampleAndJSON() async throws {
        let outcome = try await Binaries.run(
            "mongo-schema", ["--collection", "\(namespace)", "--input-file", customersFile, "--sample", "2", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(object["documents"] as? Int == 2)
        let schemaText = try #require(object["schema"] as? String)
        let plan = try TablePlan(schema: CollectionSchema(namespace: namespace, jsonText: schemaText))
        #expect(plan.schema.fields.map(\.name).contains("tier_and_details"))
        let fields = try #require(object["fields"] as? [[String: Any]])
        let tier = try #require(fields.first { $0["path"] as? String == "$.tier_and_details" })
        #expect(tier["schema_type"] as? String == "json")
        #expect(!outcome.stderr.contains("$.username"), "the human report is not repeated on stderr")
    }

    @Test("a missing file is 74, a corrupt one 65 naming its line, a bad --sample 64")
    func badInput() async throws {
        let missing = try await Binaries.run(
            "mongo-schema", ["--collection", "\(namespace)", "--input-file", "/nonexistent/c.json"])
        #expect(missing.status == 74)
        #expect(missing.stdout.isEmpty)

        let corrupt = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mongo-schema-\(UUID().uuidString).json")
        try "{\"_id\": 1}\n{\"_id\": \n".write(to: corrupt, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: corrupt) }
        let bad = try await Binaries.run(
            "mongo-schema", ["--collection", "\(namespace)", "--input-file", corrupt.path])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("line 2"))
        #expect(bad.stdout.isEmpty)

        let usage = try await Binaries.run(
            "mongo-schema", ["--collection", "\(namespace)", "--input-file", customersFile, "--sample", "0"])
        #expect(usage.status == 64)
    }
}

@Suite("mongo-schema from the server", .tags(.integration))
struct MongoSchemaServerTests {
    @Test("a full scan and a $sample of the live collection load back and name tier_and_details json")
    func fromServer() async throws {
        try await InitLoadFixture.with { scene in
            let scan = try await scene.run("mongo-schema", ["--collection", scene.namespace.description])
            let plan = try loadedBack(scan, namespace: scene.namespace)
            #expect(plan.tables.map(\.name) == ["customers", "customers_accounts"])
            #expect(
                scan.stdout == (try String(contentsOfFile: scene.schemaPath, encoding: .utf8)), "the committed schema")
            #expect(scan.stderr.contains("\(scene.documents.count) documents"))

            let sample = try await scene.run(
                "mongo-schema", ["--collection", scene.namespace.description, "--sample", "20"])
            let sampled = try loadedBack(sample, namespace: scene.namespace)
            #expect(sampled.schema.fields.first { $0.name == "tier_and_details" }?.node == .scalar(.json))
            #expect(sample.stderr.contains("20 documents"))

            let empty = try await scene.run("mongo-schema", ["--collection", "\(scene.namespace.database).nothing"])
            #expect(empty.status == 65)
            #expect(empty.stderr.contains("no documents"))
        }
    }

    @Test("libmongoc's own log lines reach stderr through swift-log at the chosen level, never stdout")
    func mongocLog() async throws {
        // libmongoc logs a warning for a URI option it does not know, and accepts the URI. (A URI it refuses, such
        // as one with port 99999999, logs nothing: its detail joins the tool's one error line, see HostileInputTests.)
        try await withDeadLoopbackPort { port in
            let uri = "mongodb://127.0.0.1:\(port)/?notAnOption=1&serverSelectionTimeoutMS=500&connectTimeoutMS=500"
            try await InitLoadFixture.with(mongoURI: uri, documentCount: 1) { scene in
                let arguments = ["--collection", scene.namespace.description, "--json"]
                let outcome = try await scene.run("mongo-schema", arguments)
                #expect(outcome.status == 69, "\(outcome.stderr)")
                #expect(outcome.stdout.isEmpty)
                let line = outcome.stderr.split(separator: "\n").first { $0.contains("notanoption") }
                #expect(line?.contains("warning sync.mongoc") == true, "\(outcome.stderr)")

                let quiet = try await scene.run("mongo-schema", arguments + ["--log-level", "critical"])
                #expect(quiet.status == 69 && quiet.stdout.isEmpty)
                #expect(!quiet.stderr.contains("notanoption"), "\(quiet.stderr)")
            }
        }
    }

    @Test("unreachable MongoDB is exit 69 with nothing on stdout")
    func deadServer() async throws {
        try await withDeadLoopbackPort { port in
            try await InitLoadFixture.with(
                mongoURI: "mongodb://127.0.0.1:\(port)/?serverSelectionTimeoutMS=1000", documentCount: 5
            ) { scene in
                let outcome = try await scene.run("mongo-schema", ["--collection", scene.namespace.description])
                #expect(outcome.status == 69, "\(outcome.stderr)")
                #expect(outcome.stdout.isEmpty)
                #expect(outcome.stderr.contains("MongoDB"))
            }
        }
    }
}
