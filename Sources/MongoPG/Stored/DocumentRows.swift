/// One document's rows as PostgreSQL holds them: for each table of the plan, in plan order, the document's rows in
/// that table (in any order), each a list of typed cells in the table's column order. What the readers of
/// `StoredDocuments` give and `DocumentRebuilder.rebuild` takes.
public struct DocumentRows: Sendable, Equatable {
    /// One entry per plan table; each a list of rows.
    public var tables: [[[SQLValue]]]

    /// No rows yet, in `tableCount` tables.
    public init(tableCount: Int) { tables = Array(repeating: [], count: tableCount) }

    public init(tables: [[[SQLValue]]]) { self.tables = tables }

    /// The rows of the table at `index` in plan order.
    public subscript(table index: Int) -> [[SQLValue]] {
        get { tables[index] }
        set { tables[index] = newValue }
    }

    /// Adds one row to the table at `index` in plan order.
    public mutating func append(_ row: [SQLValue], toTable index: Int) { tables[index].append(row) }

    /// Whether no table holds a row: the document is not stored.
    public var isEmpty: Bool { tables.allSatisfy(\.isEmpty) }

    /// Rows across all tables.
    public var rowCount: Int { tables.reduce(0) { $0 + $1.count } }
}
