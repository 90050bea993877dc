extension StateStore {
    /// The transactions replays left open (`OpenTransaction`), per source: their entries read, their end not yet.
    public func openTransactions() async throws -> [String: [OpenTransaction]] {
        let rows = try await session.query(
            """
            SELECT source, transaction, encode(operations, 'hex') FROM \(table("open_transactions"))
            ORDER BY source, first_ts, transaction
            """, purpose: "read the transactions left open")
        var open: [String: [OpenTransaction]] = [:]
        for row in rows.rows {
            let source = row[0] ?? ""
            guard let bytes = Hex.decode(row[2] ?? ""), let document = try? BSONDecoder.decode(bytes),
                let transaction = OpenTransaction(stored: document)
            else {
                throw StateError(
                    .unexpectedAnswer,
                    "the open transaction \(row[1] ?? "") of \(source) in the state schema is damaged")
            }
            open[source, default: []].append(transaction)
        }
        return open
    }

    /// Replaces the open transactions of the given sources, inside the caller's transaction: the batch that read
    /// their entries (and moves the sync point past them), so they are kept exactly when what they cover commits.
    public func keepOpenTransactions(_ transactions: [String: [OpenTransaction]]) async throws {
        let table = table("open_transactions")
        for (source, open) in transactions.sorted(by: { $0.key < $1.key }) {
            try await session.query(
                "DELETE FROM \(table) WHERE source = $1", parameters: [source],
                purpose: "forget the open transactions of \(source)")
            for transaction in open {
                try await session.query(
                    """
                    INSERT INTO \(table) (source, transaction, first_ts, last_ts, entries, operations)
                    VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'))
                    """,
                    parameters: [
                        source, transaction.name, String(Int64(bitPattern: transaction.firstTS.packed)),
                        String(Int64(bitPattern: transaction.lastTS.packed)), String(transaction.parts),
                        Hex.encode(try BSONEncoder.encode(transaction.stored)),
                    ], purpose: "keep the open transaction \(transaction.name) of \(source)")
            }
        }
    }
}
