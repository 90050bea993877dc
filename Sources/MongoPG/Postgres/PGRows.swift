/// The rows of a query in libpq's text format, detached from the connection so they can cross sessions.
public struct PGRows: Sendable, Equatable {
    /// Column names in result order.
    public let columns: [String]
    /// One array per row, one text value per column; nil is SQL NULL.
    public let rows: [[String?]]
    /// What the command reported touching (`UPDATE 3` gives 3); nil for commands that report nothing.
    public let affectedRows: Int?

    public init(columns: [String], rows: [[String?]], affectedRows: Int? = nil) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }

    /// The first column of the first row; nil when there is no row or the value is NULL.
    public var scalar: String? { rows.first?.first ?? nil }

    /// The values of one column by name, one per row; nil when no column has that name.
    public func column(_ name: String) -> [String?]? {
        guard let index = columns.firstIndex(of: name) else { return nil }
        return rows.map { $0[index] }
    }

    /// One cell by row index and column name; nil for NULL or an unknown column.
    public subscript(row: Int, column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }
}
