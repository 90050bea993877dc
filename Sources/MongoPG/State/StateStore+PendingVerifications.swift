extension StateStore {
    /// The documents oplog-sync left to verify when its last batch committed: they differed while MongoDB already
    /// held newer changes, so a later batch settles them, in this run or the next.
    public func pendingVerifications() async throws -> [(namespace: Namespace, id: BSONValue)] {
        let rows = try await session.query(
            """
            SELECT collection, encode(document_id, 'hex') FROM \(table("pending_verifications"))
            ORDER BY collection, document_id
            """, purpose: "read the documents left to verify")
        return try rows.rows.map { row in
            let collection = row[0] ?? ""
            guard let namespace = Namespace(collection), let bytes = Hex.decode(row[1] ?? ""),
                let id = (try? BSONDecoder.decode(bytes))?["_id"]
            else {
                throw StateError(
                    .unexpectedAnswer, "a document left to verify of \(collection) in the state schema is damaged")
            }
            return (namespace, id)
        }
    }

    /// Replaces the documents left to verify, inside the transaction of the batch that leaves them (the caller's,
    /// on the store's session): committed with the data and the sync point, or not at all.
    public func replacePendingVerifications(_ documents: [(namespace: Namespace, id: BSONValue)]) async throws {
        let table = table("pending_verifications")
        try await session.execute("DELETE FROM \(table)", purpose: "forget the documents verified")
        guard !documents.isEmpty else { return }
        let collections = documents.map { SQLValue.text($0.namespace.description) }
        let ids = try documents.map { SQLValue.bytes(try BSONEncoder.encode(["_id": $0.id])) }
        try await session.query(
            """
            INSERT INTO \(table) (collection, document_id)
            SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT DO NOTHING
            """, values: [.array(collections), .array(ids)], purpose: "remember the documents left to verify")
    }
}
