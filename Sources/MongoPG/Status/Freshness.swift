/// One `[freshness]` line: a synced table whose newest row, by a timestamp column, must be younger than `maxAge`.
public struct FreshnessRule: Sendable, Equatable, Codable {
    /// The table's name in the target schema, as PostgreSQL spells it (quoted in SQL, never interpreted).
    public var table: String
    public var column: String
    public var maxAge: TimeSpan

    public init(table: String, column: String, maxAge: TimeSpan) {
        self.table = table
        self.column = column
        self.maxAge = maxAge
    }

    /// Parses the value of a `[freshness]` line, `<column> <max age>`: the age is the last word, the column the
    /// rest. Nil with the reason when it is not that.
    static func parse(table: String, value: String) -> Result<FreshnessRule, FreshnessRuleError> {
        let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 2, let age = words.last else { return .failure(.shape) }
        guard let maxAge = TimeSpan(String(age)), maxAge.seconds > 0 else { return .failure(.age(String(age))) }
        let column = value[..<age.startIndex].trimmingWhitespace()
        guard table.utf8.count <= 63, column.utf8.count <= 63 else { return .failure(.tooLong) }
        return .success(FreshnessRule(table: table, column: column, maxAge: maxAge))
    }

    enum FreshnessRuleError: Error {
        case shape, age(String), tooLong
        var message: String {
            switch self {
            case .shape: "must be `<timestamp column> <max age>`, e.g. `updated_at 2h`"
            case .age(let age): "the max age `\(age)` is not a positive duration like 90s, 5m, 2h or 1d"
            case .tooLong: "a table or column name is longer than PostgreSQL's 63-byte identifier limit"
            }
        }
    }
}

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

/// `etlstatus freshness`: the recorded checks, newest first.
public struct FreshnessHistory: Sendable, Codable {
    public var checks: [FreshnessResult]

    public init(checks: [FreshnessResult]) { self.checks = checks }

    public var table: String {
        TextTable(
            headers: ["CHECKED AT", "TABLE", "COLUMN", "NEWEST", "AGE", "MAX AGE", "STATE"],
            rows: checks.map { check in
                [
                    check.checkedAt ?? "-", "\(check.schema).\(check.table)", check.column, check.newest ?? "-",
                    TimeSpan.words(check.ageSeconds), TimeSpan(seconds: check.maxAgeSeconds).description,
                    check.error.map { "error: \($0)" }
                        ?? (check.newest == nil ? "empty" : check.isFresh ? "ok" : "STALE"),
                ]
            }
        ).text
    }
}
