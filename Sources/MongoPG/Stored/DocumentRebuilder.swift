/// Rebuilds one document from its rows in every table, driven by the plan: the inverse of `Flattener` up to the
/// documented lossy rules, which `normalise(_:plan:)` applies to the original (so `rebuild(flatten(d)) ==
/// normalise(d)`). Pure; rows come as PostgreSQL gives them back (see `rebuild(copyText:)`).
///
/// The rebuilt document holds `_id` first, then the schema's fields in schema order, then (with `keep_extra`) the
/// fields absent from the schema in UTF-8 byte order of their names; values kept in `_extra` return to their places.
/// A hashed value comes back as its hash's stand-in (`ValueHash.stored`), an excluded one never.
public struct DocumentRebuilder: Sendable {
    public let plan: TablePlan

    public init(plan: TablePlan) { self.plan = plan }

    /// The document from the COPY text lines (without newlines) of each table, in plan order, as PostgreSQL prints
    /// them (`COPY ... TO STDOUT`, DateStyle ISO, any TimeZone). Throws `SchemaError.badRows` naming the table.
    public func rebuild(copyText lines: [[[UInt8]]]) throws(SchemaError) -> BSONDocument {
        guard lines.count == plan.tables.count else {
            throw SchemaError(.badRows, "rows for \(lines.count) tables given, the plan has \(plan.tables.count)")
        }
        var rows = DocumentRows(tableCount: 0)
        for (table, tableLines) in zip(plan.tables, lines) {
            let types = table.columns.map(\.sqlType)
            var decoded: [[SQLValue]] = []
            for (number, line) in tableLines.enumerated() {
                do {
                    decoded.append(try CopyTextDecoder.row(ofLine: line, types: types))
                } catch {
                    throw SchemaError(.badRows, "table \(table.name), row \(number + 1): \(error.message)")
                }
            }
            rows.tables.append(decoded)
        }
        return try rebuild(rows)
    }

    /// The document `_id` a root key column value stands for.
    public func id(ofKey key: SQLValue) throws(SchemaError) -> BSONValue {
        let state = RebuildState(plan: plan)
        guard let id = try state.bsonValue(key, plan.idType, path: ["_id"]) else {
            throw SchemaError(.badRows, "the root row's _id is NULL")
        }
        return id
    }

    /// The document from typed rows: for each table in plan order, the rows of this one document, in any order.
    public func rebuild(_ rows: DocumentRows) throws(SchemaError) -> BSONDocument {
        guard rows.tables.count == plan.tables.count else {
            throw SchemaError(.badRows, "rows for \(rows.tables.count) tables given, the plan has \(plan.tables.count)")
        }
        let roots = rows[table: 0], width = plan.rootTable.columns.count
        guard roots.count == 1, let root = roots.first, root.count == width else {
            throw SchemaError(.badRows, "expected one root row of \(width) columns, got \(roots.count) rows")
        }
        var state = RebuildState(plan: plan)
        let id = try state.bsonValue(root[0], plan.idType, path: ["_id"])
        guard let id else { throw SchemaError(.badRows, "the root row's _id is NULL") }
        state.idText = id.description
        try state.index(rows)
        if let extraColumn = plan.rootTable.columns.firstIndex(where: { $0.role == .extra }) {
            try state.readExtras(root[extraColumn])
        }
        var document: BSONDocument = ["_id": id]
        try state.fill(&document, plan.root, row: root, indexes: [], path: [], isRoot: true)
        let unplaced = state.extras.keys.filter { !state.placed.contains($0) }
        if !unplaced.isEmpty {
            let paths = unplaced.map { PathSegment.dotted($0.map { .key($0.text) }) }.sorted().joined(separator: ", ")
            throw SchemaError(.badRows, "_extra holds paths that lead nowhere: \(paths)", documentID: state.idText)
        }
        return document
    }
}

private struct RebuildState {
    let plan: TablePlan
    var idText = ""
    /// Per table: the rows of each enclosing element, keyed by the ancestor indexes, with their own idx.
    var children: [[[Int]: [(index: Int, row: [SQLValue])]]] = []
    /// `_extra` values by path (dotted parts), and the unknown fields under each parent path.
    /// Paths compared by the bytes of their keys, as MongoDB compares keys.
    var extras: [[FieldName]: BSONValue] = [:]
    var unknownFields: [[FieldName]: [(name: String, value: BSONValue)]] = [:]
    var placed: Set<[FieldName]> = []

    init(plan: TablePlan) { self.plan = plan }

    func failure(_ message: String, _ path: [String]) -> SchemaError {
        SchemaError(.badRows, message, path: PathSegment.dotted(path.map { .key($0) }), documentID: idText)
    }

    mutating func index(_ rows: DocumentRows) throws(SchemaError) {
        children = Array(repeating: [:], count: plan.tables.count)
        for (table, planned) in plan.tables.enumerated().dropFirst() {
            for row in rows[table: table] {
                guard row.count == planned.columns.count else {
                    throw SchemaError(
                        .badRows, "table \(planned.name): a row has \(row.count) of \(planned.columns.count) columns")
                }
                var indexes: [Int] = []
                for column in 1...planned.arrayDepth {
                    guard case .integer(let value) = row[column], value >= 0, value <= Int32.max else {
                        throw SchemaError(
                            .badRows,
                            "table \(planned.name): index column \(planned.columns[column].name) is not a valid index",
                            documentID: idText)
                    }
                    indexes.append(Int(value))
                }
                let own = indexes.removeLast()
                children[table][indexes, default: []].append((own, row))
            }
        }
    }

    mutating func readExtras(_ cell: SQLValue) throws(SchemaError) {
        guard case .json(let text) = cell else {
            if cell == .null { return }
            throw failure("_extra is not jsonb", [])
        }
        let document: BSONDocument
        do {
            document = try BSONDocument(extendedJSON: text)
        } catch {
            throw failure("_extra is not Extended JSON: \(error.message)", [])
        }
        for element in document.elements {
            let parts = PathSegment.parts(ofDotted: element.key)
            let value = ExtendedJSONValue.jsonbOrdered(element.value)
            let key = parts.map(FieldName.init)
            extras[key] = value
            unknownFields[Array(key.dropLast()), default: []].append((parts.last!, value))
        }
    }

    /// The value at `path`, built from the current row and child tables, or nil when there is none.
    mutating func build(_ node: PlanNode, row: [SQLValue], indexes: [Int], path: [String]) throws(SchemaError)
        -> BSONValue?
    {
        if let kept = extras[path.map(FieldName.init)] {  // a value the schema could not hold, back in its place
            // Rows written under an older plan (a schema changed in place) may keep what this plan maps: they are
            // not the rows this plan gives, though the document would come back alike.
            guard !flattens(kept, into: node) else {
                throw failure("_extra keeps a value that the schema maps to columns or rows", path)
            }
            placed.insert(path.map(FieldName.init))
            return kept
        }
        switch node {
        case .column(let column, let type):
            return try bsonValue(row[column], type, path: path)
        case .hashed(let column, let format):
            if row[column] == .null { return nil }
            guard let hash = ValueHash.hash(in: row[column], format), let key = plan.settings.hashKey else {
                throw failure("a hashed \(format.rawValue) column holds no hash", path)
            }
            return ValueHash.stored(hash, key: key)
        case .excluded: return nil
        case .object(let objectPlan):
            var document = BSONDocument()
            try fill(&document, objectPlan, row: row, indexes: indexes, path: path, isRoot: false)
            return document.isEmpty ? nil : .document(document)
        case .array(let table):
            guard var elements = children[table][indexes], !elements.isEmpty else { return nil }
            elements.sort { $0.index < $1.index }
            guard elements.enumerated().allSatisfy({ $0.offset == $0.element.index }) else {
                throw failure("table \(plan.tables[table].name): idx values are not 0..<\(elements.count)", path)
            }
            guard let element = plan.tables[table].element else { return nil }
            var values: [BSONValue] = []
            values.reserveCapacity(elements.count)
            for (index, child) in elements {
                values.append(
                    try build(element, row: child, indexes: indexes + [index], path: path + [String(index)]) ?? .null)
            }
            return .array(values)
        }
    }

    /// Whether the flattener would map `value` onto `node` rather than keep it in `_extra`.
    func flattens(_ value: BSONValue, into node: PlanNode) -> Bool {
        switch (node, value) {
        case (.column(_, let type), _):
            if case .fits = ValueMapping.convert(value, to: type, stripNUL: plan.settings.stripNUL) { return true }
            return false
        case (.hashed, _): return true
        case (.object, .document), (.array, .array): return true
        default: return false
        }
    }

    mutating func fill(
        _ document: inout BSONDocument, _ objectPlan: ObjectPlan, row: [SQLValue], indexes: [Int], path: [String],
        isRoot: Bool
    ) throws(SchemaError) {
        for field in objectPlan.fields {
            if let value = try build(field.node, row: row, indexes: indexes, path: path + [field.name]) {
                document.append(field.name, value)
            }
        }
        let unknown = (unknownFields[path.map(FieldName.init)] ?? []).filter {
            objectPlan.field(named: $0.name) == nil && !(isRoot && FieldName.sameBytes($0.name, "_id"))
        }
        for field in unknown.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
            placed.insert((path + [field.name]).map(FieldName.init))
            document.append(field.name, field.value)
        }
    }

    /// A cell back as the BSON value of the column's schema type; nil for NULL.
    func bsonValue(_ cell: SQLValue, _ type: ScalarType, path: [String]) throws(SchemaError) -> BSONValue? {
        func wrong() -> SchemaError { failure("a \(type.rawValue) column holds \(cell)", path) }
        switch (type, cell) {
        case (_, .null): return nil
        case (.string, .text(let text)): return .string(text)
        case (.int, .integer(let number)):
            guard let narrow = Int32(exactly: number) else { throw wrong() }
            return .int32(narrow)
        case (.long, .integer(let number)): return .int64(number)
        case (.double, .double(let number)): return .double(number)
        case (.decimal, .numeric(let number)): return .decimal128(number)
        case (.bool, .boolean(let flag)): return .bool(flag)
        case (.date, .timestamp(let milliseconds)): return .datetime(milliseconds)
        case (.objectId, .text(let hex)):
            guard let id = ObjectID(hex: hex) else { throw wrong() }
            return .objectID(id)
        case (.binData, .bytes(let bytes)): return .binary(BSONBinary(subtype: 0, data: bytes))
        case (.uuid, .uuid(let bytes)): return .binary(BSONBinary(subtype: 4, data: bytes))
        case (.timestamp, .integer(let packed)): return .timestamp(BSONTimestamp(packed: UInt64(bitPattern: packed)))
        case (.json, .json(let text)):
            do {
                return ExtendedJSONValue.jsonbOrdered(try ExtendedJSONValue.value(fromText: text))
            } catch {
                throw failure("jsonb does not parse as Extended JSON: \(error.message)", path)
            }
        case (_, .text(let text)) where type.isExtendedJSONText:
            let value: BSONValue
            do {
                value = try ExtendedJSONValue.value(fromText: text)
            } catch {
                throw failure("text does not parse as Extended JSON: \(error.message)", path)
            }
            guard value.typeAlias == type.rawValue else { throw wrong() }
            return value
        default: throw wrong()
        }
    }
}
