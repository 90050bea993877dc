/// A PostgreSQL failure: what was being done (`purpose`), where (table, COPY line), why (SQLSTATE and the server's
/// message), and the exit status it means. `description` never holds a password, a conninfo or SQL parameters.
public struct PostgresError: ToolError {
    public enum Kind: Sendable, Equatable { case connect, authentication, statement, copy, lockHeld }
    public var kind: Kind
    public var purpose: String  // "load table customers_accounts", never SQL parameters
    public var sqlState: String? = nil  // nil when libpq failed before the server answered
    public var serverMessage: String
    public var table: String? = nil, line: Int? = nil  // line: 1-based COPY input line rejected
    public var description: String {
        let place = table.map { " (table \($0)\(line.map { ", line \($0)" } ?? ""))" } ?? ""
        return "PostgreSQL: \(purpose) failed\(place)\(sqlState.map { " [SQLSTATE \($0)]" } ?? ""): \(serverMessage)"
    }
    public var exitStatus: ExitStatus {
        switch kind {
        case .connect, .authentication: .unavailable
        case .lockHeld: .locked
        case .statement, .copy: sqlState?.hasPrefix("22") == true ? .dataError : .internalError  // 22: bad data
        }
    }
}
