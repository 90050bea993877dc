/// A collection's catalog (`catalog_tables`, `catalog_columns`) that cannot give back the plan its tables were
/// loaded with. Verification rebuilds documents through that plan, so without it the tables cannot be checked: the
/// answer is a new load of the collection, which rewrites tables and catalog together (exit 1).
public struct CatalogError: ToolError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// No catalog rows for the collection: it was never loaded by psql-copy.
        case missing
        /// A row that cannot be read: an unknown type or role, a JSON path that does not parse or lies outside its
        /// table, a parent that is not in the catalog.
        case damaged
        /// The plan compiled from the catalog's schema has a table or column the catalog does not, or another name,
        /// path, type or position.
        case mismatch
    }
    public var kind: Kind
    public var collection: String
    public var message: String
    /// The table (and column) at fault, when one is.
    public var table: String? = nil
    public var column: String? = nil

    public init(_ kind: Kind, collection: String, _ message: String, table: String? = nil, column: String? = nil) {
        self.kind = kind
        self.collection = collection
        self.message = message
        self.table = table
        self.column = column
    }

    public var description: String {
        let place = table.map { " (table \($0)\(column.map { ", column \($0)" } ?? ""))" } ?? ""
        return "catalog of \(collection)\(place): \(message)"
    }

    public var exitStatus: ExitStatus { .initLoadNeeded }
}
