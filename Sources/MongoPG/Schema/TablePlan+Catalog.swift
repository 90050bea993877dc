/// A collection's catalog rows, as psql-copy writes them with its tables (DESIGN.md, "Catalog").
public struct CollectionCatalog: Sendable, Equatable {
    /// `DB.COLL`.
    public var collection: String
    public var tables: [CatalogTable]
    public var columns: [CatalogColumn]
    /// The JSON paths of the excluded places (`{"exclude": true}`), which have no column.
    public var excluded: [String]
    /// The tables are Citus distributed tables (the root table's `distribution_column` is set).
    public var distributed: Bool

    public init(
        collection: String, tables: [CatalogTable], columns: [CatalogColumn], excluded: [String] = [],
        distributed: Bool = false
    ) {
        self.collection = collection
        self.tables = tables
        self.columns = columns
        self.excluded = excluded
        self.distributed = distributed
    }
}

extension TablePlan {
    /// The plan's catalog rows: what psql-copy writes, and what `init(catalog:settings:)` compiles back.
    public var catalog: CollectionCatalog {
        CollectionCatalog(
            collection: namespace.description, tables: catalogTables, columns: catalogColumns, excluded: excludedPaths,
            distributed: isDistributed)
    }

    /// The plan a collection's tables were loaded with, compiled back from its catalog rows alone, so verification
    /// never depends on a schema file edited since the load. Pure.
    ///
    /// The schema comes from the JSON paths and BSON types of the value columns and the JSON paths of the tables;
    /// `keep_extra` from the root table's `_extra` column; the table prefix (or a configured root table name) from the
    /// root table's name, unless `settings` already names it so. `settings` gives what
    /// the catalog does not record: `strip_nul` and the target schema holding the tables. The compiled plan's catalog
    /// rows must equal the given ones, names, JSON paths, types, positions and parents alike.
    ///
    /// What the catalog cannot tell: the order of a field that is an array relative to its sibling fields (arrays
    /// come after the fields held in columns of the same object, sibling arrays in byte order of their JSON paths),
    /// and objects the schema declares without any field (`{}`, which have no column). The plan compiled here is
    /// the schema file's up to that order; documents rebuilt and normalised through it compare alike.
    ///
    /// Throws `CatalogError`: `.missing` without rows, `.damaged` for a row that cannot be read, `.mismatch` when the
    /// compiled plan differs from the rows; each names the table (and column) at fault.
    public init(catalog: CollectionCatalog, settings: FlattenSettings) throws(CatalogError) {
        var compiler = CatalogCompiler(catalog: catalog)
        let (schema, derived) = try compiler.schema(settings: settings)
        do {
            try self.init(schema: schema, settings: derived)
        } catch {
            throw CatalogError(
                .mismatch, collection: catalog.collection, "its schema does not compile: \(error.description)")
        }
        isDistributed = catalog.distributed
        try compiler.compare(self)
    }
}

/// One step of a catalog JSON path: `.name` / `['name']`, or `[*]`.
enum JSONPathStep: Equatable {
    case member(String)
    case anyElement

    /// Names compare by bytes, as PostgreSQL and MongoDB compare them.
    static func == (lhs: JSONPathStep, rhs: JSONPathStep) -> Bool {
        switch (lhs, rhs) {
        case (.member(let a), .member(let b)): FieldName.sameBytes(a, b)
        case (.anyElement, .anyElement): true
        default: false
        }
    }

    /// The steps of a path `JSONPath` wrote (`$.a['odd name'][*].b`); nil when it does not parse.
    static func steps(of path: String) -> [JSONPathStep]? {
        let scalars = Array(path.unicodeScalars)
        guard scalars.first == "$" else { return nil }
        var steps: [JSONPathStep] = []
        var at = 1
        while at < scalars.count {
            if scalars[at] == "." {
                var name = String.UnicodeScalarView()
                at += 1
                while at < scalars.count, scalars[at] != ".", scalars[at] != "[" {
                    name.append(scalars[at])
                    at += 1
                }
                guard !name.isEmpty else { return nil }
                steps.append(.member(String(name)))
                continue
            }
            guard scalars[at] == "[", at + 2 < scalars.count else { return nil }
            if scalars[at + 1] == "*", scalars[at + 2] == "]" {
                steps.append(.anyElement)
                at += 3
                continue
            }
            guard scalars[at + 1] == "'" else { return nil }
            at += 2
            var name = String.UnicodeScalarView()
            while at < scalars.count, scalars[at] != "'" {
                guard scalars[at] == "\\" else {
                    name.append(scalars[at])
                    at += 1
                    continue
                }
                guard at + 1 < scalars.count else { return nil }
                switch scalars[at + 1] {
                case "'", "\\":
                    name.append(scalars[at + 1])
                    at += 2
                case "u":
                    guard at + 5 < scalars.count else { return nil }
                    let digits = scalars[(at + 2)...(at + 5)]
                    guard digits.allSatisfy({ $0.properties.isASCIIHexDigit }),
                        let value = UInt32(String(String.UnicodeScalarView(digits)), radix: 16),
                        let scalar = Unicode.Scalar(value)
                    else { return nil }
                    name.append(scalar)
                    at += 6
                default: return nil
                }
            }
            guard at + 1 < scalars.count, scalars[at + 1] == "]" else { return nil }
            at += 2
            steps.append(.member(String(name)))
        }
        return steps
    }
}

/// The fields of one object as the catalog reveals them, in the order they are found.
private struct FieldTree {
    indirect enum Entry {
        case scalar(ScalarType)
        /// An excluded or hashed leaf.
        case leaf(SchemaNode)
        case object(FieldTree)
        case array(table: Int)
    }
    var fields: [(name: String, entry: Entry)] = []
    private var positions: [FieldName: Int] = [:]

    /// Adds `leaf` at `path` (one or more names), creating the objects on the way; false when the place is taken.
    mutating func insert(_ path: ArraySlice<String>, _ leaf: Entry) -> Bool {
        guard let name = path.first else { return false }
        let key = FieldName(name)
        guard let at = positions[key] else {
            var entry = leaf
            if path.count > 1 {
                var inner = FieldTree()
                _ = inner.insert(path.dropFirst(), leaf)
                entry = .object(inner)
            }
            positions[key] = fields.count
            fields.append((name, entry))
            return true
        }
        guard path.count > 1, case .object(var inner) = fields[at].entry else { return false }
        let inserted = inner.insert(path.dropFirst(), leaf)
        fields[at].entry = .object(inner)
        return inserted
    }
}

/// Compiles catalog rows back into a schema, then checks a plan against them.
private struct CatalogCompiler {
    let catalog: CollectionCatalog
    var tableIndex: [FieldName: Int] = [:]
    /// Per catalog table: its columns in position order.
    var columns: [[CatalogColumn]] = []

    init(catalog: CollectionCatalog) { self.catalog = catalog }

    func damaged(_ message: String, table: String? = nil, column: String? = nil) -> CatalogError {
        CatalogError(.damaged, collection: catalog.collection, message, table: table, column: column)
    }

    func mismatch(_ message: String, table: String? = nil, column: String? = nil) -> CatalogError {
        CatalogError(.mismatch, collection: catalog.collection, message, table: table, column: column)
    }

    func steps(_ path: String, table: String, column: String? = nil) throws(CatalogError) -> [JSONPathStep] {
        guard let steps = JSONPathStep.steps(of: path) else {
            throw damaged("JSON path \(path) does not parse", table: table, column: column)
        }
        return steps
    }

    /// The names after `prefix`, which must all be members; throws naming the table (and column).
    func members(
        _ steps: [JSONPathStep], after prefix: [JSONPathStep], path: String, table: String, column: String? = nil
    )
        throws(CatalogError) -> [String]
    {
        guard steps.count >= prefix.count, Array(steps.prefix(prefix.count)) == prefix else {
            throw damaged("JSON path \(path) lies outside its table's elements", table: table, column: column)
        }
        var names: [String] = []
        for step in steps.dropFirst(prefix.count) {
            guard case .member(let name) = step else {
                throw damaged(
                    "JSON path \(path) crosses an array its table does not hold", table: table, column: column)
            }
            names.append(name)
        }
        return names
    }

    /// The schema the catalog describes, and the settings its tables were named with.
    mutating func schema(settings: FlattenSettings) throws(CatalogError) -> (CollectionSchema, FlattenSettings) {
        guard !catalog.tables.isEmpty else {
            throw CatalogError(
                .missing, collection: catalog.collection, "no catalog rows: the collection was never loaded")
        }
        guard let namespace = Namespace(catalog.collection) else {
            throw damaged("\(catalog.collection) is not a DB.COLL namespace")
        }
        for (index, table) in catalog.tables.enumerated() {
            guard tableIndex.updateValue(index, forKey: FieldName(table.table)) == nil else {
                throw damaged("the table is listed twice", table: table.table)
            }
        }
        columns = Array(repeating: [], count: catalog.tables.count)
        for column in catalog.columns {
            guard let table = tableIndex[FieldName(column.table)] else {
                throw damaged(
                    "a column of a table the catalog does not list", table: column.table, column: column.column)
            }
            columns[table].append(column)
        }
        for index in columns.indices {
            columns[index].sort { $0.position < $1.position }
            guard columns[index].map(\.position) == Array(columns[index].indices) else {
                throw damaged(
                    "column positions are not 0..<\(columns[index].count)", table: catalog.tables[index].table)
            }
        }

        // Each table's path, the steps before the names of its element's fields, and its parent.
        let roots = catalog.tables.indices.filter { catalog.tables[$0].parentTable == nil }
        guard roots.count == 1, let root = roots.first, catalog.tables[root].jsonPath == "$" else {
            throw damaged("expected one root table (no parent, JSON path $), found \(roots.count)")
        }
        var prefixes: [[JSONPathStep]] = Array(repeating: [], count: catalog.tables.count)
        var children: [[(index: Int, names: [String])]] = Array(repeating: [], count: catalog.tables.count)
        for (index, table) in catalog.tables.enumerated() where index != root {
            let path = try steps(table.jsonPath, table: table.table)
            prefixes[index] = path + [.anyElement]
        }
        for (index, table) in catalog.tables.enumerated() where index != root {
            guard let parentName = table.parentTable, let parent = tableIndex[FieldName(parentName)] else {
                throw damaged("its parent table is not in the catalog", table: table.table)
            }
            let path = Array(prefixes[index].dropLast())
            let names = try members(path, after: prefixes[parent], path: table.jsonPath, table: table.table)
            children[parent].append((index, names))
        }

        // The `_id` and `_extra` columns of the root.
        guard let idColumn = columns[root].first, idColumn.role == "document_id",
            let idType = ScalarType(rawValue: idColumn.bsonType)
        else {
            throw damaged(
                "the root table's first column is not a document _id of a known type", table: catalog.tables[root].table
            )
        }
        var derived = settings
        derived.keepExtra = columns[root].contains { $0.role == "extra" }
        let rootTable = catalog.tables[root].table
        if FieldName(Identifier.sanitised(settings.rootTableName(of: namespace))) == FieldName(rootTable) {
            // Named as the configuration names it: the settings stand.
        } else if let prefix = Self.tablePrefix(rootTable: rootTable, collection: namespace.collection) {
            derived.tablePrefix = prefix
            derived.rootTableNames[namespace.description] = nil
        } else if !Self.looksCut(rootTable) {
            // A name an earlier `[collections] DB.COLL = table` gave (such names are never cut).
            derived.rootTableNames[namespace.description] = rootTable
        }
        // Else a cut and hashed name the settings do not give: the comparison with the catalog names the root table.

        var elements: [SchemaNode?] = Array(repeating: nil, count: catalog.tables.count)
        for index in Self.childrenFirst(root: root, children: children) {
            elements[index] = try element(index, prefix: prefixes[index], children: children[index], elements: elements)
        }
        guard case .object(let fields) = elements[root] else { fatalError("the root element is an object") }
        let schema = CollectionSchema(namespace: namespace, fields: [SchemaField("_id", .scalar(idType))] + fields)
        return (schema, derived)
    }

    /// Tables ordered so that every table comes after its children.
    static func childrenFirst(root: Int, children: [[(index: Int, names: [String])]]) -> [Int] {
        var order: [Int] = []
        var stack = [(root, false)]
        while let (table, expanded) = stack.popLast() {
            if expanded {
                order.append(table)
                continue
            }
            stack.append((table, true))
            for child in children[table] { stack.append((child.index, false)) }
        }
        return order
    }

    /// Whether `name` has the form `Identifier.sanitised` gives a name too long for PostgreSQL: cut, `_` and 8 hex.
    static func looksCut(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count > Identifier.maximumBytes - 12, bytes.count <= Identifier.maximumBytes else { return false }
        let suffix = bytes.suffix(9)
        return suffix.first == UInt8(ascii: "_")
            && suffix.dropFirst().allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The prefix the root table's name was made with: the name without the collection's name when that gives the
    /// name back, else nil (a name cut and hashed cannot be split, a configured one need not end with the collection).
    static func tablePrefix(rootTable: String, collection: String) -> String? {
        let name = Array(rootTable.utf8)
        let suffix = Array(collection.utf8)
        guard name.count >= suffix.count, Array(name.suffix(suffix.count)) == suffix,
            let prefix = String(validating: name.dropLast(suffix.count), as: UTF8.self),
            FieldName(Identifier.sanitised(prefix + collection)) == FieldName(rootTable)
        else { return nil }
        return prefix
    }

    /// The schema of one table's element (an object for the root): a scalar when a value column sits at the
    /// element itself, an array when an `_items` table does, else an object of its value columns (in position
    /// order) and then its child tables' arrays (in byte order of their paths).
    func element(
        _ table: Int, prefix: [JSONPathStep], children: [(index: Int, names: [String])], elements: [SchemaNode?]
    ) throws(CatalogError) -> SchemaNode {
        let name = catalog.tables[table].table
        var tree = FieldTree()
        var scalar: SchemaNode? = nil
        for column in columns[table] where column.role != "value" {
            guard ["document_id", "ancestor_index", "index", "extra"].contains(column.role) else {
                throw damaged("unknown role \(column.role)", table: name, column: column.column)
            }
        }
        let values = columns[table].filter { $0.role == "value" }
        for column in values {
            let node: SchemaNode
            if column.bsonType == PlannedColumn.hashType {
                guard let format = HashFormat.allCases.first(where: { $0.sqlType.rawValue == column.sqlType }) else {
                    throw damaged("a hashed column of SQL type \(column.sqlType)", table: name, column: column.column)
                }
                node = .hashed(format)
            } else {
                guard let type = ScalarType(rawValue: column.bsonType) else {
                    throw damaged("unknown BSON type \(column.bsonType)", table: name, column: column.column)
                }
                node = .scalar(type)
            }
            let entry: FieldTree.Entry = if case .scalar(let type) = node { .scalar(type) } else { .leaf(node) }
            let path = try steps(column.jsonPath, table: name, column: column.column)
            let names = try members(path, after: prefix, path: column.jsonPath, table: name, column: column.column)
            if names.isEmpty, prefix.count > 0, values.count == 1, children.isEmpty {
                scalar = node
            } else if names.isEmpty || !tree.insert(names[...], entry) {
                throw damaged(
                    "JSON path \(column.jsonPath) is taken by another column", table: name, column: column.column)
            }
        }
        for path in try excludedHere(prefix: prefix, table: table) where !tree.insert(path[...], .leaf(.excluded)) {
            throw damaged("excluded path \(path.joined(separator: ".")) is taken by a column", table: name)
        }
        if let scalar { return scalar }
        let ordered = children.sorted {
            Array(catalog.tables[$0.index].jsonPath.utf8).lexicographicallyPrecedes(
                catalog.tables[$1.index].jsonPath.utf8)
        }
        for child in ordered {
            let childName = catalog.tables[child.index].table
            guard let element = elements[child.index] else { fatalError("children come first") }
            if child.names.isEmpty, prefix.count > 0, values.isEmpty, children.count == 1 {
                return .array(element)
            }
            guard !child.names.isEmpty, tree.insert(child.names[...], .array(table: child.index)) else {
                throw damaged("JSON path \(catalog.tables[child.index].jsonPath) is taken", table: childName)
            }
        }
        return .object(Self.fields(tree, elements: elements))
    }

    /// The names (below the element) of the excluded paths whose nearest enclosing array is `table`'s.
    func excludedHere(prefix: [JSONPathStep], table: Int) throws(CatalogError) -> [[String]] {
        var found: [[String]] = []
        for path in catalog.excluded {
            let steps = try steps(path, table: catalog.tables[table].table)
            guard steps.count > prefix.count, Array(steps.prefix(prefix.count)) == prefix,
                !steps.dropFirst(prefix.count).contains(.anyElement)
            else { continue }
            found.append(try members(steps, after: prefix, path: path, table: catalog.tables[table].table))
        }
        return found
    }

    static func fields(_ tree: FieldTree, elements: [SchemaNode?]) -> [SchemaField] {
        tree.fields.map { field in
            switch field.entry {
            case .scalar(let type): SchemaField(field.name, .scalar(type))
            case .leaf(let node): SchemaField(field.name, node)
            case .object(let inner): SchemaField(field.name, .object(fields(inner, elements: elements)))
            case .array(let table): SchemaField(field.name, .array(elements[table]!))
            }
        }
    }

    /// Throws `.mismatch` naming the first table or column where `plan`'s catalog rows differ from the catalog's.
    func compare(_ plan: TablePlan) throws(CatalogError) {
        let excluded = Set(catalog.excluded.map(FieldName.init))
        let plannedExcluded = Set(plan.excludedPaths.map(FieldName.init))
        if let lost = excluded.subtracting(plannedExcluded).first ?? plannedExcluded.subtracting(excluded).first {
            throw mismatch("the excluded path \(lost.text) is not excluded on both sides")
        }
        var planned: [FieldName: CatalogTable] = [:]
        for table in plan.catalogTables { planned[FieldName(table.table)] = table }
        for table in catalog.tables {
            guard let expected = planned.removeValue(forKey: FieldName(table.table)) else {
                throw mismatch("the plan compiled from the catalog has no such table", table: table.table)
            }
            guard expected == table else {
                throw mismatch(
                    "compiled as \(Self.describe(expected)), the catalog says \(Self.describe(table))",
                    table: table.table)
            }
        }
        if let extra = planned.keys.first {
            throw mismatch("the plan compiled from the catalog has a table the catalog lacks", table: extra.text)
        }
        var plannedColumns: [[FieldName]: CatalogColumn] = [:]
        for column in plan.catalogColumns {
            plannedColumns[[FieldName(column.table), FieldName(column.column)]] = column
        }
        for column in catalog.columns {
            guard
                let expected = plannedColumns.removeValue(forKey: [FieldName(column.table), FieldName(column.column)])
            else {
                throw mismatch(
                    "the plan compiled from the catalog has no such column", table: column.table, column: column.column)
            }
            guard expected == column else {
                throw mismatch(
                    "compiled as \(Self.describe(expected)), the catalog says \(Self.describe(column))",
                    table: column.table, column: column.column)
            }
        }
        if let extra = plannedColumns.keys.first {
            throw mismatch(
                "the plan compiled from the catalog has a column the catalog lacks", table: extra[0].text,
                column: extra[1].text)
        }
    }

    static func describe(_ table: CatalogTable) -> String {
        "path \(table.jsonPath), parent \(table.parentTable ?? "none"), depth \(table.arrayDepth)"
    }

    static func describe(_ column: CatalogColumn) -> String {
        "position \(column.position), path \(column.jsonPath), BSON type \(column.bsonType), "
            + "SQL type \(column.sqlType), "
            + "role \(column.role), collection \(column.collection)"
    }
}
