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
        let folder = try makeFolder()
        let server: Launched
        do {
            server = try await launch(in: folder, storage: ":memory:", port: nil, arguments: arguments)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        return try await withCleanUp {
            try await body(uri(port: server.port))
        } cleanUp: {
            await server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// A server whose data lives on disk, so it can be stopped and started again on the same port with its documents,
    /// users and oplog kept, with other flags if the test asks (`--auth` once users exist): for tests of MongoDB
    /// going away in the middle of a run.
    public final class Restartable: @unchecked Sendable {
        private let folder: URL
        /// Chosen by the server at its first start, kept for the restarts.
        private var port: Int?
        private var arguments: [String]
        private var server: Launched?

        init(folder: URL, arguments: [String]) {
            self.folder = folder
            self.arguments = arguments
        }

        /// The server's URI; known once it started.
        public var uri: String { PrivateMongoServer.uri(port: port ?? 0) }

        /// The URI of a user of the server (authenticated against `admin`).
        public func uri(user: String, password: String) -> String {
            "mongodb://\(user):\(password)@127.0.0.1:\(port ?? 0)/?directConnection=true&serverSelectionTimeoutMS=2000"
                + "&authSource=admin"
        }

        /// Starts the server on its port and data (with `arguments` instead of the earlier flags when given), and
        /// waits until it answers `hello`. A restart fails, rather than talk to another server, when some other
        /// process took the port while the server was stopped.
        public func start(arguments: [String]? = nil) async throws {
            if let arguments { self.arguments = arguments }
            let server = try await launch(
                in: folder, storage: folder.appendingPathComponent("data").path, port: port, arguments: self.arguments)
            self.server = server
            port = server.port
        }

        /// Stops the server (SIGTERM, then SIGKILL) and waits for it to exit.
        public func stop() async {
            await server?.stop()
            server = nil
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
        let folder = try makeFolder()
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        let server = Restartable(folder: folder, arguments: arguments)
        return try await withCleanUp {
            try await server.start()
            return try await body(server)
        } cleanUp: {
            await server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    static func uri(port: Int) -> String {
        "mongodb://127.0.0.1:\(port)/?directConnection=true&serverSelectionTimeoutMS=2000"
    }

    /// A folder of the server's own, holding its log and an explicit, empty config file: that turns off SecantusDB's
    /// discovery of ./secantusd.toml and ~/.secantus/.
    private static func makeFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secantus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "# PrivateMongoServer: every setting is a command-line flag\n".write(
            to: folder.appendingPathComponent("secantusd.toml"), atomically: true, encoding: .utf8)
        return folder
    }

    /// A server process started by `launch`, answering on `port`.
    struct Launched {
        let process: Process
        let log: FileHandle
        let port: Int

        /// SIGTERM, and SIGKILL when it is still running 3 s later (SecantusDB may ignore SIGTERM, as
        /// `scripts/services stop` also found); polled, since `waitUntilExit` spins a run loop.
        func stop() async {
            process.terminate()
            for attempt in 0..<100 {
                guard process.isRunning else { break }
                if attempt == 30 { kill(process.processIdentifier, SIGKILL) }
                try? await Task.sleep(for: .milliseconds(100))
            }
            try? log.close()
        }
    }

    /// Starts SecantusDB on `port`, or on a port the system picks (nil), and waits until it answers `hello`. Only this
    /// process's own listening socket counts (read from /proc): a port free a moment ago may since have gone to
    /// another test's server, which would answer `hello` just as well.
    private static func launch(in folder: URL, storage: String, port: Int?, arguments: [String]) async throws
        -> Launched
    {
        let process = Process()
        process.executableURL = ServerEnvironment.packageRoot.appendingPathComponent(".venv/bin/python")
        process.arguments =
            [
                "-m", "secantus", "--config", folder.appendingPathComponent("secantusd.toml").path, "--host",
                "127.0.0.1", "--port", String(port ?? 0), "--storage-path", storage,
            ] + arguments
        process.currentDirectoryURL = folder
        let logURL = folder.appendingPathComponent("server.log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        var listening: Int?
        while Date() < deadline, process.isRunning {
            let ports = listeningPorts(of: process.processIdentifier)
            listening = port.map { ports.contains($0) ? $0 : nil } ?? ports.first
            if let listening, (try? await MongoSession(uri: uri(port: listening), name: "probe").hello()) != nil {
                return Launched(process: process, log: log, port: listening)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        await Launched(process: process, log: log, port: listening ?? 0).stop()
        let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        let place = port.map { "on port \($0) (another process may hold it)" } ?? "on a port of its own"
        throw NotStarted(description: "SecantusDB did not start answering \(place): \(output.suffix(2000))")
    }

    /// The TCP ports `pid` listens on: its sockets (from /proc/PID/fd) that /proc/PID/net/tcp lists as listening.
    static func listeningPorts(of pid: Int32) -> [Int] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let sockets = Set(
            fds.compactMap { fd -> Substring? in
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                    target.hasPrefix("socket:[")
                else { return nil }
                return target.dropFirst("socket:[".count).dropLast()
            })
        // Read to the end: String(contentsOfFile:) stops after the first page of a /proc file, which has no size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/net/tcp"), let bytes = try? handle.readToEnd()
        else { return [] }
        try? handle.close()
        let table = String(decoding: bytes, as: UTF8.self)
        // Each line: sl local_address rem_address st ... inode (the 10th field); local "0100007F:A959", st 0A LISTEN.
        return table.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "0A", sockets.contains(fields[9]),
                let port = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) })
            else { return nil }
            return port
        }
    }
}
