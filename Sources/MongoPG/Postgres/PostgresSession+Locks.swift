extension PostgresSession {
    /// Takes the session-level advisory lock `key` without waiting (`pg_try_advisory_lock`). Throws `.lockHeld`
    /// (exit 75) when another session holds it, naming that session's backend pid, application (a tool's
    /// `<tool>[<pid>]`), client address and start when the server shows them. The lock
    /// lasts until `advisoryUnlock` or the end of the connection; taking it twice needs two unlocks.
    public func tryAdvisoryLock(key: Int64, purpose: String) throws(PostgresError) {
        let taken = try query("SELECT pg_try_advisory_lock($1::bigint)", parameters: [String(key)], purpose: purpose)
        guard taken.scalar != "t" else { return }
        // pg_locks shows a bigint key split in two: classid holds the high 32 bits, objid the low ones, objsubid 1.
        let holder = try? query(
            """
            SELECT l.pid, a.application_name, host(a.client_addr),
                   to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint AND l.pid <> pg_backend_pid() LIMIT 1
            """, parameters: [String(key)], purpose: purpose)
        var by = ""
        if let row = holder?.rows.first, let pid = row[0] {
            // The tools name their connections `<tool>[<pid>]` (PGConnection), so this says who holds it.
            let who = [row[1].map { "\($0)" }, row[2].map { "from \($0)" }, row[3].map { "since \($0)" }]
            by = " (backend pid \(pid)" + who.compactMap { $0 }.filter { !$0.isEmpty }.map { ", " + $0 }.joined() + ")"
        }
        throw PostgresError(
            kind: .lockHeld, purpose: purpose, serverMessage: "advisory lock \(key) is held by another session\(by)")
    }

    /// Releases one hold of the session-level advisory lock `key` (`pg_advisory_unlock`). Answers false, and the
    /// server warns, when this session did not hold it.
    @discardableResult
    public func advisoryUnlock(key: Int64, purpose: String) throws(PostgresError) -> Bool {
        try query("SELECT pg_advisory_unlock($1::bigint)", parameters: [String(key)], purpose: purpose).scalar == "t"
    }
}

extension PostgresSession {
    /// The sessions holding locks on `names` in `schema`, in words (backend pid, application, client, since when
    /// its transaction began), for a statement that gave up waiting for them (55P03); nil when none holds one now.
    public func relationLockHolders(schema: String, names: [String]) -> String? {
        let rows = try? query(
            """
            SELECT DISTINCT ON (a.pid) a.pid::text, a.application_name, host(a.client_addr),
                   to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   c.relname, l.mode
            FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
            WHERE l.granted AND l.pid <> pg_backend_pid() AND n.nspname = $1 AND c.relname = ANY($2::text[])
            ORDER BY a.pid, c.relname
            """,
            values: [.value(.text(schema)), .array(names.map { .text($0) })],
            purpose: "find the sessions holding locks on the tables to replace")
        guard let rows, !rows.isEmpty else { return nil }
        return rows.rows.map { row in
            let application = row[1].flatMap { $0.isEmpty ? nil : "application \($0)" }
            let details = [application, row[2].map { "client \($0)" }, row[3].map { "since \($0)" }].compactMap { $0 }
            return "\(row[5] ?? "a lock") on \(row[4] ?? "?") held by backend pid \(row[0] ?? "?")"
                + (details.isEmpty ? "" : " (" + details.joined(separator: ", ") + ")")
        }.joined(separator: "; ")
    }
}
