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
    /// `[collections] DB.COLL = table`: root table names given in the configuration, by namespace (`DB.COLL`),
    /// used as given (without `tablePrefix`). A collection without one gets `tablePrefix` + its collection name.
    public var rootTableNames: [String: String]
    /// The key of `{"hash": ...}` leaves, from the variable `[sync] hash_key_env` names (`hashKeyVariable`); a plan
    /// with such a leaf needs one. Never encoded.
    public var hashKey: HashKey? = nil
    public var hashKeyVariable: String? = nil

    private enum CodingKeys: String, CodingKey {
        case keepExtra, stripNUL, tablePrefix, targetSchema, rootTableNames
    }

    public init(
        keepExtra: Bool = false, stripNUL: Bool = false, tablePrefix: String = "", targetSchema: String = "public",
        rootTableNames: [String: String] = [:], hashKeyVariable: String? = nil, hashKey: HashKey? = nil
    ) {
        self.hashKeyVariable = hashKeyVariable
        self.hashKey = hashKey
        self.keepExtra = keepExtra
        self.stripNUL = stripNUL
        self.tablePrefix = tablePrefix
        self.targetSchema = targetSchema
        self.rootTableNames = rootTableNames
    }

    /// The unsanitised name of `namespace`'s root table: the configured one, else the prefix and the collection
    /// name. Child tables are named after it (`<root>_<field>`), so every tool derives the same names from it.
    public func rootTableName(of namespace: Namespace) -> String {
        rootTableNames[namespace.description] ?? tablePrefix + namespace.collection
    }
}
