import Logging
import Synchronization

/// A `LogHandler` that keeps every message, for tests that check what reached the log.
public struct RecordingLogHandler: LogHandler {
    public struct Entry: Sendable, Equatable {
        public var level: Logger.Level
        public var message: String
        public init(level: Logger.Level, message: String) {
            self.level = level
            self.message = message
        }
    }

    public final class Record: Sendable {
        private let entries = Mutex<[Entry]>([])
        func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
        public var all: [Entry] { entries.withLock { $0 } }
    }

    let record: Record
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public func log(event: LogEvent) { record.append(Entry(level: event.level, message: "\(event.message)")) }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// A logger whose messages land in the returned record.
    public static func logger() -> (Logger, Record) {
        let record = Record()
        return (Logger(label: "test.recording") { _ in RecordingLogHandler(record: record) }, record)
    }
}
