/// The advisory lock that keeps two `oplog-sync` runs, or a sync and an init load, from overlapping on one target.
public enum SyncLock {
    /// One key per state schema: the state schema names one sync.
    public static func key(stateSchema: String) -> Int64 {
        var checksum = Checksum()
        checksum.update(Array("mongo-pg-sync lock \(stateSchema)".utf8))
        return Int64(bitPattern: checksum.value)
    }
}

extension StateStore {
    /// Takes the sync's advisory lock on the store's session without waiting; `PostgresError.lockHeld` (exit 75)
    /// when another session holds it. It lasts until `releaseSyncLock` or the end of the session.
    public func takeSyncLock(for purpose: String) async throws(PostgresError) {
        try await session.tryAdvisoryLock(key: SyncLock.key(stateSchema: schema), purpose: "lock the sync \(purpose)")
    }

    public func releaseSyncLock() async throws(PostgresError) {
        try await session.advisoryUnlock(key: SyncLock.key(stateSchema: schema), purpose: "unlock the sync")
    }
}
