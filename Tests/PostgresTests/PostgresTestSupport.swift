import Foundation
import Logging
import MongoPG
import Synchronization
import TestSupport
import Testing

/// Connections to the test cluster: the URI from `.run/services.env`, the password from its `PGPASSWORD`.
enum TestServer {
    static var conninfo: String { get throws { try ServerEnvironment.shared.postgresURI() } }
    static var password: String? { ServerEnvironment.shared.values["PGPASSWORD"] }
    static let quietLogger = Logger(label: "test.postgres") { _ in SwiftLogNoOpLogHandler() }

    /// A connected session.
    static func session(_ name: String = "test", logger: Logger = quietLogger) async throws -> PostgresSession {
        let session = PostgresSession(name: name, logger: logger)
        try await session.connect(conninfo: conninfo, password: password)
        return session
    }

    /// Runs `body` with a connected session and a schema of its own (random name), dropped afterwards.
    static func withSchema<Result>(
        logger: Logger = quietLogger, _ body: (PostgresSession, String) async throws -> Result
    ) async throws -> Result {
        let session = try await session(logger: logger)
        let schema = "pgtest_" + UUID().uuidString.prefix(8).lowercased()
        try await session.execute("CREATE SCHEMA \(PostgresSQL.quoteIdentifier(schema))", purpose: "create test schema")
        do {
            let result = try await body(session, schema)
            try await drop(schema, on: session)
            return result
        } catch {
            try? await drop(schema, on: session)
            throw error
        }
    }

    private static func drop(_ schema: String, on session: PostgresSession) async throws {
        try await session.execute(
            "DROP SCHEMA IF EXISTS \(PostgresSQL.quoteIdentifier(schema)) CASCADE", purpose: "drop test schema")
        await session.close()
    }
}

/// A `LogHandler` that keeps every message, for tests that check what reached the log.
struct RecordingLogHandler: LogHandler {
    struct Entry: Sendable, Equatable {
        var level: Logger.Level
        var message: String
    }

    final class Record: Sendable {
        private let entries = Mutex<[Entry]>([])
        func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
        var all: [Entry] { entries.withLock { $0 } }
    }

    let record: Record
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    func log(event: LogEvent) { record.append(Entry(level: event.level, message: "\(event.message)")) }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// A logger whose messages land in the returned record.
    static func logger() -> (Logger, Record) {
        let record = Record()
        return (Logger(label: "test.recording") { _ in RecordingLogHandler(record: record) }, record)
    }
}

/// Pulls `rows` generated text-format lines in slices of `sliceSize` bytes, cutting lines anywhere, as a large file
/// read in chunks would; never holds more than one slice plus one line.
final class GeneratedCopySource {
    private let rows: Int
    private let sliceSize: Int
    private var nextRow = 0
    private var pending: [UInt8] = []

    init(rows: Int, sliceSize: Int) {
        self.rows = rows
        self.sliceSize = sliceSize
    }

    func next() -> [UInt8]? {
        while pending.count < sliceSize, nextRow < rows {
            pending += Array("\(nextRow)\tname \(nextRow)\t\(Int64(nextRow) * 1_000_003)\n".utf8)
            nextRow += 1
        }
        guard !pending.isEmpty else { return nil }
        let slice = Array(pending.prefix(sliceSize))
        pending.removeFirst(slice.count)
        return slice
    }
}
