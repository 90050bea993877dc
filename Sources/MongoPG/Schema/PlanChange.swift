/// What a schema file edited since a load changes in the tables the load built (DESIGN.md, "Schema files"): the plan
/// compiled from the catalog against the plan compiled from the file. Pure.
///
/// Additive changes can be applied in place: a new column on an existing table (a new field, fields of a new nested
/// object, `_extra`), a new child table (a new array), a widening of a value column (int → long, int or long →
/// double, any scalar → json). Anything else is a conflict that only a load of the collection resolves: a column or
/// table the file no longer gives (a field removed, an array become a scalar or the reverse), a type changed
/// otherwise (a narrowing, or int → decimal: the relational model stores only decimal128 values in numeric
/// columns, so every int already loaded would stop fitting), a key column changed.
public struct PlanChange: Sendable {
    /// One additive step.
    public struct Addition: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable { case column, table, widening }
        public var kind: Kind
        public var table: String
        /// The new or widened column; nil for a table.
        public var column: String?
        public var jsonPath: String
        /// A widening's old type and every addition's new one, as schema types (`_extra`: "object").
        public var from: String?
        public var to: String

        public var description: String {
            switch kind {
            case .table: "new table \(table) (\(jsonPath))"
            case .column: "new column \(table).\(column ?? "") (\(jsonPath), \(to))"
            case .widening: "column \(table).\(column ?? "") widened from \(from ?? "?") to \(to) (\(jsonPath))"
            }
        }
    }

    /// A difference no in-place change brings about.
    public struct Conflict: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable {
            /// A column or table the new plan does not give.
            case absent
            /// A field become an array or the reverse.
            case shape
            /// A value column's type narrowed (the new type widens into the old one), or changed otherwise.
            case narrowed, retyped
            /// A key column's type or a column's place changed.
            case key
        }
        public var kind: Kind
        public var jsonPath: String
        public var reason: String

        public var description: String { "\(jsonPath): \(reason)" }
    }

    /// The plan the tables were built with (from the catalog) and the one the schema file gives.
    public let old: TablePlan
    public let new: TablePlan
    public private(set) var additions: [Addition] = []
    public private(set) var conflicts: [Conflict] = []

    public var isEmpty: Bool { additions.isEmpty && conflicts.isEmpty }
    public var isAdditive: Bool { conflicts.isEmpty }

    /// Compares `new` with `old`, table by JSON path and column by name. `new` must be compiled with `old`'s
    /// settings (`TablePlan(schema:settings: old.settings)`), so that names are derived alike.
    public init(from old: TablePlan, to new: TablePlan) {
        self.old = old
        self.new = new
        var newTables: [FieldName: Int] = [:]
        for (index, table) in new.tables.enumerated() { newTables[FieldName(table.jsonPath)] = index }
        var kept: Set<Int> = []
        for table in old.tables {
            guard let index = newTables[FieldName(table.jsonPath)] else {
                conflicts.append(vanishedArray(table))
                continue
            }
            kept.insert(index)
            compareColumns(of: table, with: new.tables[index])
        }
        for (index, table) in new.tables.enumerated() where !kept.contains(index) {
            additions.append(Addition(kind: .table, table: table.name, jsonPath: table.jsonPath, to: "array"))
        }
    }

    /// Whether a column of schema type `from` may become `to` in place, every value it holds staying exact.
    public static func widens(_ from: ScalarType, to: ScalarType) -> Bool {
        switch (from, to) {
        case (.int, .long), (.int, .double), (.long, .double): true
        case (_, .json): from != .json
        default: false
        }
    }

    private func vanishedArray(_ table: PlannedTable) -> Conflict {
        let path = FieldName(table.jsonPath)
        if let column = new.tables.lazy.flatMap(\.columns).first(where: { FieldName($0.jsonPath) == path }) {
            return Conflict(
                kind: .shape, jsonPath: table.jsonPath,
                reason: "an array (table \(table.name)) that the schema file now gives as \(column.bsonType)")
        }
        return Conflict(
            kind: .absent, jsonPath: table.jsonPath,
            reason: "an array (table \(table.name)) that the schema file no longer gives")
    }

    private mutating func compareColumns(of table: PlannedTable, with newTable: PlannedTable) {
        var newColumns: [FieldName: PlannedColumn] = [:]
        for column in newTable.columns { newColumns[FieldName(column.name)] = column }
        for column in table.columns {
            guard let replacement = newColumns.removeValue(forKey: FieldName(column.name)) else {
                conflicts.append(vanishedColumn(column, of: table))
                continue
            }
            guard FieldName(replacement.jsonPath) == FieldName(column.jsonPath), replacement.role == column.role else {
                conflicts.append(
                    Conflict(
                        kind: .key, jsonPath: column.jsonPath,
                        reason: "column \(table.name).\(column.name) would hold \(replacement.jsonPath) instead"))
                continue
            }
            guard let type = column.scalarType, let newType = replacement.scalarType, column.role == .value else {
                if replacement.sqlType != column.sqlType || replacement.bsonType != column.bsonType {
                    conflicts.append(
                        Conflict(
                            kind: .key, jsonPath: column.jsonPath,
                            reason: "key column \(table.name).\(column.name) would change from \(column.bsonType) "
                                + "to \(replacement.bsonType)"))
                }
                continue
            }
            if type == newType { continue }
            guard Self.widens(type, to: newType) else {
                conflicts.append(
                    Conflict(
                        kind: Self.widens(newType, to: type) ? .narrowed : .retyped, jsonPath: column.jsonPath,
                        reason: "type changed from \(type.rawValue) to \(newType.rawValue), which is not a widening"))
                continue
            }
            additions.append(
                Addition(
                    kind: .widening, table: table.name, column: column.name, jsonPath: column.jsonPath,
                    from: type.rawValue, to: newType.rawValue))
        }
        for column in newTable.columns where newColumns[FieldName(column.name)] != nil {
            additions.append(
                Addition(
                    kind: .column, table: table.name, column: column.name, jsonPath: column.jsonPath,
                    to: column.bsonType))
        }
    }

    private func vanishedColumn(_ column: PlannedColumn, of table: PlannedTable) -> Conflict {
        if new.tables.contains(where: { FieldName($0.jsonPath) == FieldName(column.jsonPath) }) {
            return Conflict(
                kind: .shape, jsonPath: column.jsonPath,
                reason: "a field (column \(table.name).\(column.name)) that the schema file now gives as an array")
        }
        return Conflict(
            kind: .absent, jsonPath: column.jsonPath,
            reason: "a field (column \(table.name).\(column.name)) that the schema file no longer gives")
    }

    /// The DDL of the additions, in the target schema, parents before children: `CREATE TABLE` with the primary key
    /// for a new array, `ALTER TABLE ... ADD COLUMN` for a new column, `ALTER COLUMN ... TYPE ... USING` for a
    /// widening (the jsonb a scalar becomes may differ from what the flattener writes for some types, such as an
    /// ObjectId's text: convergence rewrites those documents).
    public var statements: [String] {
        var statements: [String] = []
        let tables = Dictionary(new.tables.map { (FieldName($0.name), $0) }, uniquingKeysWith: { first, _ in first })
        for addition in additions {
            guard let table = tables[FieldName(addition.table)] else { continue }
            let name = new.qualifiedName(table)
            switch addition.kind {
            case .table:
                statements.append(new.createStatement(table, inSchema: new.settings.targetSchema, withPrimaryKey: true))
            case .column:
                guard
                    let column = table.columns.first(where: { FieldName($0.name) == FieldName(addition.column ?? "") })
                else { continue }
                statements.append(
                    "ALTER TABLE \(name) ADD COLUMN \(Identifier.quoted(column.name)) \(column.sqlType.rawValue)")
            case .widening:
                guard
                    let column = table.columns.first(where: { FieldName($0.name) == FieldName(addition.column ?? "") })
                else { continue }
                let quoted = Identifier.quoted(column.name)
                let using =
                    column.sqlType == .jsonb ? "to_jsonb(\(quoted))" : "\(quoted)::\(column.sqlType.rawValue)"
                statements.append(
                    "ALTER TABLE \(name) ALTER COLUMN \(quoted) TYPE \(column.sqlType.rawValue) USING \(using)")
            }
        }
        return statements
    }

    /// The widened columns, as (table, column): the ones a view may pin.
    public var widenedColumns: [(table: String, column: String)] {
        additions.filter { $0.kind == .widening }.map { ($0.table, $0.column ?? "") }
    }
}
