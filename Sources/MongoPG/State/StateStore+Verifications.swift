extension StateStore {
    /// The timestamp format of verification answers: ISO 8601 in UTC, seconds.
    private static let verificationTime = #"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#

    /// Records one verification and the first of its findings (`findingsJSON`, a JSON array), returning when it
    /// was recorded.
    public func recordVerification(_ record: VerificationRecord, findingsJSON: String) async throws
        -> VerificationRecord
    {
        var recorded = record
        recorded.finishedAt = try await session.query(
            """
            INSERT INTO \(table("verifications")) (run_id, collection, mode, documents_checked, different, missing,
                extra, unstorable, pending, repaired, divergent, findings)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)
            RETURNING to_char(finished_at AT TIME ZONE 'UTC', \(Self.verificationTime))
            """,
            parameters: [
                record.runID.map { String($0) }, record.collection, record.mode, String(record.documentsChecked),
                String(record.different), String(record.missing), String(record.extra), String(record.unstorable),
                String(record.pending), String(record.repaired), String(record.divergent), findingsJSON,
            ], purpose: "record the verification of \(record.collection)"
        ).scalar
        return recorded
    }

    /// The newest verification of each collection, by collection name.
    public func lastVerifications() async throws -> [VerificationRecord] {
        let rows = try await session.query(
            """
            SELECT DISTINCT ON (collection) collection, mode, run_id,
                   to_char(finished_at AT TIME ZONE 'UTC', \(Self.verificationTime)),
                   documents_checked, different, missing, extra, unstorable, pending, repaired, divergent,
                   extract(epoch FROM clock_timestamp() - finished_at)::float8
            FROM \(table("verifications")) ORDER BY collection, id DESC
            """, purpose: "read the newest verifications")
        return try rows.rows.map { row in
            func count(_ index: Int) throws -> Int64 { try Self.number(row[index], of: "a verification count") }
            return VerificationRecord(
                collection: row[0] ?? "", mode: row[1] ?? "", runID: row[2].flatMap { Int64($0) },
                finishedAt: row[3], documentsChecked: try count(4), different: try count(5), missing: try count(6),
                extra: try count(7), unstorable: try count(8), pending: try count(9), repaired: try count(10),
                divergent: try count(11), ageSeconds: row[12].flatMap(Double.init))
        }
    }
}
