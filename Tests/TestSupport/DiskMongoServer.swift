import Foundation
import MongoPG

/// A SecantusDB server of a test's own whose data lives on disk, so it can be stopped and started again on the same
/// port with its documents, users and oplog kept, with other flags if the test asks (`--auth` once users exist).
public final class DiskMongoServer: @unchecked Sendable {
    public let port: Int
    private let folder: URL
    private var process: Process?
    private var logHandle: FileHandle?

    /// `mongodb://[user:password@]127.0.0.1:<port>/?directConnection=true…`
    public func uri(user: String? = nil, password: String? = nil) -> String {
        let credentials = user.map { "\($0):\(password ?? "")@" } ?? ""
        return "mongodb://\(credentials)127.0.0.1:\(port)/?directConnection=true&serverSelectionTimeoutMS=2000"
            + (user == nil ? "" : "&authSource=admin")
    }

    private init(folder: URL, port: Int) {
        self.folder = folder
        self.port = port
    }

    /// Starts a server with `arguments`, runs `body` with it, then stops it and removes its data, whether `body`
    /// returned or threw.
    public static func with<Result>(arguments: [String] = [], _ body: (DiskMongoServer) async throws -> Result)
        async throws -> Result
    {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secantus-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        // An explicit, empty config file turns off SecantusDB's discovery of ./secantusd.toml and ~/.secantus/.
        try "# DiskMongoServer: every setting is a command-line flag\n".write(
            to: folder.appendingPathComponent("secantusd.toml"), atomically: true, encoding: .utf8)
        let server = DiskMongoServer(folder: folder, port: try freeLoopbackPort())
        return try await withCleanUp {
            try await server.start(arguments: arguments)
            return try await body(server)
        } cleanUp: {
            await server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// Starts the server on its port and data with `arguments`, and waits until it answers `hello`.
    public func start(arguments: [String] = []) async throws {
        let process = Process()
        process.executableURL = ServerEnvironment.packageRoot.appendingPathComponent(".venv/bin/python")
        process.arguments =
            [
                "-m", "secantus", "--config", folder.appendingPathComponent("secantusd.toml").path, "--host",
                "127.0.0.1", "--port", String(port), "--storage-path", folder.appendingPathComponent("data").path,
            ] + arguments
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
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            // hello needs no credentials, with or without --auth.
            if (try? await MongoSession(uri: uri(), name: "probe").hello()) != nil { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw PrivateMongoServer.NotStarted(
            description: "SecantusDB did not answer on port \(port): \(output.suffix(2000))")
    }

    /// SIGTERM, then SIGKILL when it is still running 3 s later; waits until it is gone.
    public func stop() async {
        if let process {
            process.terminate()
            for attempt in 0..<100 {
                guard process.isRunning else { break }
                if attempt == 30 { kill(process.processIdentifier, SIGKILL) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        process = nil
        try? logHandle?.close()
        logHandle = nil
    }
}
