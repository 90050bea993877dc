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
    }

    public var documents = 0
    /// Rows produced per table name.
    public var rows: [String: Int] = [:]
    /// Per field, as a JSON path with `[*]` for array elements (`$.orders[*].qty`).
    public var fields: [String: FieldCounts] = [:]

    public init() {}

    /// Adds another report's counts (from another batch or job).
    public mutating func merge(_ other: FlattenReport) {
        documents += other.documents
        rows.merge(other.rows, uniquingKeysWith: +)
        for (path, counts) in other.fields {
            var mine = fields[path] ?? FieldCounts()
            mine.mismatched += counts.mismatched
            mine.unknown += counts.unknown
            mine.keptInExtra += counts.keptInExtra
            mine.nulStripped += counts.nulStripped
            mine.duplicateKeys += counts.duplicateKeys
            fields[path] = mine
        }
    }
}

/// Turns documents into rows following a plan (DESIGN.md, "Relational model"). Pure: no I/O, no state kept between
/// documents, so one flattener can serve any number of documents and threads.
public struct Flattener: Sendable {
    public let plan: TablePlan
    /// Position of `_extra` in the root table, when kept.
    let extraColumn: Int?

    public init(plan: TablePlan) {
        self.plan = plan
        extraColumn = plan.rootTable.columns.firstIndex { $0.role == .extra }
    }

    /// The rows of every table for `document`; counts what did not fit into `report`.
    /// Throws `SchemaError.badDocument` (exit 65) for a document without a usable `_id`, or holding NUL in a string
    /// while `strip_nul` is off; the error names the `_id` and the dotted path.
    public func flatten(_ document: BSONDocument, report: inout FlattenReport) throws(SchemaError) -> FlattenedDocument {
        var walk = Walk(plan: plan, report: report)
        let rows = try walk.run(document, extraColumn: extraColumn)
        report = walk.report
        report.documents += 1
        for (table, tableRows) in rows.enumerated() where !tableRows.isEmpty {
            report.rows[plan.tables[table].name, default: 0] += tableRows.count
        }
        return FlattenedDocument(rows: rows)
    }
}

/// One step of a path inside a document.
enum PathSegment: Equatable {
    case key(String)
    case index(Int)

    /// The dotted path `_extra` uses: keys with `\` and `.` (and a leading `$`) escaped by a backslash, indexes in
    /// decimal: `orders.3.qty`, `a\.b`, `\$set`.
    static func dotted(_ segments: [PathSegment]) -> String {
        segments.map { segment in
            switch segment {
            case .index(let index): String(index)
            case .key(let key):
                // A leading `$` is escaped too, so no `_extra` key reads as an Extended JSON keyword (`$oid`).
                (key.hasPrefix("$") ? "\\" : "")
                    + (key.contains(where: { $0 == "." || $0 == "\\" })
                        ? key.replacing("\\", with: "\\\\").replacing(".", with: "\\.") : key)
            }
        }.joined(separator: ".")
    }

    /// Splits a dotted path back into its parts (all as keys; the plan decides which are indexes).
    static func parts(ofDotted path: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for character in path {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "." {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    /// The JSON path the report counts under: keys as members, indexes as `[*]`.
    static func reportPath(_ segments: [PathSegment]) -> String {
        "$" + segments.map { segment in
            switch segment {
            case .key(let key): JSONPath.member(key)
            case .index: JSONPath.anyElement
            }
        }.joined()
    }
}

private struct Walk {
    let plan: TablePlan
    var report: FlattenReport
    var rows: [[[SQLValue]]]
    var path: [PathSegment] = []
    var extra = BSONDocument()
    var id: SQLValue = .null
    var idText = ""

    init(plan: TablePlan, report: FlattenReport) {
        self.plan = plan
        self.report = report
        rows = Array(repeating: [], count: plan.tables.count)
    }

    mutating func run(_ document: BSONDocument, extraColumn: Int?) throws(SchemaError) -> [[[SQLValue]]] {
        guard let idValue = document["_id"], idValue != .null else {
            throw SchemaError(.badDocument, "document has no _id", documentID: "\(document.description.prefix(200))")
        }
        idText = idValue.description
        path = [.key("_id")]
        switch ValueMapping.convert(idValue, to: plan.idType, stripNUL: plan.settings.stripNUL) {
        case .fits(let value, let stripped):
            id = value
            if stripped { count { $0.nulStripped += 1 } }
        case .mismatch:
            throw SchemaError(
                .badDocument, "_id of type \(idValue.typeAlias) does not fit the schema's \(plan.idType.rawValue)",
                path: "_id", documentID: idText)
        case .holdsNUL: throw nulError()
        }
        path = []
        var row = [SQLValue](repeating: .null, count: plan.rootTable.columns.count)
        row[0] = id
        try object(document, plan.root, row: &row, indexes: [], skipID: true)
        if let extraColumn, !extra.isEmpty {
            path = []
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
                row[extraColumn] = .json(try cleaned.extendedJSON(.canonical))
            } catch {
                throw SchemaError(.badDocument, "cannot write _extra: \(error.message)", documentID: idText)
            }
        }
        rows[0].append(row)
        return rows
    }

    func nulError() -> SchemaError {
        SchemaError(
            .badDocument, "a string holds a NUL byte, which PostgreSQL cannot store (strip_nul = true strips it)",
            path: PathSegment.dotted(path), documentID: idText)
    }

    mutating func count(_ change: (inout FlattenReport.FieldCounts) -> Void) {
        change(&report.fields[PathSegment.reportPath(path), default: FlattenReport.FieldCounts()])
    }

    /// A value the schema cannot hold at the current path: counted, and kept in `_extra` when enabled.
    mutating func misfit(_ value: BSONValue, unknown: Bool) {
        let keep = plan.settings.keepExtra
        count {
            if unknown { $0.unknown += 1 } else { $0.mismatched += 1 }
            if keep { $0.keptInExtra += 1 }
        }
        if keep { extra.append(PathSegment.dotted(path), value) }
    }

    mutating func walk(_ value: BSONValue, _ node: PlanNode, row: inout [SQLValue], indexes: [Int]) throws(SchemaError) {
        if case .null = value { return }  // null and missing both load as NULL / no rows
        switch node {
        case .column(let column, let type):
            switch ValueMapping.convert(value, to: type, stripNUL: plan.settings.stripNUL) {
            case .fits(let converted, let stripped):
                row[column] = converted
                if stripped { count { $0.nulStripped += 1 } }
            case .mismatch: misfit(value, unknown: false)
            case .holdsNUL: throw nulError()
            }
        case .object(let objectPlan):
            guard case .document(let document) = value else { return misfit(value, unknown: false) }
            try object(document, objectPlan, row: &row, indexes: indexes, skipID: false)
        case .array(let table):
            guard case .array(let elements) = value else { return misfit(value, unknown: false) }
            let planned = plan.tables[table]
            guard let element = planned.element else { return }
            for (index, item) in elements.enumerated() {
                var child = [SQLValue](repeating: .null, count: planned.columns.count)
                child[0] = id
                for (level, ancestorIndex) in indexes.enumerated() { child[level + 1] = .integer(Int64(ancestorIndex)) }
                child[indexes.count + 1] = .integer(Int64(index))
                path.append(.index(index))
                try walk(item, element, row: &child, indexes: indexes + [index])
                path.removeLast()
                rows[table].append(child)
            }
        }
    }

    mutating func object(
        _ document: BSONDocument, _ objectPlan: ObjectPlan, row: inout [SQLValue], indexes: [Int], skipID: Bool
    ) throws(SchemaError) {
        var seen = [Bool](repeating: false, count: objectPlan.fields.count)
        var seenUnknown: Set<String> = []
        var seenID = false
        for element in document.elements {
            path.append(.key(element.key))
            defer { path.removeLast() }
            if skipID, element.key == "_id" {
                if seenID { count { $0.duplicateKeys += 1 } }
                seenID = true
                continue
            }
            if let field = objectPlan.lookup[element.key] {
                guard !seen[field] else {
                    count { $0.duplicateKeys += 1 }
                    continue
                }
                seen[field] = true
                try walk(element.value, objectPlan.fields[field].node, row: &row, indexes: indexes)
            } else {
                guard seenUnknown.insert(element.key).inserted else {
                    count { $0.duplicateKeys += 1 }
                    continue
                }
                misfit(element.value, unknown: true)
            }
        }
    }
}
