/// The advisory lock that keeps two `oplog-sync` runs, or a sync and an init load, from overlapping on one target.
public enum SyncLock {
    /// One key per state schema: the state schema names one sync.
    public static func key(stateSchema: String) -> Int64 {
        var checksum = Checksum()
        checksum.update(Array("mongo-pg-sync lock \(stateSchema)".utf8))
        return Int64(bitPattern: checksum.value)
    }
}
