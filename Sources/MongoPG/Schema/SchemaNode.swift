/// The leaf types a schema file names: MongoDB's `$type` aliases plus `uuid` and `json` (DESIGN.md, "Schema files").
public enum ScalarType: String, Sendable, CaseIterable, Codable {
    case string, int, long, double, decimal, bool, date, objectId, binData, uuid, timestamp
    case regex, javascript, symbol, dbPointer, javascriptWithScope, minKey, maxKey, undefined
    case json

    /// The column type (DESIGN.md, "Relational model", Types).
    public var sqlType: SQLType {
        switch self {
        case .string, .objectId: .text
        case .int: .integer
        case .long, .timestamp: .bigint
        case .double: .doublePrecision
        case .decimal: .numeric
        case .bool: .boolean
        case .date: .timestamptz
        case .binData: .bytea
        case .uuid: .uuid
        case .json: .jsonb
        // Rare types: text holding canonical Extended JSON.
        case .regex, .javascript, .symbol, .dbPointer, .javascriptWithScope, .minKey, .maxKey, .undefined: .text
        }
    }

    /// Rare types kept as text holding their canonical Extended JSON.
    public var isExtendedJSONText: Bool {
        switch self {
        case .regex, .javascript, .symbol, .dbPointer, .javascriptWithScope, .minKey, .maxKey, .undefined: true
        default: false
        }
    }
}

/// The PostgreSQL column types the relational model uses, spelled as in DDL.
public enum SQLType: String, Sendable, Codable, CaseIterable {
    case text, integer, bigint, doublePrecision = "double precision", numeric, boolean, timestamptz, bytea, uuid, jsonb
}

/// One node of a schema file: a leaf type, an object with ordered fields, an array of one element schema, or a
/// private leaf: `{"exclude": true}` (never loaded) or `{"hash": "text" | "bytea"}` (loaded as a keyed hash).
public indirect enum SchemaNode: Sendable, Equatable {
    case scalar(ScalarType)
    case object([SchemaField])
    case array(SchemaNode)
    case excluded
    case hashed(HashFormat)

    /// Whether the node is or holds an excluded or hashed leaf.
    public var holdsPrivate: Bool {
        switch self {
        case .scalar: false
        case .excluded, .hashed: true
        case .object(let fields): fields.contains { $0.node.holdsPrivate }
        case .array(let element): element.holdsPrivate
        }
    }
}

public struct SchemaField: Sendable, Equatable {
    public var name: String
    public var node: SchemaNode
    public init(_ name: String, _ node: SchemaNode) {
        self.name = name
        self.node = node
    }
}

/// A collection's schema file, `schemas/<db>.<coll>.json`: a root object that holds `_id`.
public struct CollectionSchema: Sendable, Equatable {
    public var namespace: Namespace
    public var fields: [SchemaField]

    public init(namespace: Namespace, fields: [SchemaField]) {
        self.namespace = namespace
        self.fields = fields
    }

    /// The conventional file name, `<db>.<coll>.json`.
    public static func fileName(for namespace: Namespace) -> String { "\(namespace).json" }

    /// Parses a schema file's text; `file` only names the file in errors.
    /// Throws `SchemaError.badSchemaFile` naming the JSON path and the reason.
    public init(namespace: Namespace, jsonText: String, file: String? = nil) throws(SchemaError) {
        let json: JSONText
        do {
            json = try JSONText.parse(jsonText)
        } catch {
            throw SchemaError(
                .badSchemaFile, "not valid JSON: \(error.message) (line \(error.line), column \(error.column))",
                file: file, path: "$")
        }
        guard case .object = json else {
            throw SchemaError(
                .badSchemaFile, "the schema must be a JSON object mirroring the document", file: file, path: "$")
        }
        guard case .object(let fields) = try Self.node(json, path: "$", file: file) else {
            fatalError("object stays object")
        }
        guard let id = fields.first(where: { $0.name == "_id" }) else {
            throw SchemaError(
                .badSchemaFile, "the schema has no \"_id\" field; every document has one", file: file, path: "$")
        }
        guard case .scalar = id.node else {
            throw SchemaError(
                .badSchemaFile, "\"_id\" must be a type name (use \"json\" for embedded-document ids)", file: file,
                path: "$._id")
        }
        self.init(namespace: namespace, fields: fields)
    }

    private static func node(_ json: JSONText, path: String, file: String?) throws(SchemaError) -> SchemaNode {
        switch json {
        case .string(let name):
            guard let type = ScalarType(rawValue: name) else {
                let known = ScalarType.allCases.map(\.rawValue).joined(separator: ", ")
                throw SchemaError(
                    .badSchemaFile, "unknown type \"\(name)\"; known types: \(known)", file: file, path: path)
            }
            return .scalar(type)
        case .object(let members):
            if let directive = try privateLeaf(members, path: path, file: file) { return directive }
            var fields: [SchemaField] = []
            var seen: Set<FieldName> = []  // by bytes: "\u{E9}" and "e\u{301}" are two fields to MongoDB
            for member in members {
                let memberPath = path + JSONPath.member(member.key)
                guard seen.insert(FieldName(member.key)).inserted else {
                    throw SchemaError(.badSchemaFile, "duplicate field \"\(member.key)\"", file: file, path: memberPath)
                }
                guard !member.key.utf8.contains(0) else {
                    throw SchemaError(.badSchemaFile, "field names cannot hold NUL", file: file, path: memberPath)
                }
                fields.append(SchemaField(member.key, try node(member.value, path: memberPath, file: file)))
            }
            return .object(fields)
        case .array(let elements):
            guard elements.count == 1 else {
                throw SchemaError(
                    .badSchemaFile, "an array is a list of exactly one element schema, found \(elements.count)",
                    file: file, path: path)
            }
            let element = try node(elements[0], path: path + "[0]", file: file)
            guard element != .excluded else {
                throw SchemaError(
                    .badSchemaFile, "an array's elements cannot be excluded one by one: exclude the array itself",
                    file: file, path: path)
            }
            return .array(element)
        case .number, .bool, .null:
            throw SchemaError(
                .badSchemaFile, "expected a type name, an object or a one-element list", file: file, path: path)
        }
    }

    /// `{"exclude": true}` or `{"hash": "text" | "bytea"}`, or nil for an object of fields. Neither `true` nor
    /// "text" and "bytea" is a type name, so no object of fields reads as either.
    private static func privateLeaf(_ members: [(key: String, value: JSONText)], path: String, file: String?)
        throws(SchemaError) -> SchemaNode?
    {
        guard members.count == 1, let member = members.first else { return nil }
        switch (member.key, member.value) {
        case ("exclude", .bool(true)): return .excluded
        case ("exclude", .bool(false)):
            throw SchemaError(.badSchemaFile, "\"exclude\" takes true", file: file, path: path)
        case ("hash", .string(let name)):
            if ScalarType(rawValue: name) != nil { return nil }  // a field named "hash"
            guard let format = HashFormat(rawValue: name) else {
                let known = HashFormat.allCases.map(\.rawValue).joined(separator: ", ")
                throw SchemaError(
                    .badSchemaFile, "unknown hash column type \"\(name)\"; known: \(known)", file: file, path: path)
            }
            return .hashed(format)
        default: return nil
        }
    }

    /// The schema as pretty JSON text: two-space indentation, fields in schema order, one-type lists inline.
    public var jsonText: String {
        Self.write(.object(fields), indent: "") + "\n"
    }

    private static func write(_ node: SchemaNode, indent: String) -> String {
        switch node {
        case .scalar(let type): return JSONString.quoted(type.rawValue)
        case .excluded: return "{\"exclude\": true}"
        case .hashed(let format): return "{\"hash\": \(JSONString.quoted(format.rawValue))}"
        case .array(let element):
            if case .object(let fields) = element, !fields.isEmpty {
                return "[\n\(indent)  " + write(element, indent: indent + "  ") + "\n\(indent)]"
            }
            return "[" + write(element, indent: indent) + "]"
        case .object(let fields):
            guard !fields.isEmpty else { return "{}" }
            let inner = indent + "  "
            let lines = fields.map { inner + JSONString.quoted($0.name) + ": " + write($0.node, indent: inner) }
            return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
        }
    }
}

/// JSON paths (RFC 9535 style) for catalog rows and error messages: `$.orders[*].qty`, `$['odd name']`.
public enum JSONPath {
    static func member(_ name: String) -> String {
        var plain = !name.isEmpty
        for (offset, scalar) in name.unicodeScalars.enumerated() {
            let letter =
                scalar == "_" || (scalar.properties.isAlphabetic && scalar.value < 0x80) || scalar.value >= 0x80
            if !(letter || (offset > 0 && ("0"..."9").contains(scalar))) { plain = false }
        }
        if plain { return "." + name }
        var escaped = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "'": escaped += "\\'"
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "['" + escaped + "']"
    }

    static let anyElement = "[*]"
}

extension CollectionSchema {
    /// This schema with `other`'s excluded and hashed leaves put in their places (added where this one lacks the
    /// field), so that a schema inferred again keeps what an edited one keeps out of the tables.
    public func keepingPrivateLeaves(of other: CollectionSchema) -> CollectionSchema {
        CollectionSchema(namespace: namespace, fields: Self.merge(fields, private: other.fields))
    }

    private static func merge(_ fields: [SchemaField], private other: [SchemaField]) -> [SchemaField] {
        var merged = fields
        for field in other where field.node.holdsPrivate {
            let at = merged.firstIndex { FieldName.sameBytes($0.name, field.name) }
            let node = merge(at.map { merged[$0].node }, private: field.node)
            if let at { merged[at].node = node } else { merged.append(SchemaField(field.name, node)) }
        }
        return merged
    }

    private static func merge(_ node: SchemaNode?, private other: SchemaNode) -> SchemaNode {
        switch (node, other) {
        case (_, .excluded), (_, .hashed): other
        case (.object(let fields)?, .object(let inner)): .object(merge(fields, private: inner))
        case (.array(let element)?, .array(let inner)): .array(merge(element, private: inner))
        case (_, .object(let inner)): .object(merge([], private: inner))
        case (_, .array(let inner)): .array(merge(nil, private: inner))
        case (_, .scalar): other  // not reached: a scalar holds nothing private
        }
    }
}
