import Foundation
import MongoPG
import TestSupport
import Testing

/// The init load through the real binaries against the real servers.
@Suite("Init load: mongo-reader, psql-copy, etlstatus", .tags(.integration))
struct InitLoadTests {
    @Test("the init-load life cycle through etlstatus answers in exit codes")
    func lifeCycle() async throws {
        try await InitLoadFixture.with(documentCount: 50) { scene in
            var status = try await scene.etlstatus("init-load-status")
            #expect(status.status == 1)
            #expect(status.stderr.contains("never loaded"))

            #expect(try await scene.etlstatus("init-load-start").status == 0)
            #expect(try await scene.etlstatus("init-load-finish", "error").status == 0)
            status = try await scene.etlstatus("init-load-status")
            #expect(status.status == 1)
            #expect(status.stderr.contains("failed"))

            let started = try await scene.etlstatus("init-load-start", "--json")
            #expect(started.status == 0)
            #expect(started.stdout.contains("\"positions\""))
            #expect(try await scene.etlstatus("init-load-status").stderr.contains("still running"))
            #expect(try await scene.read().status == 0)
            #expect(try await scene.copy().status == 0)
            #expect(try await scene.etlstatus("init-load-finish", "ok").status == 0)
            status = try await scene.etlstatus("init-load-status", "--json")
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains("\"needed\":false"))

            // Editing the schema file makes a new init load needed, naming the collection.
            try (try String(contentsOfFile: scene.schemaPath, encoding: .utf8)).replacingOccurrences(
                of: "\"email\": \"string\",", with: ""
            )
            .write(toFile: scene.schemaPath, atomically: true, encoding: .utf8)
            status = try await scene.etlstatus("init-load-status")
            #expect(status.status == 1)
            #expect(status.stderr.contains("schema changed for \(scene.namespace)"))

            // A state schema migrated by a newer release is refused.
            let session = try await PostgresServer.session()
            try await session.execute(
                "UPDATE \(PostgresSQL.quoteIdentifier(scene.stateSchema)).schema_version SET version = 999",
                purpose: "test")
            await session.close()
            status = try await scene.etlstatus("init-load-status")
            #expect(status.status == 78)
            #expect(status.stderr.contains("newer"))
        }
    }

    @Test(
        "a load from the server and one from a .bson dump give identical tables, and every document rebuilds from its rows"
    )
    func serverAndDumpAgree() async throws {
        try await InitLoadFixture.with { scene in
            let read = try await scene.read(["--jobs", "3", "--json"])
            #expect(read.status == 0, "\(read.stderr)")
            #expect(read.stdout.contains("\"documents\":\(scene.documents.count)"))
            let copied = try await scene.copy()
            #expect(copied.status == 0, "\(copied.stderr)")

            let session = try await PostgresServer.session()
            let fromServer = try await scene.tableContents(session)
            let plan = try scene.plan()
            #expect(fromServer[plan.rootTable.name]?.count == scene.documents.count)
            let accountRows = scene.documents.reduce(0) { total, document in
                if case .array(let accounts) = document["accounts"] { return total + accounts.count }
                return total
            }
            #expect(fromServer["customers_accounts"]?.count == accountRows)

            // Every stored document rebuilds to its source as the relational model keeps it.
            let stored = try await StoredDocuments.all(plan: plan, session: session)
            #expect(stored.count == scene.documents.count)
            for document in scene.documents {
                guard case .objectID(let id) = document["_id"] else {
                    Issue.record("sample _id is not an ObjectId")
                    continue
                }
                #expect(stored[id.hex] == (try normalise(document, plan: plan)), "document \(id.hex)")
            }

            // The same documents from a mongodump-style .bson file load the same tables.
            let dump = scene.directory.appendingPathComponent("customers.bson")
            _ = FileManager.default.createFile(
                atPath: dump.path, contents: Data(try scene.documents.flatMap { try BSONEncoder.encode($0) }))
            let fromFile = try await scene.read(["--input-file", dump.path])
            #expect(fromFile.status == 0, "\(fromFile.stderr)")
            #expect(try await scene.copy().status == 0)
            #expect(try await scene.tableContents(session) == fromServer)

            // Both reads and both loads are in the run ledger, with their figures.
            let ledger = try await session.query(
                """
                SELECT tool, status, (SELECT sum((s->>'documents')::int) FROM jsonb_array_elements(steps) s) AS documents
                FROM \(PostgresSQL.qualifiedName(schema: scene.stateSchema, "runs")) WHERE tool IN ('mongo-reader', 'psql-copy') ORDER BY id
                """, purpose: "read the ledger")
            #expect(ledger.column("tool") == ["mongo-reader", "psql-copy", "mongo-reader", "psql-copy"])
            #expect(ledger.column("status") == ["ok", "ok", "ok", "ok"])
            #expect(ledger.column("documents")?[0] == String(scene.documents.count))
            await session.close()
        }
    }

    @Test("two partitioned workers load exactly what one worker loads")
    func partitionedWorkers() async throws {
        try await InitLoadFixture.with { scene in
            #expect(try await scene.read().status == 0)
            #expect(try await scene.copy().status == 0)
            let session = try await PostgresServer.session()
            let single = try await scene.tableContents(session)

            // Without a running init load the workers could not agree on split points: refused.
            #expect(try await scene.read(["--partition", "1/2"]).status == 64)
            #expect(try await scene.etlstatus("init-load-start").status == 0)
            try FileManager.default.removeItem(atPath: scene.collectionFolder.path)
            async let first = Task.detached { try await scene.read(["--partition", "1/2", "--jobs", "2"]) }.value
            async let second = Task.detached { try await scene.read(["--partition", "2/2", "--jobs", "2"]) }.value
            let outcomes = try await [first, second]
            #expect(outcomes.map(\.status) == [0, 0], "\(outcomes.map(\.stderr))")
            let manifests = try FileManager.default.contentsOfDirectory(atPath: scene.collectionFolder.path).filter {
                $0.hasPrefix("manifest")
            }.sorted()
            #expect(manifests == ["manifest.part-1-of-2.json", "manifest.part-2-of-2.json"])
            let copied = try await scene.copy()
            #expect(copied.status == 0, "\(copied.stderr)")
            #expect(try await scene.tableContents(session) == single)
            await session.close()
        }
    }

    @Test("psql-copy refuses a folder until every partition's worker has finished")
    func missingPartition() async throws {
        try await InitLoadFixture.with(documentCount: 20) { scene in
            #expect(try await scene.etlstatus("init-load-start").status == 0)
            #expect(try await scene.read(["--partition", "1/2"]).status == 0)
            let copied = try await scene.copy()
            #expect(copied.status == 65)
            #expect(copied.stderr.contains("not all 2"))
        }
    }
}

@Suite("Init load failures: each gives its exit code and a one-line reason", .tags(.integration))
struct InitLoadFailureTests {
    /// Reads and loads `scene`, so failures can also be checked to leave the live tables as they were; answers the
    /// loaded tables.
    static func load(_ scene: InitLoadFixture) async throws -> [String: [[String?]]] {
        #expect(try await scene.read().status == 0)
        #expect(try await scene.copy().status == 0)
        return try await liveTables(scene)
    }

    static func liveTables(_ scene: InitLoadFixture) async throws -> [String: [[String?]]] {
        try await PostgresServer.withSession { session in try await scene.tableContents(session) }
    }

    static func partFile(_ scene: InitLoadFixture) throws -> URL {
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: scene.collectionFolder.path).sorted().first {
                $0.hasSuffix(".tsv")
            })
        return scene.collectionFolder.appendingPathComponent(name)
    }

    /// Flips one byte of the first part: same size, same rows, other bytes, so the manifest check passes and only
    /// the checksum of what COPY streams can tell.
    static func corruptFirstPart(_ scene: InitLoadFixture) throws {
        let part = try partFile(scene)
        var bytes = try Data(contentsOf: part)
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: part)
    }

    @Test("a corrupt CSV part (same size, other bytes) fails the load before the swap (65), caught as it streams")
    func corruptPart() async throws {
        try await InitLoadFixture.with(documentCount: 40) { scene in
            let before = try await Self.load(scene)
            #expect(try await scene.read().status == 0)
            try Self.corruptFirstPart(scene)
            let outcome = try await scene.copy()
            #expect(outcome.status == 65)
            #expect(outcome.stderr.contains("does not match the manifest"))
            #expect(outcome.stderr.split(separator: "\n").count == 1 || outcome.stderr.contains("psql-copy:"))
            #expect(try await Self.liveTables(scene) == before)
        }
    }

    @Test("an edited manifest is caught (65) and the live tables stay")
    func editedManifest() async throws {
        try await InitLoadFixture.with(documentCount: 40) { scene in
            let before = try await Self.load(scene)
            let manifest = scene.collectionFolder.appendingPathComponent("manifest.json")
            let text = try String(contentsOf: manifest, encoding: .utf8)
            let edited = text.replacingOccurrences(
                of: "\"rows\" : \(scene.documents.count)", with: "\"rows\" : \(scene.documents.count + 1)")
            #expect(edited != text)
            try edited.write(to: manifest, atomically: true, encoding: .utf8)
            let outcome = try await scene.copy()
            #expect(outcome.status == 65, "\(outcome.stderr)")
            #expect(try await Self.liveTables(scene) == before)
        }
    }

    @Test("a missing schema file is a configuration error naming it and suggesting mongo-schema (78)")
    func missingSchema() async throws {
        try await InitLoadFixture.with(documentCount: 5) { scene in
            try FileManager.default.removeItem(atPath: scene.schemaPath)
            let outcome = try await scene.read()
            #expect(outcome.status == 78)
            #expect(outcome.stderr.contains(scene.schemaPath))
            #expect(outcome.stderr.contains("mongo-schema"))
        }
    }

    @Test("[sync] batch_size sets mongo-reader's batches, from the server and from a dump file alike")
    func batchSize() async throws {
        try await InitLoadFixture.with(documentCount: 50, batchSize: 20) { scene in
            /// The document counts of the batches flattened, from the debug log on stderr.
            func batches(_ outcome: Binaries.Outcome) -> [String] {
                outcome.stderr.split(separator: "\n").filter { $0.contains("batch flattened") }.compactMap { line in
                    line.split(separator: " ").first { $0.hasPrefix("documents=") }.map(String.init)
                }
            }
            let fromServer = try await scene.read(["--log-level", "debug"])
            #expect(fromServer.status == 0, "\(fromServer.stderr)")
            #expect(batches(fromServer) == ["documents=20", "documents=20", "documents=10"], "\(fromServer.stderr)")

            let dump = scene.directory.appendingPathComponent("customers.bson")
            try Data(try scene.documents.flatMap { try BSONEncoder.encode($0) }).write(to: dump)
            let fromFile = try await scene.read(["--log-level", "debug", "--input-file", dump.path, "--jobs", "1"])
            #expect(fromFile.status == 0, "\(fromFile.stderr)")
            #expect(batches(fromFile) == ["documents=20", "documents=20", "documents=10"], "\(fromFile.stderr)")

        }
    }

    @Test("unreachable PostgreSQL is exit 69, and the password never shows")
    func deadPostgres() async throws {
        try await withDeadLoopbackPort { port in
            try await InitLoadFixture.with(
                postgresConninfo: "postgresql://sync@127.0.0.1:\(port)/postgres?connect_timeout=3", documentCount: 5
            ) { scene in
                let read = try await scene.read()
                #expect(read.status == 0, "mongo-reader needs no PostgreSQL")
                #expect(read.stderr.contains("not recorded in the run ledger"))
                let outcome = try await scene.copy()
                #expect(outcome.status == 69)
                let password = scene.environment["SYNC_TEST_PGPASSWORD"] ?? ""
                #expect(password.isEmpty || !outcome.stderr.contains(password))
                #expect(try await scene.etlstatus("init-load-status").status == 69)
            }
        }
    }

    @Test("a state schema of a newer release is a configuration error (78) for every tool, mongo-reader included")
    func newerStateSchema() async throws {
        try await InitLoadFixture.with(documentCount: 5) { scene in
            #expect(try await scene.read().status == 0)  // creates the state schema, and parts for psql-copy
            try await PostgresServer.withSession { session in
                try await session.execute(
                    "UPDATE \(PostgresSQL.quoteIdentifier(scene.stateSchema)).schema_version SET version = 99",
                    purpose: "test")
            }
            for outcome in [
                try await scene.read(), try await scene.copy(), try await scene.etlstatus("init-load-status"),
            ] {
                #expect(outcome.status == 78, "\(outcome.stderr)")
                #expect(outcome.stderr.contains("version 99"), "\(outcome.stderr)")
                #expect(!outcome.stderr.contains("out of reach"))
            }
            // Refused before the folder was touched: the earlier read's manifest is still there.
            #expect(
                FileManager.default.fileExists(
                    atPath: scene.collectionFolder.appendingPathComponent("manifest.json").path))
        }
    }

    @Test("unreachable MongoDB is exit 69 and leaves no manifest")
    func deadMongo() async throws {
        try await withDeadLoopbackPort { port in
            try await InitLoadFixture.with(
                mongoURI: "mongodb://127.0.0.1:\(port)/?serverSelectionTimeoutMS=1000", documentCount: 5
            ) { scene in
                let outcome = try await scene.read()
                #expect(outcome.status == 69, "\(outcome.stderr)")
                #expect(
                    !FileManager.default.fileExists(
                        atPath: scene.collectionFolder.appendingPathComponent("manifest.json").path))
                #expect(try await scene.etlstatus("init-load-start").status == 69)
            }
        }
    }

    @Test(
        "psql-copy killed during COPY or just before the swap leaves the old tables; a rerun loads the new ones, no duplicates",
        arguments: ["copy", "swap"])
    func killed(point: String) async throws {
        try await InitLoadFixture.with(documentCount: 40) { scene in
            let before = try await Self.load(scene)
            // New data in MongoDB, read into a new folder, then a load killed at `point`.
            try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).insert(
                [
                    [
                        "_id": .objectID(ObjectID(hex: "000000000000000000000001")!), "name": .string("new"),
                        "accounts": .array([.int32(1), .int32(2)]),
                    ]
                ],
                into: scene.namespace)
            #expect(try await scene.read().status == 0)
            let process = Process()
            process.executableURL = Binaries.url("psql-copy")
            process.arguments = [
                "--config", scene.configPath, "--collection", scene.namespace.description, "--csv-dir",
                scene.csvDirectory, "--jobs", "1",
            ]
            process.environment = ProcessInfo.processInfo.environment.merging(
                scene.environment.merging(["MONGO_PG_SYNC_HOLD_AT": point]) { _, new in new }
            ) { _, new in new }
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("holding at \(point)") {
                let chunk = errors.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen.append(chunk)
            }
            #expect(String(decoding: seen, as: UTF8.self).contains("holding at \(point)"))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            #expect(try await Self.liveTables(scene) == before, "killed at \(point): the old tables, complete")

            let rerun = try await scene.copy()
            #expect(rerun.status == 0, "\(rerun.stderr)")
            let after = try await Self.liveTables(scene)
            #expect(after["customers"]?.count == (before["customers"]?.count ?? 0) + 1)
            #expect(after["customers_accounts"]?.count == (before["customers_accounts"]?.count ?? 0) + 2)
            let session = try await PostgresServer.session()
            let leftovers = try await session.query(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", parameters: [scene.stateSchema + "_load_%"],
                purpose: "test"
            ).scalar
            #expect(leftovers == "0", "the staging schema is gone after a successful rerun")
            await session.close()
        }
    }
}
