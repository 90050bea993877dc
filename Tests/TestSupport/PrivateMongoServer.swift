import Foundation
import MongoPG

/// A SecantusDB server of a test's own, in memory, for tests that count oplog entries (the shared server's oplog
/// takes every concurrent test's writes) or make the oplog roll (`--oplog-max-entries`).
public enum PrivateMongoServer {
    public struct NotStarted: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts a server with `arguments` added to its command line, runs `body` with its URI, then terminates it and
    /// waits for it to exit, whether `body` returned or threw.
    public static func with<Result>(
        arguments: [String] = [], _ body: (String) async throws -> Result
    ) async throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secantus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // An explicit, empty config file turns off SecantusDB's discovery of ./secantusd.toml and ~/.secantus/.
        let configFile = folder.appendingPathComponent("secantusd.toml")
        try "# PrivateMongoServer: every setting is a command-line flag\n".write(
            to: configFile, atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let process = Process()
        process.executableURL = ServerEnvironment.packageRoot.appendingPathComponent(".venv/bin/python")
        process.arguments =
            [
                "-m", "secantus", "--config", configFile.path, "--host", "127.0.0.1", "--port", String(port),
                "--storage-path", ":memory:",
            ] + arguments
        process.currentDirectoryURL = folder
        let log = folder.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        let uri = "mongodb://127.0.0.1:\(port)/?directConnection=true&serverSelectionTimeoutMS=2000"
        return try await withCleanUp {
            try await waitUntilAnswering(uri, process: process, log: log)
            return try await body(uri)
        } cleanUp: {
            await stop(process)
            try? logHandle.close()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// A server whose data lives on disk, so it can be stopped and started again on the same port with its documents,
    /// users and oplog kept, with other flags if the test asks (`--auth` once users exist): for tests of MongoDB
    /// going away in the middle of a run.
    public final class Restartable: @unchecked Sendable {
        public let uri: String
        private let folder: URL
        private let port: Int
        private var arguments: [String]
        private var process: Process?
        private var logHandle: FileHandle?

        init(folder: URL, port: Int, arguments: [String]) {
            self.folder = folder
            self.port = port
            self.arguments = arguments
            uri = "mongodb://127.0.0.1:\(port)/?directConnection=true&serverSelectionTimeoutMS=2000"
        }

        /// The URI of a user of the server (authenticated against `admin`).
        public func uri(user: String, password: String) -> String {
            "mongodb://\(user):\(password)@127.0.0.1:\(port)/?directConnection=true&serverSelectionTimeoutMS=2000"
                + "&authSource=admin"
        }

        /// Starts the server on its port and data (with `arguments` instead of the earlier flags when given), and
        /// waits until it answers `hello`.
        public func start(arguments: [String]? = nil) async throws {
            if let arguments { self.arguments = arguments }
            let configFile = folder.appendingPathComponent("secantusd.toml")
            let process = Process()
            process.executableURL = ServerEnvironment.packageRoot.appendingPathComponent(".venv/bin/python")
            process.arguments =
                [
                    "-m", "secantus", "--config", configFile.path, "--host", "127.0.0.1", "--port", String(port),
                    "--storage-path", folder.appendingPathComponent("data").path,
                ] + self.arguments
            process.currentDirectoryURL = folder
            let log = folder.appendingPathComponent("server.log")
            if !FileManager.default.fileExists(atPath: log.path) {
                _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: log)
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            self.process = process
            logHandle = handle
            try await waitUntilAnswering(uri, process: process, log: log)
        }

        /// Stops the server (SIGTERM, then SIGKILL) and waits for it to exit.
        public func stop() async {
            if let process { await PrivateMongoServer.stop(process) }
            process = nil
            try? logHandle?.close()
            logHandle = nil
        }

        /// Stops the server and starts it again on the same port and data.
        public func restart() async throws {
            await stop()
            try await start()
        }
    }

    /// Starts a `Restartable` server, runs `body` with it, then stops it and removes its data.
    public static func withRestartable<Result>(
        arguments: [String] = [], _ body: (Restartable) async throws -> Result
    ) async throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secantus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        try "# PrivateMongoServer: every setting is a command-line flag\n".write(
            to: folder.appendingPathComponent("secantusd.toml"), atomically: true, encoding: .utf8)
        let server = Restartable(folder: folder, port: try freeLoopbackPort(), arguments: arguments)
        return try await withCleanUp {
            try await server.start()
            return try await body(server)
        } cleanUp: {
            await server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// SIGTERM, and SIGKILL when it is still running 3 s later (SecantusDB may ignore SIGTERM, as
    /// `scripts/services stop` also found); polled, since `waitUntilExit` spins a run loop.
    private static func stop(_ process: Process) async {
        process.terminate()
        for attempt in 0..<100 {
            guard process.isRunning else { return }
            if attempt == 30 { kill(process.processIdentifier, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private static func waitUntilAnswering(_ uri: String, process: Process, log: URL) async throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard process.isRunning else { break }
            if (try? await MongoSession(uri: uri, name: "probe").hello()) != nil { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw NotStarted(description: "SecantusDB did not answer on \(uri): \(output.suffix(2000))")
    }
}
