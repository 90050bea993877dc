import Foundation

/// A collection's schema compiled into tables (DESIGN.md, "Relational model"): names, columns, SQL types, keys,
/// the JSON path each column comes from and the parent links. The flattener, the DDL, the catalog and the rebuilder
/// all read this one plan, so they cannot disagree.
public struct TablePlan: Sendable {
    public let schema: CollectionSchema
    public let settings: FlattenSettings
    /// Root table first, then child tables depth-first in schema order; a table's parent always comes before it.
    public let tables: [PlannedTable]
    /// The schema type of `_id`, deciding the key columns' SQL type.
    public let idType: ScalarType
    /// How the root document's fields (all but `_id`) map onto columns and child tables.
    let root: ObjectPlan
    /// The live tables are Citus distributed tables (the catalog's `distribution_column`; a plan from a schema file
    /// says false): statements on them are written so that Citus routes each to the shards of its documents.
    public internal(set) var isDistributed = false

    /// PostgreSQL's INDEX_MAX_KEYS: a primary key holds at most this many columns, so arrays nest at most 31 deep.
    public static let maximumKeyColumns = 32

    public var namespace: Namespace { schema.namespace }
    public var rootTable: PlannedTable { tables[0] }

    /// Compiles a schema; throws `SchemaError.identifierCollision` naming both paths when two of them would share a
    /// table or column name.
    public init(schema: CollectionSchema, settings: FlattenSettings = FlattenSettings()) throws(SchemaError) {
        var builder = Builder(settings: settings)
        guard let id = schema.fields.first(where: { $0.name == "_id" }), case .scalar(let idType) = id.node else {
            throw SchemaError(.badSchemaFile, "the schema has no scalar \"_id\" field", path: "$._id")
        }
        let rootName = settings.rootTableName(of: schema.namespace)
        builder.idSQLType = idType.sqlType
        builder.rootFullName = rootName
        try builder.addTable(fullName: rootName, jsonPath: "$", parent: nil, ancestors: [])
        try builder.addColumn(
            table: 0, fullName: "_id", role: .documentID, sqlType: idType.sqlType, bsonType: idType.rawValue,
            jsonPath: "$._id", scalarType: idType)
        let rest = schema.fields.filter { $0.name != "_id" }
        guard
            case .object(let rootPlan) = try builder.object(
                rest, table: 0, namePrefix: "", jsonPath: "$", ancestors: [])
        else { fatalError("an object compiles to an object plan") }
        root = rootPlan
        if settings.keepExtra {
            try builder.addColumn(
                table: 0, fullName: "_extra", role: .extra, sqlType: .jsonb, bsonType: "object", jsonPath: "$",
                scalarType: nil)
        }
        for table in builder.tables where table.columns.count > Self.maximumColumns {
            throw Self.tooWide(table)
        }
        if settings.hashKey == nil,
            let hashed = builder.tables.lazy.flatMap(\.columns).first(where: { $0.hashFormat != nil })
        {
            throw SchemaError.missingHashKey(path: hashed.jsonPath, variable: settings.hashKeyVariable)
        }
        self.schema = schema
        self.settings = settings
        self.idType = idType
        tables = builder.tables
    }

    /// PostgreSQL's MaxHeapAttributeNumber: a table holds at most 1600 columns (54011 at CREATE TABLE otherwise).
    public static let maximumColumns = 1600

    /// A table wider than PostgreSQL allows, refused when the schema loads (before any reading), naming the object
    /// with the most columns in it as the part to give the type "json".
    private static func tooWide(_ table: PlannedTable) -> SchemaError {
        let byObject = Dictionary(grouping: table.columns.map(\.jsonPath)) { path in
            path.lastIndex(of: ".").map { String(path[..<$0]) } ?? path
        }
        let widest = byObject.max {
            $0.value.count < $1.value.count || ($0.value.count == $1.value.count && $0.key > $1.key)
        }
        let suggestion = widest.map { " (the widest part is \($0.key), \($0.value.count) columns)" } ?? ""
        return SchemaError(
            .badSchemaFile,
            "table \"\(table.name)\" would have \(table.columns.count) columns; PostgreSQL allows \(maximumColumns): "
                + "give its wide part the type \"json\" in the schema file, one jsonb column\(suggestion)",
            path: table.jsonPath)
    }

    /// The `CREATE TABLE` statements, one per table, quoted and schema-qualified, with their primary keys.
    public var createStatements: [String] {
        tables.map { createStatement($0, inSchema: settings.targetSchema, withPrimaryKey: true) + ";" }
    }

    /// All statements as one script, in parent-before-child order.
    public var ddl: String { createStatements.joined(separator: "\n\n") + "\n" }

    /// `CREATE TABLE` of one table in `schema` (without a final semicolon), with or without its primary key: a load
    /// creates its staging tables without and adds the key after the data (`primaryKeyStatement`).
    public func createStatement(_ table: PlannedTable, inSchema schema: String, withPrimaryKey: Bool) -> String {
        var lines = table.columns.map { column in
            "    \(Identifier.quoted(column.name)) \(column.sqlType.rawValue)" + (column.isKey ? " NOT NULL" : "")
        }
        if withPrimaryKey { lines.append("    PRIMARY KEY \(keyList(table))") }
        return "CREATE TABLE \(qualifiedName(table, inSchema: schema)) (\n" + lines.joined(separator: ",\n") + "\n)"
    }

    /// `ALTER TABLE ... ADD PRIMARY KEY` of one table in `schema`.
    public func primaryKeyStatement(_ table: PlannedTable, inSchema schema: String) -> String {
        "ALTER TABLE \(qualifiedName(table, inSchema: schema)) ADD PRIMARY KEY \(keyList(table))"
    }

    /// `("key", ...)`: the primary key's columns, quoted.
    private func keyList(_ table: PlannedTable) -> String {
        "(" + table.keyColumns.map { Identifier.quoted($0.name) }.joined(separator: ", ") + ")"
    }

    /// `"schema"."table"` in the target schema.
    public func qualifiedName(_ table: PlannedTable) -> String { qualifiedName(table, inSchema: settings.targetSchema) }

    /// `"schema"."table"`.
    public func qualifiedName(_ table: PlannedTable, inSchema schema: String) -> String {
        Identifier.quoted(schema) + "." + Identifier.quoted(table.name)
    }

    /// The plan as catalog rows, one per table.
    public var catalogTables: [CatalogTable] {
        tables.map { table in
            CatalogTable(
                collection: namespace.description, table: table.name, jsonPath: table.jsonPath,
                parentTable: table.parent.map { tables[$0].name }, arrayDepth: table.arrayDepth)
        }
    }

    /// The JSON paths of the excluded places, in schema order: the catalog records them, so that a plan compiled from
    /// it never mistakes an excluded field for an unknown one (kept in `_extra`).
    public var excludedPaths: [String] { Self.excludedPaths(schema.fields, jsonPath: "$") }

    private static func excludedPaths(_ fields: [SchemaField], jsonPath: String) -> [String] {
        fields.flatMap { field -> [String] in
            let path = jsonPath + JSONPath.member(field.name)
            var node = field.node
            var elementPath = path
            while case .array(let element) = node {
                node = element
                elementPath += JSONPath.anyElement
            }
            switch node {
            case .excluded: return [path]
            case .object(let inner): return excludedPaths(inner, jsonPath: elementPath)
            case .scalar, .hashed, .array: return []
            }
        }
    }

    /// Whether a value or its parts are hashed anywhere in the plan.
    public var hashesValues: Bool { tables.contains { $0.columns.contains { $0.hashFormat != nil } } }

    /// The plan as catalog rows, one per column of every table.
    public var catalogColumns: [CatalogColumn] {
        tables.flatMap { table in
            table.columns.enumerated().map { position, column in
                CatalogColumn(
                    collection: namespace.description, table: table.name, column: column.name, position: position,
                    jsonPath: column.jsonPath, bsonType: column.bsonType, sqlType: column.sqlType.rawValue,
                    parentTable: table.parent.map { tables[$0].name }, role: column.role.catalogName)
            }
        }
    }
}

/// One table of a plan.
public struct PlannedTable: Sendable {
    /// The sanitised table name (without the target schema).
    public let name: String
    /// Where its rows come from: `$` for the root, `$.orders`, `$.orders[*].lines`, `$.matrix[*]` for `_items`.
    public let jsonPath: String
    /// Index of the parent table in `TablePlan.tables`; nil for the root.
    public let parent: Int?
    /// How many arrays enclose a row: 0 for the root, 1 for `customers_accounts`, ...
    public let arrayDepth: Int
    public internal(set) var columns: [PlannedColumn] = []
    /// How an element of this table's array maps onto its columns; nil for the root.
    var element: PlanNode? = nil
    /// Whether an excluded or hashed leaf lies in its elements: a value that is no array here is then never kept in
    /// `_extra`.
    var holdsPrivate = false

    /// The primary key: `_id` for the root; (`<root>_id`, ancestor `_idx`..., `idx`) for a child.
    public var keyColumns: [PlannedColumn] { columns.filter(\.isKey) }
}

/// One column of a planned table.
public struct PlannedColumn: Sendable {
    public enum Role: Sendable, Equatable {
        /// The root document's `_id`: `_id` in the root, `<root table>_id` in children.
        case documentID
        /// The index in the enclosing array at this depth (0 = outermost): `<ancestor table>_idx`.
        case ancestorIndex(Int)
        /// The row's own 0-based array index, `idx`.
        case index
        /// A value from the document.
        case value
        /// The root's `_extra jsonb`: values the schema cannot hold, under their dotted paths.
        case extra

        var catalogName: String {
            switch self {
            case .documentID: "document_id"
            case .ancestorIndex: "ancestor_index"
            case .index: "index"
            case .value: "value"
            case .extra: "extra"
            }
        }
    }

    public let name: String
    public let role: Role
    public let sqlType: SQLType
    /// The BSON type expected, as a `$type` alias ("int" for indexes, "object" for `_extra`).
    public let bsonType: String
    public let jsonPath: String
    /// The schema type of a value or `_id` column; nil for a hashed one.
    public let scalarType: ScalarType?
    /// How a `{"hash": ...}` leaf's column holds its hash; nil for every other column.
    public var hashFormat: HashFormat? = nil

    /// The BSON type the catalog records for a hashed column.
    public static let hashType = "hash"

    public var isKey: Bool {
        switch role {
        case .documentID, .ancestorIndex, .index: true
        case .value, .extra: false
        }
    }
}

/// A `catalog_tables` row as a plain value; the state schema writes it.
public struct CatalogTable: Sendable, Equatable, Codable {
    public var collection: String
    public var table: String
    public var jsonPath: String
    public var parentTable: String?
    public var arrayDepth: Int
}

/// A `catalog_columns` row as a plain value; the state schema writes it.
public struct CatalogColumn: Sendable, Equatable, Codable {
    public var collection: String
    public var table: String
    public var column: String
    public var position: Int
    public var jsonPath: String
    public var bsonType: String
    public var sqlType: String
    public var parentTable: String?
    public var role: String
}

/// The compiled walk: how a value at some place of the document reaches columns and child tables.
enum PlanNode: Sendable {  // not indirect: copying a column or array node is then free
    /// A column of the current table.
    case column(Int, ScalarType)
    /// A column of the current table holding the keyed hash of whatever value is here.
    case hashed(Int, HashFormat)
    /// A place whose value is never loaded, whatever it holds.
    case excluded
    /// An object whose fields map onto columns of the current table (and child tables).
    case object(ObjectPlan)
    /// An array: one row per element in `table`, each element mapped by that table's `element` node.
    case array(table: Int)
}

struct ObjectPlan: Sendable {
    var fields: [(name: String, node: PlanNode)] = []
    /// Whether an excluded or hashed leaf lies below: a value of another shape here is then never kept in `_extra`.
    var holdsPrivate = false
    private var positions: [FieldName: Int] = [:]

    mutating func append(_ name: String, _ node: PlanNode) {
        positions[FieldName(name)] = fields.count
        fields.append((name, node))
    }

    /// The position of the field named `name`, compared byte for byte.
    func field(named name: String) -> Int? { positions[FieldName(name)] }

    /// `field(named:)` trying position `hint` first: documents mostly hold their fields in schema order, so passing
    /// the position after the last match finds most fields without hashing the name.
    @inline(__always)
    func field(named name: String, hint: Int) -> Int? {
        if hint < fields.count, FieldName.sameBytes(fields[hint].name, name) { return hint }
        return positions[FieldName(name)]
    }
}

private struct Builder {
    let settings: FlattenSettings
    var tables: [PlannedTable] = []
    var rootFullName = ""
    var idSQLType: SQLType = .text
    /// Unsanitised full names, for naming children and `_idx` columns from the full name, not a cut one.
    var fullNames: [String] = []
    // PostgreSQL compares identifiers by bytes, so names are keyed by bytes too (`FieldName`).
    var tableOwners: [FieldName: String] = [:]  // sanitised table name -> JSON path
    var columnOwners: [[FieldName: String]] = []  // per table: sanitised column name -> JSON path

    init(settings: FlattenSettings) { self.settings = settings }

    mutating func addTable(fullName: String, jsonPath: String, parent: Int?, ancestors: [Int]) throws(SchemaError) {
        // A child's primary key is the root _id and one index per enclosing array, its own included.
        guard ancestors.count < TablePlan.maximumKeyColumns else {
            throw SchemaError(
                .badSchemaFile,
                "arrays nest \(ancestors.count) deep here: the table's primary key would need \(ancestors.count + 1) "
                    + "columns (the root _id and an index per array), and PostgreSQL allows "
                    + "\(TablePlan.maximumKeyColumns)",
                path: jsonPath)
        }
        let name = Identifier.sanitised(fullName)
        if let other = tableOwners[FieldName(name)] {
            throw SchemaError(
                .identifierCollision, "table name \"\(name)\" is claimed by both \(other) and \(jsonPath)",
                path: jsonPath)
        }
        tableOwners[FieldName(name)] = jsonPath
        tables.append(PlannedTable(name: name, jsonPath: jsonPath, parent: parent, arrayDepth: ancestors.count))
        fullNames.append(fullName)
        columnOwners.append([:])
        guard parent != nil else { return }
        let table = tables.count - 1
        try addColumn(
            table: table, fullName: rootFullName + "_id", role: .documentID, sqlType: idSQLType,
            bsonType: tables[0].columns.first?.bsonType ?? "objectId", jsonPath: "$._id", scalarType: nil)
        for (level, ancestor) in ancestors.dropLast().enumerated() {
            try addColumn(
                table: table, fullName: fullNames[ancestor] + "_idx", role: .ancestorIndex(level), sqlType: .integer,
                bsonType: "int", jsonPath: tables[ancestor].jsonPath + JSONPath.anyElement, scalarType: nil)
        }
        try addColumn(
            table: table, fullName: "idx", role: .index, sqlType: .integer, bsonType: "int",
            jsonPath: jsonPath + JSONPath.anyElement, scalarType: nil)
    }

    @discardableResult
    mutating func addColumn(
        table: Int, fullName: String, role: PlannedColumn.Role, sqlType: SQLType, bsonType: String, jsonPath: String,
        scalarType: ScalarType?, hashFormat: HashFormat? = nil
    ) throws(SchemaError) -> Int {
        let name = Identifier.sanitised(fullName)
        if let other = columnOwners[table][FieldName(name)] {
            throw SchemaError(
                .identifierCollision,
                "column \"\(name)\" of table \"\(tables[table].name)\" is claimed by both \(other) and \(jsonPath)",
                path: jsonPath)
        }
        columnOwners[table][FieldName(name)] =
            role == .value || role == .documentID && table == 0 ? jsonPath : "the key column \(name)"
        tables[table].columns.append(
            PlannedColumn(
                name: name, role: role, sqlType: sqlType, bsonType: bsonType, jsonPath: jsonPath,
                scalarType: scalarType, hashFormat: hashFormat))
        return tables[table].columns.count - 1
    }

    /// Maps an object's fields onto `table`, naming columns `namePrefix + field` joined by `_`.
    mutating func object(
        _ fields: [SchemaField], table: Int, namePrefix: String, jsonPath: String, ancestors: [Int]
    ) throws(SchemaError) -> PlanNode {
        var plan = ObjectPlan()
        plan.holdsPrivate = fields.contains { $0.node.holdsPrivate }
        for field in fields {
            let path = jsonPath + JSONPath.member(field.name)
            let name = namePrefix + field.name
            let node: PlanNode
            switch field.node {
            case .scalar(let type):
                let column = try addColumn(
                    table: table, fullName: name, role: .value, sqlType: type.sqlType, bsonType: type.rawValue,
                    jsonPath: path, scalarType: type)
                node = .column(column, type)
            case .hashed(let format):
                node = try hashedColumn(format, table: table, fullName: name, jsonPath: path)
            case .excluded: node = .excluded
            case .object(let inner):
                node = try object(inner, table: table, namePrefix: name + "_", jsonPath: path, ancestors: ancestors)
            case .array(let element):
                node = try array(
                    element, fullName: fullNames[table] + "_" + name, valueName: field.name, parent: table,
                    jsonPath: path, ancestors: ancestors)
            }
            plan.append(field.name, node)
        }
        return .object(plan)
    }

    /// Adds the child table of an array and maps its element; `valueName` names the value column of scalars.
    mutating func array(
        _ element: SchemaNode, fullName: String, valueName: String, parent: Int, jsonPath: String, ancestors: [Int]
    ) throws(SchemaError) -> PlanNode {
        let table = tables.count
        let enclosing = ancestors + [table]
        try addTable(fullName: fullName, jsonPath: jsonPath, parent: parent, ancestors: enclosing)
        let elementPath = jsonPath + JSONPath.anyElement
        let node: PlanNode
        switch element {
        case .scalar(let type):
            let column = try addColumn(
                table: table, fullName: valueName, role: .value, sqlType: type.sqlType, bsonType: type.rawValue,
                jsonPath: elementPath, scalarType: type)
            node = .column(column, type)
        case .hashed(let format):
            node = try hashedColumn(format, table: table, fullName: valueName, jsonPath: elementPath)
        case .excluded: fatalError("the schema file refuses excluded array elements")
        case .object(let fields):
            node = try object(fields, table: table, namePrefix: "", jsonPath: elementPath, ancestors: enclosing)
        case .array(let inner):
            node = try array(
                inner, fullName: fullName + "_items", valueName: "items", parent: table, jsonPath: elementPath,
                ancestors: enclosing)
        }
        tables[table].element = node
        tables[table].holdsPrivate = element.holdsPrivate
        return .array(table: table)
    }

    /// The column of a `{"hash": ...}` leaf: its BSON type in the catalog is "hash", whatever values it hashes.
    mutating func hashedColumn(_ format: HashFormat, table: Int, fullName: String, jsonPath: String)
        throws(SchemaError) -> PlanNode
    {
        let column = try addColumn(
            table: table, fullName: fullName, role: .value, sqlType: format.sqlType, bsonType: PlannedColumn.hashType,
            jsonPath: jsonPath, scalarType: nil, hashFormat: format)
        return .hashed(column, format)
    }
}
