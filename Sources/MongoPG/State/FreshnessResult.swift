/// One measurement of a table's freshness: its newest timestamp and how old that was when checked.
public struct FreshnessResult: Sendable, Equatable, Codable {
    public var schema: String
    public var table: String
    public var column: String
    public var maxAgeSeconds: Int64
    /// When it was measured (UTC, ISO 8601); nil before it is recorded.
    public var checkedAt: String?
    /// `max(column)` (UTC, ISO 8601); nil for an empty table or when it could not be measured.
    public var newest: String?
    public var ageSeconds: Double?
    /// Why it could not be measured (no such table or column, a column that is no timestamp): the server's words.
    public var error: String?

    public init(
        schema: String, table: String, column: String, maxAgeSeconds: Int64, checkedAt: String? = nil,
        newest: String? = nil, ageSeconds: Double? = nil, error: String? = nil
    ) {
        self.schema = schema
        self.table = table
        self.column = column
        self.maxAgeSeconds = maxAgeSeconds
        self.checkedAt = checkedAt
        self.newest = newest
        self.ageSeconds = ageSeconds
        self.error = error
    }

    /// `table.column`, as findings and perfdata name it.
    public var name: String { "\(table).\(column)" }

    /// Fresh enough: measured, not empty, and younger than its max age.
    public var isFresh: Bool { error == nil && ageSeconds.map { $0 <= Double(maxAgeSeconds) } == true }
}
