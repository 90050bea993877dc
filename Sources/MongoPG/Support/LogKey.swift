/// Metadata keys for log lines, so every tool names the same thing the same way.
public enum LogKey {
    public static let namespace = "ns"
    public static let documentID = "doc_id"
    public static let oplogTimestamp = "oplog_ts"
    public static let table = "table"
    public static let sqlState = "sqlstate"
    public static let tool = "tool"
    public static let error = "error"
}
