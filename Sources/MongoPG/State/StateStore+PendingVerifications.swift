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

    /// Changes the documents left to verify by what a batch added and settled, inside the transaction of that batch
    /// (the caller's, on the store's session): committed with the data and the sync point, or not at all. A batch
    /// writes only its changes, so a long catch-up with many documents left pays for them once.
    public func updatePendingVerifications(
        adding added: [(namespace: Namespace, id: BSONValue)], removing removed: [(namespace: Namespace, id: BSONValue)]
    ) async throws {
        let table = table("pending_verifications")
        func columns(_ documents: [(namespace: Namespace, id: BSONValue)]) throws -> [SQLParameter] {
            [
                .array(documents.map { .text($0.namespace.description) }),
                .array(try documents.map { .bytes(try BSONEncoder.encode(["_id": $0.id])) }),
            ]
        }
        if !removed.isEmpty {
            try await session.query(
                """
                DELETE FROM \(table) t USING unnest($1::text[], $2::bytea[]) AS settled (collection, document_id)
                WHERE t.collection = settled.collection AND t.document_id = settled.document_id
                """, values: try columns(removed), purpose: "forget the documents verified")
        }
        if !added.isEmpty {
            try await session.query(
                """
                INSERT INTO \(table) (collection, document_id)
                SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT DO NOTHING
                """, values: try columns(added), purpose: "remember the documents left to verify")
        }
    }
}

extension StateStore {
    /// Forgets the documents left to verify of `collections`, inside the caller's transaction: once a resync brought
    /// their tables to what MongoDB holds, nothing is left to settle.
    public func forgetPendingVerifications(of collections: [Namespace]) async throws {
        try await session.query(
            "DELETE FROM \(table("pending_verifications")) WHERE collection = ANY($1::text[])",
            values: [.array(collections.map { .text($0.description) })],
            purpose: "forget the documents left to verify of the resynced collections")
    }
}
