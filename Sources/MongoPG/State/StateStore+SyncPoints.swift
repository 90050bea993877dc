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
    /// A change stream source's resume token moves with its sync point; a source given none keeps none, so a token
    /// never outlives the position it stood for.
    public func moveSyncPoints(_ points: [String: BSONTimestamp], resumeTokens: [String: BSONDocument] = [:])
        async throws
    {
        for (source, ts) in points.sorted(by: { $0.key < $1.key }) {
            let token = try resumeTokens[source].map { Hex.encode(try BSONEncoder.encode($0)) }
            try await session.query(
                """
                INSERT INTO \(table("sync_points")) (source, oplog_ts, resume_token)
                VALUES ($1, $2, decode($3, 'hex'))
                ON CONFLICT (source) DO UPDATE SET oplog_ts = excluded.oplog_ts,
                    resume_token = excluded.resume_token, updated_at = clock_timestamp()
                """,
                parameters: [source, String(Int64(bitPattern: ts.packed)), token],
                purpose: "move the sync point of \(source)")
            // A collection's own start the sync point has passed says nothing more: replay restarts after it anyway.
            try await session.query(
                "DELETE FROM \(table("collection_starts")) WHERE source = $1 AND oplog_ts <= $2",
                parameters: [source, String(Int64(bitPattern: ts.packed))],
                purpose: "drop the collection starts the sync point of \(source) passed")
        }
    }

    /// The resume token stored with each change stream source's sync point. A token that is not a BSON document
    /// is damaged state (edited by hand, or a bad restore): `StateError.damagedState` (65) naming the source, with
    /// `oplog-sync --resync`, which stores a new position, as the way back.
    public func resumeTokens() async throws -> [String: BSONDocument] {
        let (tokens, damaged) = try await storedResumeTokens()
        if let source = damaged.first {
            throw StateError(
                .damagedState,
                "the resume token of change stream source \(source) in \(schema).sync_points is not a BSON "
                    + "document: the state is damaged; oplog-sync --resync converges the tables in place and stores a "
                    + "new position")
        }
        return tokens
    }

    /// The stored resume tokens, and the sources whose token is not a BSON document (for `--resync`, which starts
    /// those streams afresh).
    func storedResumeTokens() async throws -> (tokens: [String: BSONDocument], damaged: [String]) {
        let rows = try await session.query(
            """
            SELECT source, encode(resume_token, 'hex') FROM \(table("sync_points"))
            WHERE resume_token IS NOT NULL ORDER BY source
            """, purpose: "read the resume tokens")
        var tokens: [String: BSONDocument] = [:]
        var damaged: [String] = []
        for row in rows.rows {
            let source = row[0] ?? ""
            if let bytes = Hex.decode(row[1] ?? ""), let token = try? BSONDecoder.decode(bytes) {
                tokens[source] = token
            } else {
                damaged.append(source)
            }
        }
        return (tokens, damaged)
    }

    /// Where replay of each source starts: its sync point, or the position the newest init load recorded.
    public func replayStart(initLoadPositions: [String: UInt64]) async throws -> [String: BSONTimestamp] {
        var starts = initLoadPositions.mapValues { BSONTimestamp(packed: $0) }
        for (source, point) in try await syncPoints() { starts[source] = point }
        return starts
    }
}
