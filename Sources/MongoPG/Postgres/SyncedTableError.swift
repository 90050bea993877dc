/// A statement on a synced table that failed because of what a user did to the target database, not because of the
/// data or a bug (exit 78): a trigger of theirs raised, or a column or table the catalog holds is gone (dropped or
/// renamed by hand). The message names the object and what to do.
public struct SyncedTableError: ToolError {
    public var message: String
    /// The server's answer.
    public var underlying: PostgresError

    /// The message already holds the server's; what was being done and the SQLSTATE follow it.
    public var description: String {
        "\(message) (PostgreSQL: \(underlying.purpose) failed\(underlying.sqlState.map { " [SQLSTATE \($0)]" } ?? ""))"
    }
    public var exitStatus: ExitStatus { .configError }

    /// How a collection is loaded again, its tables made anew from the catalog.
    public static let reloadSteps =
        "etlstatus init-load-start --collection DB.COLL, mongo-reader, psql-copy, etlstatus init-load-finish ok"

    /// `error` explained when it is such a failure; any other error as it is. `triggers` answers the triggers
    /// (`trigger`, `table`) in the target schema that call a function, for naming the one that raised; a failure
    /// of its own leaves the function named alone.
    public static func explaining(
        _ error: any Error, reload: String, triggers: (_ function: String) async throws -> [(String, String)]
    ) async -> any Error {
        guard let error = error as? PostgresError, error.kind == .statement || error.kind == .copy else {
            return error
        }
        if let function = error.userFunction {
            let found = (try? await triggers(function)) ?? []
            let named =
                found.isEmpty
                ? "a trigger calling function \(function)"
                : found.map { "trigger \($0.0) on table \($0.1)" }.joined(separator: ", ")
                    + " (function \(function))"
            let disable =
                found.first.map { "ALTER TABLE \($0.1) DISABLE TRIGGER \($0.0)" }
                ?? "ALTER TABLE ... DISABLE TRIGGER ..."
            return SyncedTableError(
                message:
                    "\(named) refused a write to a synced table: \(error.serverMessage); the sync writes every change "
                    + "MongoDB made, so change the trigger to accept it, or disable it (\(disable)), then run again; "
                    + "nothing of the failed batch was committed",
                underlying: error)
        }
        switch error.sqlState {
        case "42703":
            return SyncedTableError(
                message:
                    "a column of a synced table is missing (dropped or renamed by hand?): \(error.serverMessage); "
                    + "add it back as the catalog has it, or reload the collection (\(reload))",
                underlying: error)
        case "42P01":
            return SyncedTableError(
                message:
                    "a synced table is missing (dropped or renamed by hand?): \(error.serverMessage); reload the "
                    + "collection (\(reload))",
                underlying: error)
        default:
            return error
        }
    }
}

extension PostgresSession {
    /// The user triggers (name, qualified table) in `schema` whose function is named `function`.
    public func triggers(calling function: String, in schema: String) async throws -> [(String, String)] {
        try await query(
            """
            SELECT pg_catalog.quote_ident(t.tgname),
                   pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
            FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
            WHERE NOT t.tgisinternal AND n.nspname = $1 AND p.proname = $2 ORDER BY 2, 1
            """,
            // The CONTEXT names the function with its schema when that is not on the search path.
            parameters: [schema, String(function.split(separator: ".").last ?? "")],
            purpose: "find the triggers calling function \(function)"
        ).rows.compactMap { row in row[0].flatMap { name in row[1].map { (name, $0) } } }
    }
}
