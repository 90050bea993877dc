extension PostgresSession {
    /// Takes the session-level advisory lock `key` without waiting (`pg_try_advisory_lock`). Throws `.lockHeld`
    /// (exit 75) when another session holds it, naming that session's backend pid when the server shows it. The lock
    /// lasts until `advisoryUnlock` or the end of the connection; taking it twice needs two unlocks.
    public func tryAdvisoryLock(key: Int64, purpose: String) throws(PostgresError) {
        let taken = try query("SELECT pg_try_advisory_lock($1::bigint)", parameters: [String(key)], purpose: purpose)
        guard taken.scalar != "t" else { return }
        // pg_locks shows a bigint key split in two: classid holds the high 32 bits, objid the low ones, objsubid 1.
        let holder = try? query(
            """
            SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
            AND ((classid::bigint << 32) | objid::bigint) = $1::bigint AND pid <> pg_backend_pid() LIMIT 1
            """, parameters: [String(key)], purpose: purpose)
        let by = holder?.scalar.map { " (backend pid \($0))" } ?? ""
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
