/// The `[sync]` settings that shape tables and rows (DESIGN.md, "Configuration"); the INI loader maps onto this.
public struct FlattenSettings: Sendable, Equatable, Codable {
    /// Keep values the schema cannot hold (unknown fields, ill-typed values) in the root table's `_extra jsonb`.
    public var keepExtra: Bool
    /// Strip NUL bytes from strings instead of refusing the document.
    public var stripNUL: Bool
    /// Prepended to every table name.
    public var tablePrefix: String
    /// The PostgreSQL schema holding the tables.
    public var targetSchema: String

    public init(
        keepExtra: Bool = false, stripNUL: Bool = false, tablePrefix: String = "", targetSchema: String = "public"
    ) {
        self.keepExtra = keepExtra
        self.stripNUL = stripNUL
        self.tablePrefix = tablePrefix
        self.targetSchema = targetSchema
    }
}
