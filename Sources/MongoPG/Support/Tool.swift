/// The toolkit's five tools, by the name each one's binary has: the name the run ledger records (`runs.tool`,
/// which scripts and `etlstatus runs --tool` match), its logger's label, the prefix of its error line and the name
/// its messages give it.
public enum Tool: String, CaseIterable, Sendable, CustomStringConvertible {
    case mongoReader = "mongo-reader"
    case psqlCopy = "psql-copy"
    case etlstatus = "etlstatus"
    case oplogSync = "oplog-sync"
    case mongoSchema = "mongo-schema"

    public var description: String { rawValue }
}
