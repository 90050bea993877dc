import Foundation
import MongoPG
import TestSupport
import Testing

/// `psql-copy --follow-reader` beside a running `mongo-reader`, both as real binaries.
@Suite("Init load with psql-copy following mongo-reader", .tags(.integration))
struct FollowReaderTests {
    /// Small parts, so that a few hundred documents make many of them and the follower sees them appear.
    static let smallParts = ["--part-bytes", "4000"]

    /// A binary started in the background; `finish` waits for it and collects its outcome.
    final class Running: @unchecked Sendable {  // the Process and pipes are touched by one test at a time
        let process = Process()
        private let errors = Pipe(), output = Pipe()

        init(_ tool: String, _ arguments: [String], scene: InitLoadFixture, environment: [String: String] = [:]) throws
        {
            process.executableURL = Binaries.url(tool)
            process.arguments = ["--config", scene.configPath] + arguments
            process.environment = ProcessInfo.processInfo.environment
                .merging(scene.environment.merging(environment) { _, new in new }) { _, new in new }
            process.standardError = errors
            process.standardOutput = output
            try process.run()
        }

        /// Reads stderr until `text` shows (or the stream ends); what was read is kept for `finish`.
        private var seen = Data()
        func waitForStderr(_ text: String) -> Bool {
            while !String(decoding: seen, as: UTF8.self).contains(text) {
                let chunk = errors.fileHandleForReading.availableData
                if chunk.isEmpty { return false }
                seen.append(chunk)
            }
            return true
        }

        struct Outcome {
            var status: Int32
            var stdout: String
            var stderr: String
        }

        func finish() -> Outcome {
            let rest = errors.fileHandleForReading.readDataToEndOfFile()
            let out = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Outcome(
                status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                stderr: String(decoding: seen + rest, as: UTF8.self))
        }
    }

    func startFollower(_ scene: InitLoadFixture, _ extra: [String] = []) throws -> Running {
        try Running(
            "psql-copy",
            [
                "--collection", scene.namespace.description, "--csv-dir", scene.csvDirectory,
                "--follow-reader", "--wait-seconds", "60",
            ] + extra, scene: scene)
    }

    @Test("following the reader loads the same tables as a plain load, whichever of the two starts first")
    func sameTables() async throws {
        try await InitLoadFixture.with(documentCount: 500) { scene in
            let plain = try await InitLoadFailureTests.load(scene)
            let session = try await PostgresServer.session()
            try await session.execute(
                "DROP SCHEMA \(PostgresSQL.quoteIdentifier(scene.targetSchema)) CASCADE", purpose: "test")

            // Reader first, then the follower.
            let reader = try Running(
                "mongo-reader",
                ["--collection", scene.namespace.description, "--csv-dir", scene.csvDirectory] + Self.smallParts,
                scene: scene)
            let follower = try startFollower(scene, ["--json"])
            let (read, copied) = (reader.finish(), follower.finish())
            #expect(read.status == 0, "\(read.stderr)")
            #expect(copied.status == 0, "\(copied.stderr)")
            #expect(copied.stdout.contains("\"documents\":\(scene.documents.count)"))
            let manifest = try Manifest.read(from: scene.collectionFolder)
            #expect(manifest.tables.allSatisfy { $0.parts.count > 1 }, "small parts rotate")
            #expect(try await scene.tableContents(session) == plain)

            // The follower first: the folder's read was loaded, so it waits for the next reader rather than reloading.
            try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).insert(
                [["_id": .objectID(ObjectID(hex: "000000000000000000000002")!), "name": .string("late")]],
                into: scene.namespace)
            let early = try startFollower(scene)
            try await Task.sleep(for: .seconds(1))
            #expect(try await scene.read(Self.smallParts).status == 0)
            let second = early.finish()
            #expect(second.status == 0, "\(second.stderr)")
            let after = try await scene.tableContents(session)
            #expect(after["customers"]?.count == scene.documents.count + 1)
            #expect(after["customers_accounts"] == plain["customers_accounts"])
            let leftovers = try await session.query(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", parameters: [scene.stateSchema + "_load_%"],
                purpose: "test"
            ).scalar
            #expect(leftovers == "0", "the staging schema is gone")
            await session.close()
        }
    }

    @Test("a reader failing mid-way stops the follower with the reader's reason and status (65); live tables intact")
    func readerFails() async throws {
        try await InitLoadFixture.with(documentCount: 300) { scene in
            let before = try await InitLoadFailureTests.load(scene)
            // A string holding NUL, refused with strip_nul off; stored last, so parts are finished before it is met.
            try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).insert(
                [["_id": .objectID(ObjectID(hex: "ffffffffffffffffffffffff")!), "name": .string("bad\u{0}name")]],
                into: scene.namespace)
            let follower = try startFollower(scene)
            let read = try await scene.read(Self.smallParts)
            let outcome = follower.finish()
            #expect(read.status == 65, "\(read.stderr)")
            #expect(outcome.status == 65, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("mongo-reader"))
            #expect(outcome.stderr.contains("failed"))
            #expect(outcome.stderr.contains("ffffffffffffffffffffffff"), "the reader's own reason is passed on")
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
        }
    }

    @Test("a reader killed mid-way stops the follower at once (65); live tables intact, and a rerun loads")
    func readerKilled() async throws {
        try await InitLoadFixture.with(documentCount: 300) { scene in
            let before = try await InitLoadFailureTests.load(scene)
            let reader = try Running(
                "mongo-reader",
                ["--collection", scene.namespace.description, "--csv-dir", scene.csvDirectory] + Self.smallParts,
                scene: scene, environment: ["MONGO_PG_SYNC_HOLD_AT": "read"])
            #expect(reader.waitForStderr("holding at read"))
            let finished = try FileManager.default.contentsOfDirectory(atPath: scene.collectionFolder.path)
                .filter { $0.hasSuffix(".tsv") }
            #expect(finished.count > 1, "parts were finished before the kill")
            let follower = try startFollower(scene)
            #expect(follower.waitForStderr("following mongo-reader"), "it follows the held reader before the kill")
            kill(reader.process.processIdentifier, SIGKILL)
            _ = reader.finish()
            let outcome = follower.finish()
            #expect(outcome.status == 65, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("ended without finishing"))
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)

            let rerun = try Running(
                "mongo-reader",
                ["--collection", scene.namespace.description, "--csv-dir", scene.csvDirectory] + Self.smallParts,
                scene: scene)
            let copied = try await scene.copy(["--follow-reader"])
            #expect(rerun.finish().status == 0)
            #expect(copied.status == 0, "\(copied.stderr)")
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
        }
    }

    @Test("with no reader to follow, the follower gives up after --wait-seconds (65), naming the folder")
    func noReader() async throws {
        try await InitLoadFixture.with(documentCount: 10) { scene in
            let before = try await InitLoadFailureTests.load(scene)
            // The folder's read was loaded already (mongo-reader, psql-copy), so there is nothing new to follow.
            let outcome = try await scene.copy(["--follow-reader", "--wait-seconds", "2"])
            #expect(outcome.status == 65, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("no mongo-reader started writing \(scene.collectionFolder.path)"))
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
        }
    }

    @Test("a second mongo-reader on a folder being written is refused (75)")
    func secondReader() async throws {
        try await InitLoadFixture.with(documentCount: 50) { scene in
            let first = try Running(
                "mongo-reader", ["--collection", scene.namespace.description, "--csv-dir", scene.csvDirectory],
                scene: scene, environment: ["MONGO_PG_SYNC_HOLD_AT": "read"])
            #expect(first.waitForStderr("holding at read"))
            let second = try await scene.read()
            kill(first.process.processIdentifier, SIGKILL)
            _ = first.finish()
            #expect(second.status == 75, "\(second.stderr)")
            #expect(second.stderr.contains("another mongo-reader"))
        }
    }

    @Test("init-load-start refuses an oplog source that is not a replica set member (78), naming it")
    func standaloneSource() async throws {
        try await PrivateMongoServer.with(arguments: ["--standalone"]) { uri in
            try await InitLoadFixture.with(mongoURI: uri, documentCount: 1) { scene in
                let outcome = try await scene.etlstatus("init-load-start")
                #expect(outcome.status == 78, "\(outcome.stderr)")
                #expect(outcome.stderr.contains("oplog source"))
                #expect(outcome.stderr.contains("not a replica set member"))
            }
        }
    }
}
