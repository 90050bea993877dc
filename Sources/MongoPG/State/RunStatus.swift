/// How a run of the ledger (`runs`) or an init load (`init_loads`) stands. The raw values are what the state tables
/// store and what `etlstatus runs --json` prints: a contract, so they never change.
public enum RunStatus: String, Sendable, Equatable, Codable, CaseIterable {
    case running, ok, error
    /// Never stored: a run recorded as `running` whose process no longer exists (`RunRecord.resolvingDied`).
    case died

    /// The status for a run or init load that ended with `ok` (success) or not.
    public init(ended ok: Bool) { self = ok ? .ok : .error }

    /// The status as an SQL string literal, for statements that filter on it.
    var sqlLiteral: String { "'\(rawValue)'" }
}
