import CLibPQ

/// libpq's own reading of a connection string (`key=value` pairs or a `postgresql://` URI), so a configuration is
/// checked by the parser that will use it, and the defaults every connection gets.
public enum PostgresConninfo {
    /// What every connection sets unless its conninfo says otherwise (`PGConnection` passes these before the
    /// expanded conninfo, which overrides them). libpq's own default for `connect_timeout` is to wait forever, so a
    /// server that accepts and never answers would hang a cron run; keepalives find a peer that vanished mid-run.
    public static let defaultConnectTimeout = 10
    static let defaultKeywords: [(keyword: String, value: String)] = [
        ("connect_timeout", String(defaultConnectTimeout)),
        ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"), ("keepalives_count", "3"),
    ]

    /// The keywords `text` sets, with their values, as `PQconninfoParse` reads them (a URI's user information and
    /// query included). Throws libpq's message (an unknown keyword, a malformed URI) as `.connect`; libpq quotes
    /// keywords and bad option values, never the whole string.
    public static func keywords(of text: String) throws(PostgresError) -> [String: String] {
        try PGConninfoOptions(parsing: text).values
    }

    /// `text` with `keyword=value` added, for a keyword `text` does not set itself (a conninfo's own value wins).
    /// A URI gets a query parameter, a `key=value` string one more pair.
    public static func adding(_ keyword: String, _ value: String, to text: String) throws(PostgresError) -> String {
        if try keywords(of: text)[keyword] != nil { return text }
        if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") {
            return text + (text.contains("?") ? "&" : "?") + "\(keyword)=\(value)"
        }
        return text + " \(keyword)=\(value)"
    }
}
