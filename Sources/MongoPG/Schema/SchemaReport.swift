/// An inferred schema and the report that explains it.
public struct InferredSchema: Sendable, Encodable {
    public var schema: CollectionSchema
    public var report: SchemaReport

    enum CodingKeys: String, CodingKey { case collection, documents, fields, problems, schema }

    /// The `--json` form: the report's members plus `schema`, the schema file's text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(report.collection, forKey: .collection)
        try container.encode(report.documents, forKey: .documents)
        try container.encode(report.fields, forKey: .fields)
        try container.encode(report.problems, forKey: .problems)
        try container.encode(schema.jsonText, forKey: .schema)
    }
}

/// What schema inference saw: per field path, the kinds of value with their counts, the type chosen and the values
/// that type cannot hold. Paths are JSON paths as the flattener's report spells them (`$.orders[*].qty`).
public struct SchemaReport: Sendable, Equatable, Codable {
    public var collection: String
    public var documents: Int
    /// Every path of the schema, a path before the paths below it; none below a `json` node.
    public var fields: [FieldReport]
    /// What needs a person before the schema is used.
    public var problems: [String]

    /// The report for people: a header line, then one line per path (path, count, kinds seen, type chosen).
    public var text: String {
        let pathWidth = min(48, fields.map(\.path.count).max() ?? 0)
        let countWidth = String(fields.map(\.count).max() ?? 0).count
        let kinds = fields.map {
            $0.types.isEmpty ? "-" : $0.types.map { "\($0.type) \($0.count)" }.joined(separator: ", ")
        }
        let kindsWidth = min(40, kinds.map(\.count).max() ?? 0)
        var lines = ["\(collection): \(documents) documents, \(fields.count) field paths"]
        for (field, seen) in zip(fields, kinds) {
            let count = String(field.count)
            var line = "  " + field.path + String(repeating: " ", count: max(0, pathWidth - field.path.count))
            line += "  " + String(repeating: " ", count: countWidth - count.count) + count
            line += "  " + seen + String(repeating: " ", count: max(0, kindsWidth - seen.count))
            line += "  -> " + field.schemaType
            if !field.conflicts.isEmpty {
                line += "; load NULL: " + field.conflicts.map { "\($0.type) \($0.count)" }.joined(separator: ", ")
            }
            if let note = field.note { line += " (\(note))" }
            lines.append(line)
        }
        lines += problems.map { "problem: " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// One path of a `SchemaReport`.
public struct FieldReport: Sendable, Equatable, Codable {
    public struct TypeCount: Sendable, Equatable, Codable {
        /// A `$type` alias: a schema type name, `object`, `array` or `null`.
        public var type: String
        public var count: Int
    }

    public var path: String
    /// Values seen at the path, null included: documents (objects, for nested fields; elements, for `[*]`) holding it.
    public var count: Int
    /// Every kind seen, most common first.
    public var types: [TypeCount]
    /// The schema's type for the path: a type name, `object` or `array`.
    public var schemaType: String
    /// Values the schema type cannot hold: they load NULL and are counted by mongo-reader.
    public var conflicts: [TypeCount]
    /// Why the type is `json` when the kinds do not say (dynamic keys, only nulls, ...).
    public var note: String?

    /// Counts per kind, most common first, equally common ones in `ValueKind` order.
    static func counts(_ kinds: [ValueKind: Int]) -> [TypeCount] {
        kinds.sorted(by: ValueKind.mostCommonFirst).map { TypeCount(type: $0.key.description, count: $0.value) }
    }
}
