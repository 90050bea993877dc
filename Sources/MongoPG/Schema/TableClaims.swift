/// Which collection claims which table of one target schema. Two collections whose plans name one table would
/// make the second load replace the first's table (`a.dup` and `b.dup` both become `dup`; a collection
/// `orders_items` meets `orders`' child table `orders_items`), so a load checks its plan against the other
/// configured collections' plans and against the catalog before anything is replaced. Pure.
public struct TableClaims: Sendable {
    /// One claim: the table, the collection and where in it the table comes from.
    public struct Claim: Sendable, Equatable, CustomStringConvertible {
        public var table: String
        public var collection: String
        /// `$` for a root table, the array's JSON path for a child table.
        public var jsonPath: String
        /// Where the claim was read: a schema file's path, or the catalog.
        public var source: String

        public var description: String {
            let role = jsonPath == "$" ? "its root table" : "the table of \(jsonPath)"
            return "\(collection) (\(role), \(source))"
        }
    }

    private var owners: [FieldName: [Claim]] = [:]

    public init() {}

    /// Claims every table of `plan`, as read from `source`.
    public mutating func add(_ plan: TablePlan, source: String) {
        for table in plan.tables {
            add(
                Claim(
                    table: table.name, collection: plan.namespace.description, jsonPath: table.jsonPath, source: source)
            )
        }
    }

    public mutating func add(_ claim: Claim) { owners[FieldName(claim.table), default: []].append(claim) }

    /// Every table `collection` claims that another collection claims too, one line each, in table order: empty
    /// when the collection's tables are its own.
    public func collisions(of collection: Namespace) -> [String] {
        let name = collection.description
        return owners.values.compactMap { claims -> (String, String)? in
            guard let mine = claims.first(where: { $0.collection == name }),
                let other = claims.first(where: { $0.collection != name })
            else { return nil }
            return (mine.table, "table \"\(mine.table)\" is claimed by both \(mine) and \(other)")
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// `collisions(of:)` as one configuration error (exit 78), or nil when there is none.
    public func error(for collection: Namespace, targetSchema: String) -> SchemaError? {
        let lines = collisions(of: collection)
        guard !lines.isEmpty else { return nil }
        return SchemaError(
            .identifierCollision,
            "in target schema \(targetSchema), " + lines.joined(separator: "; ")
                + ": one load would replace the other's tables; give a collection a root table of its own in "
                + "[collections] (`\(collection) = <table>`)")
    }
}
