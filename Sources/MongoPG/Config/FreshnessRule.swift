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
