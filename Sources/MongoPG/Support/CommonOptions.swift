import ArgumentParser
import Foundation
import Logging
import Synchronization
import SystemPackage

/// The flags every tool shares (DESIGN.md, "Command lines").
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "The INI configuration file.")
    public var config: String = "config.ini"

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    public var logLevel: Logger.Level = .info

    @Flag(name: .long, help: "Machine output on stdout as one JSON object; logs stay on stderr.")
    public var json: Bool = false

    public init() {}

    /// A logger named `sync.<tool>` writing to stderr at the chosen level, which libraries logging on their own
    /// (libmongoc, see `MongoLog`) follow from then on.
    public func logger(for tool: Tool) -> Logger {
        Self.chosenLogLevel = logLevel
        var logger = Logger(label: "sync.\(tool)") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel
        return logger
    }

    /// The running tool's `--log-level` (info until a tool asks for its logger). Process-wide, as the C libraries'
    /// log handlers are.
    public static var chosenLogLevel: Logger.Level {
        get { chosenLevel.withLock { $0 } }
        set { chosenLevel.withLock { $0 = newValue } }
    }
    private static let chosenLevel = Mutex<Logger.Level>(.info)

    /// Runs a tool's body and turns its outcome into the exit status: no error escapes, because ArgumentParser would
    /// exit 1, which here means "init load needed". The error's description is printed once to stderr.
    public func runTool(_ tool: Tool, _ body: (Logger) async throws -> ExitStatus) async throws {
        let logger = logger(for: tool)
        let status: ExitStatus
        do {
            status = try await body(logger)
        } catch {
            FileHandle.standardError.write(Data("\(tool): \(String(describing: error))\n".utf8))
            status = error.exitStatus
        }
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

extension CommonOptions {
    /// Prints a tool's result on stdout: one JSON object with `--json` (snake_case, sorted keys), else `line`. The
    /// write is checked, so a result that could not be written (a full disk, `> /dev/full`, a closed
    /// pipe) is a `GeneralError` (exit 74), never a success whose result is lost.
    public func printResult<T: Encodable>(_ result: T, line: String) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try Self.writeResult(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            try Self.writeResult(line)
        }
    }

    /// Writes `text` and a newline to stdout with write(2), not stdio's buffer, so a failed write is seen here.
    static func writeResult(_ text: String) throws(GeneralError) {
        try FileDescriptor.standardOutput.writeAll(Array((text + "\n").utf8)) { errno in
            GeneralError(.ioError, "cannot write the result to standard output: \(errno)")
        }
    }
}
