/// Infers a collection's schema from its documents, fed one at a time (DESIGN.md, "Schema files"). Memory stays
/// bounded whatever the number of documents: it keeps counts per field path, never documents, and tracks at most
/// `Limits.keysPerObject` distinct keys per object path and `Limits.fields` paths in all; keys beyond either bound
/// are only counted, and the object holding them becomes `json`.
public struct SchemaInference: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Distinct keys tracked per object path. PostgreSQL tables hold at most 1600 columns, so an object with
        /// more keys cannot be columns anyway: it is a dynamic-key object.
        public var keysPerObject = 1000
        /// Field paths tracked in all, nested ones and those below dynamic-key objects included.
        public var fields = 100_000
        public init(keysPerObject: Int = 1000, fields: Int = 100_000) {
            self.keysPerObject = keysPerObject
            self.fields = fields
        }
    }

    public let namespace: Namespace
    public let limits: Limits
    /// Documents added so far.
    public private(set) var documents = 0
    var root = PathStatistics()
    /// Field paths tracked so far, against `limits.fields`.
    private(set) var trackedFields = 0

    public init(namespace: Namespace, limits: Limits = Limits()) {
        self.namespace = namespace
        self.limits = limits
    }

    /// Counts one document's values under their paths.
    public mutating func add(_ document: BSONDocument) {
        documents += 1
        var budget = Budget(keysPerObject: limits.keysPerObject, fieldsLeft: limits.fields - trackedFields)
        root.add(.document(document), budget: &budget)
        trackedFields = limits.fields - budget.fieldsLeft
    }

    /// The schema the documents so far suggest, and the report of what was seen at each path.
    public func finish() -> InferredSchema {
        var builder = SchemaBuilder()
        let fields = builder.fields(of: root, path: "$", isRoot: true)
        let schema = CollectionSchema(namespace: namespace, fields: fields)
        var problems: [String] = []
        if documents == 0 { problems.append("no documents were read; \"_id\" is assumed to be an objectId") }
        if root.untrackedKeys > 0 {
            // Below the root such keys make their object json; the root must stay an object, so they are left out.
            problems.append(
                "\(root.untrackedKeys) top-level fields came after the tracking limits were reached "
                    + "and are not in the schema")
        }
        do {
            _ = try TablePlan(schema: schema)
        } catch {
            problems.append("the schema does not compile into tables; edit it before loading: \(error)")
        }
        let report = SchemaReport(
            collection: namespace.description, documents: documents, fields: builder.reports, problems: problems)
        return InferredSchema(schema: schema, report: report)
    }
}

/// What kind of value a path held: a schema leaf type, or an object, an array or null.
public enum ValueKind: Hashable, Sendable, Comparable, CustomStringConvertible {
    case scalar(ScalarType)
    case object, array, null

    /// Binary subtype 4 counts as `uuid` only with the 16 bytes a uuid column can hold; other binaries are `binData`.
    public init(_ value: BSONValue) {
        switch value {
        case .document: self = .object
        case .array: self = .array
        case .null: self = .null
        case .binary(let binary): self = .scalar(binary.subtype == 4 && binary.data.count == 16 ? .uuid : .binData)
        case .decimal128: self = .scalar(.decimal)
        default:
            // Every other alias is a ScalarType spelled the same way (DESIGN.md's type names are MongoDB's).
            self = .scalar(ScalarType(rawValue: value.typeAlias) ?? .json)
        }
    }

    /// The `$type` alias: a schema type name, or `object`, `array`, `null`.
    public var description: String {
        switch self {
        case .scalar(let type): type.rawValue
        case .object: "object"
        case .array: "array"
        case .null: "null"
        }
    }

    /// Schema type order, then object, array, null: breaks ties between equally common kinds the same way every run.
    private var rank: Int {
        switch self {
        case .scalar(let type): ScalarType.allCases.firstIndex(of: type) ?? 0
        case .object: ScalarType.allCases.count
        case .array: ScalarType.allCases.count + 1
        case .null: ScalarType.allCases.count + 2
        }
    }

    public static func < (lhs: ValueKind, rhs: ValueKind) -> Bool { lhs.rank < rhs.rank }

    /// Orders counts most common first, equally common kinds in `ValueKind` order, so every run picks the same.
    static func mostCommonFirst(_ lhs: (key: ValueKind, value: Int), _ rhs: (key: ValueKind, value: Int)) -> Bool {
        lhs.value != rhs.value ? lhs.value > rhs.value : lhs.key < rhs.key
    }
}

/// How many more paths may be tracked while adding one document.
struct Budget {
    let keysPerObject: Int
    var fieldsLeft: Int
}

/// What was seen at one path of the documents: how many values of each kind and, below it, per field of the objects
/// and for all elements of the arrays found there.
struct PathStatistics: Sendable {
    var kinds: [ValueKind: Int] = [:]
    /// Per field of the objects seen here; at most `Limits.keysPerObject` of them. Keyed byte for byte, as
    /// MongoDB keys them ("é" precomposed and decomposed are two fields).
    var fields: [FieldName: PathStatistics] = [:]
    /// Field names in the order they were first seen.
    var fieldOrder: [String] = []
    /// Occurrences of keys that were not tracked because a limit was reached.
    var untrackedKeys = 0
    /// The elements of every array seen here, together; empty until an array is seen (a struct cannot hold itself).
    var elements: [PathStatistics] = []
    /// Longs that a double column could not hold exactly.
    var inexactLongs = 0
    /// Dates outside timestamptz's range.
    var datesOutOfRange = 0

    /// Values seen here, null included.
    var count: Int { kinds.values.reduce(0, +) }
    /// Objects seen here.
    var objects: Int { kinds[.object] ?? 0 }

    mutating func add(_ value: BSONValue, budget: inout Budget) {
        kinds[ValueKind(value), default: 0] += 1
        switch value {
        case .document(let document): addFields(of: document, budget: &budget)
        case .array(let values):
            if elements.isEmpty { elements.append(PathStatistics()) }
            for element in values { elements[0].add(element, budget: &budget) }
        case .int64(let number) where Double(exactly: number) == nil: inexactLongs += 1
        case .datetime(let milliseconds) where !ValueMapping.timestampRange.contains(milliseconds): datesOutOfRange += 1
        default: break
        }
    }

    private mutating func addFields(of document: BSONDocument, budget: inout Budget) {
        // MongoDB reads the first of duplicate keys, and so does the flattener: later copies are not values.
        var seen: Set<FieldName> = []
        for element in document.elements where document.count == 1 || seen.insert(FieldName(element.key)).inserted {
            let key = FieldName(element.key)
            if fields[key] == nil {
                guard fields.count < budget.keysPerObject, budget.fieldsLeft > 0 else {
                    untrackedKeys += 1
                    continue
                }
                budget.fieldsLeft -= 1
                fieldOrder.append(element.key)
            }
            fields[key, default: PathStatistics()].add(element.value, budget: &budget)
        }
    }
}

/// Turns path statistics into schema nodes, top-down, collecting the report of every path it keeps (a path before
/// the paths below it).
private struct SchemaBuilder {
    var reports: [FieldReport] = []

    /// The fields of an object path, `_id` first at the root.
    mutating func fields(of statistics: PathStatistics, path: String, isRoot: Bool) -> [SchemaField] {
        var names = statistics.fieldOrder
        if isRoot {
            names.removeAll { $0 == "_id" }
            names.insert("_id", at: 0)
        }
        return names.map { name in
            let memberPath = path + JSONPath.member(name)
            guard let field = statistics.fields[FieldName(name)] else {
                reports.append(
                    FieldReport(
                        path: memberPath, count: 0, types: [], schemaType: "objectId", conflicts: [],
                        note: "no document had an \"_id\"; assumed to be an objectId"))
                return SchemaField(name, .scalar(.objectId))
            }
            return SchemaField(name, node(field, path: memberPath, isID: isRoot && name == "_id"))
        }
    }

    mutating func node(_ statistics: PathStatistics, path: String, isID: Bool) -> SchemaNode {
        let unified = TypeUnification.unify(
            statistics.kinds, inexactLongs: statistics.inexactLongs, datesOutOfRange: statistics.datesOutOfRange)
        let index = reports.count
        reports.append(
            FieldReport(
                path: path, count: statistics.count, types: FieldReport.counts(statistics.kinds), schemaType: "json",
                conflicts: FieldReport.counts(unified.conflicts)))
        let (node, note) = shape(statistics, kind: unified.kind, path: path, isID: isID)
        reports[index].schemaType =
            switch node {
            case .scalar(let type): type.rawValue
            case .object: "object"
            case .array: "array"
            case .excluded: "excluded"
            case .hashed(let format): "hash " + format.rawValue
            }
        reports[index].note = note
        if node == .scalar(.json) { reports[index].conflicts = [] }  // json holds any value
        return node
    }

    /// The node for the kind unification chose, and a note when it is `json` for a reason the kinds do not show.
    private mutating func shape(_ statistics: PathStatistics, kind: ValueKind?, path: String, isID: Bool)
        -> (SchemaNode, String?)
    {
        if isID, kind == .object || kind == .array {
            return (.scalar(.json), "\"_id\" must be a type name: embedded ids load as json")
        }
        switch kind {
        case .scalar(let type)?:
            return (.scalar(type), nil)
        case .object?:
            if let reason = DynamicKeys.reason(statistics) { return (.scalar(.json), "dynamic keys: \(reason)") }
            if statistics.fields.isEmpty { return (.scalar(.json), "only empty objects seen") }
            return (.object(fields(of: statistics, path: path, isRoot: false)), nil)
        case .array?:
            guard let elements = statistics.elements.first, elements.count > 0 else {
                return (.array(.scalar(.json)), "only empty arrays seen")
            }
            return (.array(node(elements, path: path + JSONPath.anyElement, isID: false)), nil)
        case .null?, nil:
            return (.scalar(.json), "only null seen")
        }
    }
}
