/// `[psql] distribute`: how psql-copy creates a collection's tables.
public enum Distribution: String, Sendable, Equatable, CaseIterable {
    /// `citus` when the target database has the `citus` extension, else `none`.
    case auto
    /// Citus distributed tables: the root by hash of `_id`, each child table by its `<root>_id` column, co-located
    /// with the root (a collection is one colocation group), so a document's rows live on one shard.
    case citus
    /// Ordinary tables.
    case none
}

extension TablePlan {
    /// The column a table is distributed by on Citus: its document-ID column, `_id` in the root and `<root>_id` in a
    /// child. Every per-document statement names it, so each one touches a single shard.
    public func distributionColumn(_ table: PlannedTable) -> PlannedColumn {
        // The plan makes the document ID the first key column of every table (`PlannedColumn.Role.documentID`).
        table.keyColumns[0]
    }

    /// `"<document-ID column>" = ANY (...)` of `table` for the ids in `array` (SQL text: a parameter with its cast),
    /// the condition by which statements find documents' rows. On Citus the array goes as it is: a constant array
    /// on the distribution column lets Citus send the statement only to the shards of those ids. On plain
    /// PostgreSQL the array is handed over by a subquery, whose length the planner cannot see: with the array in
    /// view it estimates a batch's share of a table of tens of thousands of rows high enough to scan the whole table
    /// for every batch (1000 ids against 90k rows: 36 ms scanning, 19 ms by index); unseen, it takes the index,
    /// whose first column this is, one lookup per id.
    public func documentCondition(_ table: PlannedTable, array: String, alias: String? = nil) -> String {
        let column = (alias.map { $0 + "." } ?? "") + Identifier.quoted(distributionColumn(table).name)
        return isDistributed ? "\(column) = ANY (\(array))" : "\(column) = ANY (ARRAY(SELECT unnest(\(array))))"
    }

    /// This plan, marked as describing distributed tables or not.
    public func distributed(_ distributed: Bool) -> TablePlan {
        var plan = self
        plan.isDistributed = distributed
        return plan
    }
}
