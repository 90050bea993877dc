extension StateStore {
    /// Each collection's own replay start per source (`collection_starts`): written by the load of some collections
    /// (in psql-copy's swap) or a resync of some, dropped once the source's sync point passes it.
    public func collectionStarts() async throws -> [Namespace: [String: BSONTimestamp]] {
        let rows = try await session.query(
            "SELECT collection, source, oplog_ts FROM \(table("collection_starts")) ORDER BY collection, source",
            purpose: "read the collections' own replay starts")
        var starts: [Namespace: [String: BSONTimestamp]] = [:]
        for row in rows.rows {
            guard let name = row[0], let namespace = Namespace(name), let source = row[1] else {
                throw StateError(.unexpectedAnswer, "collection_starts holds a row without a collection or source")
            }
            let packed = try Self.number(row[2], of: "the replay start of \(name) on \(source)")
            starts[namespace, default: [:]][source] = BSONTimestamp(packed: UInt64(bitPattern: packed))
        }
        return starts
    }

    /// Sets `collection`'s own replay start on each source of `positions`, inside the caller's transaction (the one
    /// that makes its tables hold MongoDB's documents as of those positions), and forgets the documents it had left
    /// to verify: its tables are new.
    public func setCollectionStarts(_ collection: Namespace, positions: [String: BSONTimestamp]) async throws {
        for (source, ts) in positions.sorted(by: { $0.key < $1.key }) {
            try await session.query(
                """
                INSERT INTO \(table("collection_starts")) (collection, source, oplog_ts) VALUES ($1, $2, $3)
                ON CONFLICT (collection, source) DO UPDATE SET oplog_ts = excluded.oplog_ts
                """, parameters: [collection.description, source, String(Int64(bitPattern: ts.packed))],
                purpose: "set the replay start of \(collection) on \(source)")
        }
        try await session.query(
            "DELETE FROM \(table("pending_verifications")) WHERE collection = $1",
            parameters: [collection.description], purpose: "forget what the old tables of \(collection) left to verify")
    }

    /// Moves collections' own starts forward to where a batch read them up to (per position name), inside the
    /// batch's transaction: they were read again from before the sync point, which stays.
    public func advanceCollectionStarts(_ starts: [String: [Namespace: BSONTimestamp]]) async throws {
        for (source, collections) in starts.sorted(by: { $0.key < $1.key }) {
            for (collection, ts) in collections.sorted(by: { $0.key.description < $1.key.description }) {
                try await session.query(
                    """
                    UPDATE \(table("collection_starts")) SET oplog_ts = $3
                    WHERE collection = $1 AND source = $2 AND oplog_ts < $3
                    """, parameters: [collection.description, source, String(Int64(bitPattern: ts.packed))],
                    purpose: "advance the replay start of \(collection) on \(source)")
            }
        }
    }
}
