extension StateStore {
    /// The sync point of every oplog source: the ts of the last entry a committed batch read from it.
    public func syncPoints() async throws -> [String: BSONTimestamp] {
        let rows = try await session.query(
            "SELECT source, oplog_ts FROM \(table("sync_points")) ORDER BY source", purpose: "read the sync points")
        var points: [String: BSONTimestamp] = [:]
        for row in rows.rows {
            let source = row[0] ?? ""
            let packed = try Self.number(row[1], of: "the sync point of \(source)")
            points[source] = BSONTimestamp(packed: UInt64(bitPattern: packed))
        }
        return points
    }
}

extension StateStore {
    /// Moves the sync points of the given sources, inside the transaction the caller opened on the store's session:
    /// the one that commits the data they cover (DESIGN.md: "written in the same transaction as the data it covers").
    public func moveSyncPoints(_ points: [String: BSONTimestamp]) async throws {
        for (source, ts) in points.sorted(by: { $0.key < $1.key }) {
            try await session.query(
                """
                INSERT INTO \(table("sync_points")) (source, oplog_ts) VALUES ($1, $2)
                ON CONFLICT (source) DO UPDATE SET oplog_ts = excluded.oplog_ts, updated_at = clock_timestamp()
                """,
                parameters: [source, String(Int64(bitPattern: ts.packed))], purpose: "move the sync point of \(source)")
        }
    }

    /// Where replay of each source starts: its sync point, or the position the newest init load recorded.
    public func replayStart(initLoadPositions: [String: UInt64]) async throws -> [String: BSONTimestamp] {
        var starts = initLoadPositions.mapValues { BSONTimestamp(packed: $0) }
        for (source, point) in try await syncPoints() { starts[source] = point }
        return starts
    }
}
