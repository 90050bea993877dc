/// The rows of every table for one document, in `TablePlan.tables` order; each row has one value per column.
public struct FlattenedDocument: Sendable, Equatable {
    public var rows: [[[SQLValue]]]
    public init(rows: [[[SQLValue]]]) { self.rows = rows }
}

/// What flattening could not map cleanly, counted per field (DESIGN.md: "nothing is dropped silently").
public struct FlattenReport: Sendable, Equatable, Codable {
    public struct FieldCounts: Sendable, Equatable, Codable {
        /// Values that did not fit the column type: loaded as NULL.
        public var mismatched = 0
        /// Fields the schema does not name.
        public var unknown = 0
        /// Of the two above, how many were kept in `_extra`.
        public var keptInExtra = 0
        /// Strings whose NUL bytes were stripped.
        public var nulStripped = 0
        /// Later copies of a key already seen in the same object: MongoDB reads the first, so do we; not loaded.
        public var duplicateKeys = 0
        public init() {}

        mutating func add(_ other: FieldCounts) {
            mismatched += other.mismatched
            unknown += other.unknown
            keptInExtra += other.keptInExtra
            nulStripped += other.nulStripped
            duplicateKeys += other.duplicateKeys
        }
    }

    public var documents = 0
    /// Rows produced per table name.
    public var rows: [String: Int] = [:]
    /// Per field, as a JSON path with `[*]` for array elements (`$.orders[*].qty`).
    public var fields: [String: FieldCounts] = [:]

    public init() {}

    /// The field counts by kind, then path: `{"mismatched": {"$.a": 3}, "unknown": {...}, ...}`, zero counts left
    /// out; what manifests and oplog-sync's summary report.
    public var counts: [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        for (path, field) in fields {
            let kinds = [
                ("mismatched", field.mismatched), ("unknown", field.unknown), ("kept_in_extra", field.keptInExtra),
                ("nul_stripped", field.nulStripped), ("duplicate_keys", field.duplicateKeys),
            ]
            for (kind, count) in kinds where count > 0 { counts[kind, default: [:]][path] = count }
        }
        return counts
    }

    /// Adds another report's counts (from another batch or job).
    public mutating func merge(_ other: FlattenReport) {
        documents += other.documents
        rows.merge(other.rows, uniquingKeysWith: +)
        for (path, counts) in other.fields {
            fields[path, default: FieldCounts()].add(counts)
        }
    }
}

/// Turns documents into rows following a plan (DESIGN.md, "Relational model"). Pure: no I/O, no state kept between
/// documents, so one flattener can serve any number of documents and threads.
public struct Flattener: Sendable {
    public let plan: TablePlan
    /// Copied for each document: derived from the plan once, not per document.
    private let start: Flattening

    public init(plan: TablePlan) {
        self.plan = plan
        start = Flattening(plan: plan)
    }

    /// The rows of every table for `document`; counts what did not fit into `report`.
    /// Throws `SchemaError.badDocument` (exit 65) for a document without a usable `_id`, or holding NUL in a string
    /// while `strip_nul` is off; the error names the `_id` and the dotted path.
    public func flatten(_ document: BSONDocument, report: inout FlattenReport) throws(SchemaError) -> FlattenedDocument
    {
        var flattening = start
        try flattening.flatten(document, fields: &report.fields)
        let cells = flattening.cells
        report.documents += 1
        for table in plan.tables.indices where cells.rowCount(table) > 0 {
            report.rows[plan.tables[table].name, default: 0] += cells.rowCount(table)
        }
        return FlattenedDocument(
            rows: plan.tables.indices.map { table in (0..<cells.rowCount(table)).map { cells.completeRow(table, $0) } })
    }
}

/// The rows of one document, one flat array of cells per table (`widths[table]` cells a row), so that flattening
/// allocates nothing per row and a stream reuses the storage from one document to the next. Every row starts with
/// the document's `_id`, but only the root row holds it: `completeRow` fills it in, the COPY stream writes its own
/// copy, and no child row pays for a copy of the `_id` (often a 24-byte string).
struct RowCells: Sendable {
    var tables: [[SQLValue]]
    let widths: [Int]

    init(plan: TablePlan) {
        tables = Array(repeating: [], count: plan.tables.count)
        widths = plan.tables.map(\.columns.count)
    }

    init() {
        tables = []
        widths = []
    }

    func rowCount(_ table: Int) -> Int { tables[table].count / widths[table] }

    /// A row's cells; a child row's first (the `_id`) is NULL.
    func row(_ table: Int, _ row: Int) -> ArraySlice<SQLValue> {
        tables[table][row * widths[table]..<(row + 1) * widths[table]]
    }

    /// A row with its `_id`.
    func completeRow(_ table: Int, _ row: Int) -> [SQLValue] {
        var cells = Array(self.row(table, row))
        cells[0] = tables[0][0]
        return cells
    }

    mutating func removeAll() {
        for table in tables.indices { tables[table].removeAll(keepingCapacity: true) }
    }

    /// Appends a row of NULLs to `table`; returns where it starts.
    mutating func appendRow(_ table: Int) -> RowPosition {
        let offset = tables[table].count
        for _ in 0..<widths[table] { tables[table].append(.null) }  // append(contentsOf:) costs more for a few
        return RowPosition(table: table, offset: offset)
    }

    subscript(row: RowPosition, column: Int) -> SQLValue {
        get { tables[row.table][row.offset + column] }
        set { tables[row.table][row.offset + column] = newValue }
    }
}

/// Where a row's cells start in `RowCells`.
struct RowPosition {
    let table: Int
    let offset: Int
}

/// One step of a path inside a document.
enum PathSegment: Equatable, Sendable {
    case key(String)
    case index(Int)

    /// The dotted path `_extra` uses: keys with `\` and `.` (and a leading `$`) escaped by a backslash, indexes in
    /// decimal: `orders.3.qty`, `a\.b`, `\$set`.
    static func dotted(_ segments: [PathSegment]) -> String {
        segments.map { segment -> String in
            switch segment {
            case .index(let index): return String(index)
            case .key(let key):
                // By Unicode scalars, not Characters: a combining mark after `.` or `\` must not hide it.
                // A leading `$` is escaped too, so no `_extra` key reads as an Extended JSON keyword (`$oid`).
                var text = String.UnicodeScalarView()
                if key.unicodeScalars.first == "$" { text.append("\\") }
                for scalar in key.unicodeScalars {
                    if scalar == "." || scalar == "\\" { text.append("\\") }
                    text.append(scalar)
                }
                return String(text)
            }
        }.joined(separator: ".")
    }

    /// Splits a dotted path back into its parts (all as keys; the plan decides which are indexes).
    static func parts(ofDotted path: String) -> [String] {
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        var escaped = false
        for scalar in path.unicodeScalars {  // by scalars, as `dotted` escapes them
            if escaped {
                current.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "." {
                parts.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        parts.append(String(current))
        return parts
    }

    /// The JSON path the report counts under: keys as members, indexes as `[*]`.
    static func reportPath(_ segments: [PathSegment]) -> String {
        "$"
            + segments.map { segment in
                switch segment {
                case .key(let key): JSONPath.member(key)
                case .index: JSONPath.anyElement
                }
            }.joined()
    }
}

/// One flattening in progress, and the storage it keeps from one document to the next (rows, path, indexes), so
/// that a stream of documents allocates nothing per row. `Flattener.flatten` uses a fresh one per document; the COPY
/// stream keeps one and keeps the document and row counts itself.
struct Flattening: Sendable {
    let plan: TablePlan
    /// Position of `_extra` in the root table, when kept.
    let extraColumn: Int?
    /// The current document's rows; after a throw, a partial document.
    private(set) var cells: RowCells
    /// What did not fit in the current document, per report path; merged into the caller's counts on success.
    private var fields: [String: FlattenReport.FieldCounts] = [:]
    private var path: [PathSegment] = []
    /// The indexes of the enclosing array elements, outermost first.
    private var indexes: [Int] = []
    private var extra = BSONDocument()
    private var id: SQLValue = .null
    /// The document's `_id`, printed only when an error names it.
    private var idValue: BSONValue = .null

    init(plan: TablePlan) {
        self.plan = plan
        extraColumn = plan.rootTable.columns.firstIndex { $0.role == .extra }
        cells = RowCells(plan: plan)
    }

    /// Replaces `cells` with the rows of `document`; counts what did not fit into `fields`.
    mutating func flatten(_ document: BSONDocument, fields counts: inout [String: FlattenReport.FieldCounts])
        throws(SchemaError)
    {
        cells.removeAll()
        path.removeAll(keepingCapacity: true)
        indexes.removeAll(keepingCapacity: true)
        fields.removeAll()
        extra = BSONDocument()
        try run(document)
        for (path, added) in fields { counts[path, default: FlattenReport.FieldCounts()].add(added) }
    }

    private var idText: String { idValue.description }

    private mutating func run(_ document: BSONDocument) throws(SchemaError) {
        guard let idValue = document["_id"], idValue != .null else {
            throw SchemaError(.badDocument, "document has no _id", documentID: "\(document.description.prefix(200))")
        }
        self.idValue = idValue
        switch ValueMapping.convert(idValue, to: plan.idType, stripNUL: plan.settings.stripNUL) {
        case .fits(let value, let stripped):
            id = value
            if stripped { count(at: .key("_id")) { $0.nulStripped += 1 } }
        case .mismatch:
            throw SchemaError(
                .badDocument, "_id of type \(idValue.typeAlias) does not fit the schema's \(plan.idType.rawValue)",
                path: "_id", documentID: idText)
        case .holdsNUL: throw nulError(at: .key("_id"))
        case .unstorable(let reason): throw unstorableError(reason, at: .key("_id"))
        }
        let row = cells.appendRow(0)
        cells[row, 0] = id
        try object(document, plan.root, row: row, skipID: true)
        if let extraColumn, !extra.isEmpty {
            var cleaned = BSONDocument()
            for element in extra.elements {
                let (clean, stripped) = ValueMapping.nulFree(element.value)
                if stripped {
                    guard plan.settings.stripNUL else {
                        path = PathSegment.parts(ofDotted: element.key).map { .key($0) }
                        throw nulError()
                    }
                }
                cleaned.append(element.key, clean)
            }
            do {
                cells[row, extraColumn] = .json(try cleaned.extendedJSON(.canonical))
            } catch {
                throw SchemaError(.badDocument, "cannot write _extra: \(error.message)", documentID: idText)
            }
        }
    }

    /// The error for a NUL byte at the current path, or at `segment` below it.
    private mutating func nulError(at segment: PathSegment? = nil) -> SchemaError {
        if let segment { path.append(segment) }
        defer { if segment != nil { path.removeLast() } }
        return .holdsNUL(path: PathSegment.dotted(path), documentID: idText)
    }

    /// The error for a value at `segment` that would not come back from its Extended JSON text.
    private mutating func unstorableError(_ reason: String, at segment: PathSegment) -> SchemaError {
        path.append(segment)
        defer { path.removeLast() }
        return .unstorable(reason, path: PathSegment.dotted(path), documentID: idText)
    }

    /// Counts into the field at `segment` below the current path.
    private mutating func count(at segment: PathSegment, _ change: (inout FlattenReport.FieldCounts) -> Void) {
        path.append(segment)
        change(&fields[PathSegment.reportPath(path), default: FlattenReport.FieldCounts()])
        path.removeLast()
    }

    /// A value the schema cannot hold at `segment`: counted, and kept in `_extra` when enabled (a value `_extra`
    /// could not give back is refused). `withheld`: a place holding excluded or hashed fields, whose value is never
    /// kept (it may hold what they hide).
    private mutating func misfit(_ value: BSONValue, at segment: PathSegment, unknown: Bool, withheld: Bool = false)
        throws(SchemaError)
    {
        let keep = plan.settings.keepExtra && !withheld
        if keep, let problem = ValueMapping.extraProblem(value) { throw unstorableError(problem, at: segment) }
        count(at: segment) {
            if unknown { $0.unknown += 1 } else { $0.mismatched += 1 }
            if keep { $0.keptInExtra += 1 }
        }
        guard keep else { return }
        path.append(segment)
        extra.append(PathSegment.dotted(path), value)
        path.removeLast()
    }

    /// Maps `value`, found at `segment` below the current path, through `node` into `row` and child tables. The
    /// path grows only on the way into objects and arrays: a scalar needs it only when it does not fit.
    private mutating func walk(_ value: BSONValue, _ node: PlanNode, row: RowPosition, at segment: PathSegment)
        throws(SchemaError)
    {
        if case .null = value { return }  // null and missing both load as NULL / no rows
        switch node {
        case .column(let column, let type):
            switch ValueMapping.convert(value, to: type, stripNUL: plan.settings.stripNUL) {
            case .fits(let converted, let stripped):
                cells[row, column] = converted
                if stripped { count(at: segment) { $0.nulStripped += 1 } }
            case .mismatch: try misfit(value, at: segment, unknown: false)
            case .holdsNUL: throw nulError(at: segment)
            case .unstorable(let reason): throw unstorableError(reason, at: segment)
            }
        case .hashed(let column, let format):
            guard let key = plan.settings.hashKey else { fatalError("a plan that hashes has a key (TablePlan.init)") }
            do {
                cells[row, column] = try ValueHash.sqlValue(of: value, format, key: key)
            } catch {
                path.append(segment)
                defer { path.removeLast() }
                throw SchemaError(
                    .badDocument, "cannot hash the value: \(error.message)", path: PathSegment.dotted(path),
                    documentID: idText)
            }
        case .excluded: return
        case .object(let objectPlan):
            guard case .document(let document) = value else {
                return try misfit(value, at: segment, unknown: false, withheld: objectPlan.holdsPrivate)
            }
            path.append(segment)
            try object(document, objectPlan, row: row, skipID: false)
            path.removeLast()
        case .array(let table):
            guard case .array(let elements) = value else {
                return try misfit(value, at: segment, unknown: false, withheld: plan.tables[table].holdsPrivate)
            }
            guard let element = plan.tables[table].element else { return }
            path.append(segment)
            // Grow geometrically: reserving exactly what this array needs would copy the whole table once per
            // enclosing element, quadratic for an array inside a long array.
            let needed = cells.tables[table].count + elements.count * cells.widths[table]
            if needed > cells.tables[table].capacity {
                cells.tables[table].reserveCapacity(max(needed, 2 * cells.tables[table].capacity))
            }
            for (index, item) in elements.enumerated() {
                let child = cells.appendRow(table)
                for (level, ancestorIndex) in indexes.enumerated() {
                    cells[child, level + 1] = .integer(Int64(ancestorIndex))
                }
                cells[child, indexes.count + 1] = .integer(Int64(index))
                indexes.append(index)
                try walk(item, element, row: child, at: .index(index))
                indexes.removeLast()
            }
            path.removeLast()
        }
    }

    private mutating func object(_ document: BSONDocument, _ objectPlan: ObjectPlan, row: RowPosition, skipID: Bool)
        throws(SchemaError)
    {
        // Which schema fields were seen: a bit mask for up to 64 fields, the common case, else an array.
        var seenMask: UInt64 = 0
        var seenMany = objectPlan.fields.count > 64 ? [Bool](repeating: false, count: objectPlan.fields.count) : []
        var seenUnknown: Set<FieldName> = []
        var seenID = false
        var hint = 0
        for element in document.elements {
            if skipID, element.key == "_id" {
                if seenID { count(at: .key(element.key)) { $0.duplicateKeys += 1 } }
                seenID = true
                continue
            }
            if let field = objectPlan.field(named: element.key, hint: hint) {
                hint = field + 1
                let seen: Bool
                if seenMany.isEmpty {
                    seen = seenMask & (1 << UInt64(field)) != 0
                    seenMask |= 1 << UInt64(field)
                } else {
                    seen = seenMany[field]
                    seenMany[field] = true
                }
                guard !seen else {
                    count(at: .key(element.key)) { $0.duplicateKeys += 1 }
                    continue
                }
                try walk(element.value, objectPlan.fields[field].node, row: row, at: .key(element.key))
            } else {
                guard seenUnknown.insert(FieldName(element.key)).inserted else {
                    count(at: .key(element.key)) { $0.duplicateKeys += 1 }
                    continue
                }
                try misfit(element.value, at: .key(element.key), unknown: true)
            }
        }
    }
}
