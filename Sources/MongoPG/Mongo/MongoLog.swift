import CMongoC
import Foundation
import Logging

/// libmongoc's own log lines (`Port could not be parsed`, server discovery warnings) through swift-log as
/// `sync.mongoc` on stderr, at the level the tool chose. libmongoc's default handler prints some levels to stdout,
/// which must carry only the tool's result (`--json`).
enum MongoLog {
    /// Replaces libmongoc's default handler; called once, before `mongoc_init` (see `MongoClient`). The handler is
    /// process-wide and may run on any thread that calls into libmongoc.
    static func install() {
        // A closure capturing nothing converts to libmongoc's C function pointer (`mongoc_log_func_t`).
        mongoc_log_set_handler({ level, domain, message, _ in MongoLog.log(level, domain, message) }, nil)
    }

    /// One line libmongoc logged.
    struct Line {
        var level: Logger.Level
        var domain: String
        var message: String
    }

    /// The lines of one thread's `collectingLines` call; a class, so the handler can append through the thread's
    /// dictionary.
    private final class Collector {
        var lines: [Line] = []
    }
    private static let collectorKey = "mongo-pg-sync.MongoLog.collector"

    /// Runs `body`, a synchronous libmongoc call that may log while it refuses its input (`mongoc_uri_new_with_error`
    /// logs "Port could not be parsed" beside its error), and returns the lines libmongoc logged on this thread
    /// meanwhile instead of printing them: the caller folds them into its own one-line error, or `emit`s them.
    static func collectingLines<Result>(_ body: () -> Result) -> (result: Result, lines: [Line]) {
        let collector = Collector()
        let dictionary = Thread.current.threadDictionary
        let outer = dictionary[collectorKey]
        dictionary[collectorKey] = collector
        defer { dictionary[collectorKey] = outer }
        return (body(), collector.lines)
    }

    /// Logs lines `collectingLines` held back.
    static func emit(_ lines: [Line]) {
        for line in lines { emit(line) }
    }

    private static func log(
        _ level: mongoc_log_level_t, _ domain: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?
    ) {
        let line = Line(
            level: loggerLevel(level), domain: domain.map { String(cString: $0) } ?? "",
            message: message.map { String(cString: $0) } ?? "")
        if let collector = Thread.current.threadDictionary[collectorKey] as? Collector {
            collector.lines.append(line)
        } else {
            emit(line)
        }
    }

    private static func emit(_ line: Line) {
        var logger = Logger(label: "sync.mongoc") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = CommonOptions.chosenLogLevel
        logger.log(level: line.level, "\(line.message)", metadata: ["domain": "\(line.domain)"])
    }

    /// libmongoc's seven levels onto swift-log's seven (`MESSAGE` is between warning and info, as `notice` is).
    static func loggerLevel(_ level: mongoc_log_level_t) -> Logger.Level {
        switch level {
        case MONGOC_LOG_LEVEL_ERROR: .error
        case MONGOC_LOG_LEVEL_CRITICAL: .critical
        case MONGOC_LOG_LEVEL_WARNING: .warning
        case MONGOC_LOG_LEVEL_MESSAGE: .notice
        case MONGOC_LOG_LEVEL_INFO: .info
        case MONGOC_LOG_LEVEL_DEBUG: .debug
        default: .trace  // MONGOC_LOG_LEVEL_TRACE
        }
    }
}
