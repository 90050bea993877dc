extension StateStore {
    /// The columns a `RunRecord` is read from, in `runRecord(_:)`'s order.
    private static let runColumns = """
        id, tool, host, pid, arguments, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), status, exit_code, message,
        figures::text,
        extract(epoch FROM coalesce(finished_at, clock_timestamp()) - started_at)::float8,
        extract(epoch FROM clock_timestamp() - coalesce(finished_at, last_seen_at, started_at))::float8
        """

    /// Ledger rows, newest first: at most `filter.last`, of one tool when `filter.tool` is set, only the ones that
    /// did not end well (failed, or still marked running: `RunRecord.resolvingDied` tells which died) when
    /// `filter.failed`.
    public func runs(_ filter: RunFilter) async throws -> [RunRecord] {
        let rows = try await session.query(
            """
            SELECT \(Self.runColumns) FROM \(table("runs"))
            WHERE ($2::text IS NULL OR tool = $2) AND (NOT $3::boolean OR status <> \(RunStatus.ok.sqlLiteral))
            ORDER BY id DESC LIMIT $1
            """, parameters: [String(filter.last), filter.tool, filter.failed ? "true" : "false"],
            purpose: "read the run ledger")
        return try rows.rows.map(Self.runRecord)
    }

    /// The newest run of `tool` that ended well, or nil.
    public func lastSuccessfulRun(tool: String) async throws -> RunRecord? {
        let rows = try await session.query(
            """
            SELECT \(Self.runColumns) FROM \(table("runs")) WHERE tool = $1 AND status = \(RunStatus.ok.sqlLiteral)
            ORDER BY id DESC LIMIT 1
            """,
            parameters: [tool], purpose: "read the last successful run of \(tool)")
        return try rows.rows.first.map(Self.runRecord)
    }

    /// The newest run of every tool in the ledger.
    public func lastRunPerTool() async throws -> [RunRecord] {
        let rows = try await session.query(
            "SELECT DISTINCT ON (tool) \(Self.runColumns) FROM \(table("runs")) ORDER BY tool, id DESC",
            purpose: "read the newest run of each tool")
        return try rows.rows.map(Self.runRecord)
    }

    private static func runRecord(_ row: [String?]) throws -> RunRecord {
        let id = try number(row[0], of: "the id of a run")
        let figures = try row[10].map { try JSONDecoderShim.decode([String: Double].self, from: $0) } ?? [:]
        return RunRecord(
            id: id, tool: row[1] ?? "", host: row[2] ?? "",
            pid: Int32(truncatingIfNeeded: try number(row[3], of: "the pid of run \(id)")), arguments: row[4] ?? "",
            startedAt: row[5] ?? "", finishedAt: row[6], status: try Self.status(row[7], of: "run \(id)"),
            exitCode: row[8].flatMap { Int32($0) }, message: row[9], figures: figures,
            durationSeconds: row[11].flatMap(Double.init) ?? 0, ageSeconds: row[12].flatMap(Double.init) ?? 0)
    }
}
