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
