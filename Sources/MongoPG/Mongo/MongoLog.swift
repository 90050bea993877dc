import CMongoC
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

    private static func log(
        _ level: mongoc_log_level_t, _ domain: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?
    ) {
        var logger = Logger(label: "sync.mongoc") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = CommonOptions.chosenLogLevel
        let text = message.map { String(cString: $0) } ?? "", source = domain.map { String(cString: $0) } ?? ""
        logger.log(level: loggerLevel(level), "\(text)", metadata: ["domain": "\(source)"])
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
