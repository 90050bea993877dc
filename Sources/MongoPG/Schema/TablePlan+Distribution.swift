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
}
