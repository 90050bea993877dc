extension StateStore {
    /// The timestamp format of freshness answers: ISO 8601 in UTC, milliseconds kept.
    private static let isoUTC = #"'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"#

    /// How long recorded freshness checks are kept: `check` and `metrics` run every minute or so.
    static let freshnessRetention = "30 days"

    /// Measures each rule's table in `targetSchema` (`max(column)` and its age by the server's clock) and records
    /// every result in `freshness_checks`, dropping records older than `freshnessRetention`. A table or column
    /// that does not exist, or a column that is no timestamp, is a result holding the server's reason, not a
    /// failure: the other tables are still measured. Losing the connection is thrown.
    public func checkFreshness(_ rules: [FreshnessRule], targetSchema: String) async throws -> [FreshnessResult] {
        var results: [FreshnessResult] = []
        for rule in rules {
            var result = FreshnessResult(
                schema: targetSchema, table: rule.table, column: rule.column, maxAgeSeconds: rule.maxAge.seconds)
            let column = PostgresSQL.quoteIdentifier(rule.column)
            do throws(PostgresError) {
                let rows = try await session.query(
                    """
                    SELECT to_char(newest AT TIME ZONE 'UTC', \(Self.isoUTC)),
                           extract(epoch FROM clock_timestamp() - newest)::float8
                    FROM (SELECT max(\(column))::timestamptz AS newest
                          FROM \(PostgresSQL.qualifiedName(schema: targetSchema, rule.table))) AS m
                    """, purpose: "measure the freshness of \(rule.table).\(rule.column)")
                result.newest = rows.rows.first?[0] ?? nil
                result.ageSeconds = (rows.rows.first?[1] ?? nil).flatMap(Double.init)
            } catch {
                guard error.kind == .statement, error.sqlState != nil else { throw error }
                result.error = error.serverMessage + (error.sqlState.map { " [SQLSTATE \($0)]" } ?? "")
            }
            results.append(result)
        }
        let table = table("freshness_checks")
        let measured = results
        let retention = Self.freshnessRetention
        return try await session.withTransaction(purpose: "record freshness checks") { session in
            try session.query(
                "DELETE FROM \(table) WHERE checked_at < clock_timestamp() - $1::interval", parameters: [retention],
                purpose: "drop freshness checks older than \(retention)")
            return try measured.map { result in
                var result = result
                result.checkedAt = try session.query(
                    """
                    INSERT INTO \(table) (table_schema, table_name, column_name, max_age_seconds, newest, age_seconds,
                        error)
                    VALUES ($1, $2, $3, $4, $5::timestamptz, $6, $7)
                    RETURNING to_char(checked_at AT TIME ZONE 'UTC', \(Self.isoUTC))
                    """,
                    parameters: [
                        result.schema, result.table, result.column, String(result.maxAgeSeconds), result.newest,
                        result.ageSeconds.map { String($0) }, result.error,
                    ], purpose: "record the freshness of \(result.table).\(result.column)"
                ).scalar
                return result
            }
        }
    }

    /// The recorded freshness checks, newest first, at most `last`; only `table`'s when given.
    public func freshnessHistory(last: Int, table tableName: String? = nil) async throws -> [FreshnessResult] {
        let rows = try await session.query(
            """
            SELECT table_schema, table_name, column_name, max_age_seconds,
                   to_char(checked_at AT TIME ZONE 'UTC', \(Self.isoUTC)),
                   to_char(newest AT TIME ZONE 'UTC', \(Self.isoUTC)), age_seconds, error
            FROM \(table("freshness_checks")) WHERE $2::text IS NULL OR table_name = $2
            ORDER BY id DESC LIMIT $1
            """, parameters: [String(last), tableName], purpose: "read the freshness checks")
        return try rows.rows.map { row in
            FreshnessResult(
                schema: row[0] ?? "", table: row[1] ?? "", column: row[2] ?? "",
                maxAgeSeconds: try Self.number(row[3], of: "the max age of a freshness check"), checkedAt: row[4],
                newest: row[5], ageSeconds: row[6].flatMap(Double.init), error: row[7])
        }
    }
}
