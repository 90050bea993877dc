/// Citus, the PostgreSQL extension that shards tables across worker nodes: whether a database has it, and the
/// statements that distribute a collection's tables (`[psql] distribute`).
public enum Citus {
    /// Whether `distribution` means distributed tables in the database `session` reaches: `auto` asks whether the
    /// `citus` extension is installed there; `citus` demands it (a configuration error, 78, when it is missing).
    public static func distributes(_ distribution: Distribution, on session: PostgresSession) async throws -> Bool {
        if distribution == .none { return false }
        let installed =
            try await session.query(
                "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus'", purpose: "look for the citus extension"
            ).rows.isEmpty == false
        guard installed || distribution == .auto else {
            throw GeneralError(
                .configError,
                "[psql] distribute = citus, but the target database has no citus extension (CREATE EXTENSION citus "
                    + "on the coordinator, or distribute = none / auto for ordinary tables)")
        }
        return installed
    }

    /// `SELECT create_distributed_table(...)` of `table` in `schema`: the root hash-distributed by `_id` in a
    /// colocation group of its own (collections never share one, so a reload of one leaves the others' alone), each
    /// child by `<root>_id`, co-located with the root of the same schema, so that a document's rows share a shard.
    /// The root must be distributed first.
    public static func distributeStatement(_ table: PlannedTable, of plan: TablePlan, inSchema schema: String) -> String
    {
        let colocation = table.parent == nil ? "none" : plan.qualifiedName(plan.tables[0], inSchema: schema)
        return "SELECT create_distributed_table("
            + "\(PostgresSQL.quoteLiteral(plan.qualifiedName(table, inSchema: schema))), "
            + "\(PostgresSQL.quoteLiteral(plan.distributionColumn(table).name)), "
            + "colocate_with => \(PostgresSQL.quoteLiteral(colocation)))"
    }
}
