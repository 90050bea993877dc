import Foundation
import MongoPG

/// A SecantusDB server of one test's own, in memory, on a free loopback port, for flags the shared server does not
/// run with (`--standalone`, `--enable-test-commands`). Started from the project's `.venv`; `stop()` ends it.
public final class PrivateMongoServer: @unchecked Sendable {  // the Process is only touched by init and stop
    public let uri: String
    private let process: Process

    public struct StartFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts the server and waits (up to 60 s) until it answers `ping`.
    public init(arguments: [String]) async throws {
        let python = ServerEnvironment.packageRoot.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw StartFailed(description: "\(python.path) is missing: run scripts/setup (or scripts/test)")
        }
        let port = try freeLoopbackPort()
        process = Process()
        process.executableURL = python
        process.arguments =
            ["-m", "secantus", "--host", "127.0.0.1", "--port", String(port), "--storage-path", ":memory:"]
            + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        uri = "mongodb://127.0.0.1:\(port)/?directConnection=true&serverSelectionTimeoutMS=1000"
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            if (try? await MongoSession(uri: uri, name: "probe").runCommand(["ping": .int32(1)], database: "admin"))
                != nil
            {
                return
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                stop()
                throw StartFailed(description: "a private SecantusDB on port \(port) did not answer within 60 s")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Kills the server: SIGKILL, because a process started from a Swift concurrency thread inherits its blocked
    /// signals, SIGTERM among them, and its store is in memory anyway.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}
