import Foundation

/// A PostgreSQL failure: what was being done (`purpose`), where (table, COPY line), why (SQLSTATE and the server's
/// message), and the exit status it means. `description` never holds a password, a conninfo or SQL parameters.
public struct PostgresError: ToolError {
    public enum Kind: Sendable, Equatable { case connect, authentication, statement, copy, lockHeld }
    public var kind: Kind
    public var purpose: String  // "load table customers_accounts", never SQL parameters
    public var sqlState: String? = nil  // nil when libpq failed before the server answered
    public var serverMessage: String
    public var table: String? = nil, line: Int? = nil  // line: 1-based COPY input line rejected
    /// The server's CONTEXT: where inside a function (a user's trigger) the error arose; not in `description`.
    public var context: String? = nil
    public var description: String {
        let place = table.map { " (table \($0)\(line.map { ", line \($0)" } ?? ""))" } ?? ""
        let hint = privilegeHint.map { " (\($0))" } ?? ""
        return "PostgreSQL: \(purpose) failed\(place)\(sqlState.map { " [SQLSTATE \($0)]" } ?? ""): \(serverMessage)"
            + hint
    }

    /// The one place where a server's answer becomes an exit status (DESIGN.md, "Exit codes"). SQLSTATE classes
    /// (PostgreSQL's Appendix A): what the data or the environment caused is an outcome with its own code; only what
    /// our own SQL got wrong (42 syntax, XX internal, ...) is 70.
    public var exitStatus: ExitStatus {
        switch kind {
        case .connect, .authentication: return .unavailable
        case .lockHeld: return .locked
        case .statement, .copy: return Self.exitStatus(sqlState: sqlState)
        }
    }

    /// The exit status of a statement that failed with `sqlState` (nil: libpq failed before the server answered).
    public static func exitStatus(sqlState: String?) -> ExitStatus {
        guard let sqlState else { return .internalError }
        switch sqlState {
        case "42501": return .unavailable  // insufficient_privilege: the server refused this role
        case "55P03", "40001", "40P01": return .locked  // lock_not_available, serialization_failure, deadlock
        case "54011": return .configError  // too_many_columns: the schema is too wide for one table
        // dependent_objects_still_exist: a user's object on a table to replace that psql-copy does not carry over
        // (a foreign key of another table, a function on its row type; views it recreates): the target database's
        // setup must change, not the data, nor is a server out of reach.
        case "2BP01": return .configError
        default: break
        }
        switch sqlState.prefix(2) {
        case "22", "23": return .dataError  // data_exception, integrity_constraint_violation (duplicate _id)
        case "54": return .dataError  // program_limit_exceeded by a value (row or index entry too big)
        case "08", "28", "53", "57", "58": return .unavailable  // connection, authorization, resources, shutdown, I/O
        default: return .internalError
        }
    }

    /// The function of the target database the error arose in (`PL/pgSQL function reject() line 3 at RAISE`):
    /// the toolkit's own SQL calls none, so it is a user's, a trigger's most likely.
    public var userFunction: String? {
        guard let context else { return nil }
        for line in context.split(separator: "\n") {
            for prefix in ["PL/pgSQL function ", "SQL function "] where line.hasPrefix(prefix) {
                let name = line.dropFirst(prefix.count).prefix { $0 != "(" && $0 != " " }
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if !name.isEmpty { return name }
            }
        }
        return nil
    }

    /// For 42501 (insufficient_privilege): the privilege the role lacks, read from the server's message.
    var privilegeHint: String? {
        guard sqlState == "42501" else { return nil }
        let message = serverMessage
        if let name = Self.object(after: "permission denied for database ", in: message) {
            return "the role lacks the CREATE privilege on database \(name)"
        }
        if let name = Self.object(after: "permission denied for schema ", in: message) {
            return "the role lacks the USAGE or CREATE privilege on schema \(name)"
        }
        if let name = Self.object(after: "must be owner of ", in: message) {
            return "the role must own \(name)"
        }
        if let name = Self.object(after: "permission denied for ", in: message) {
            return "the role lacks a privilege on \(name) (SELECT, INSERT, DELETE or TRUNCATE)"
        }
        return "the role lacks a privilege this step needs"
    }

    private static func object(after prefix: String, in message: String) -> String? {
        guard let range = message.range(of: prefix) else { return nil }
        let name = message[range.upperBound...].prefix { !$0.isWhitespace }
        return name.isEmpty ? nil : String(name)
    }
}
