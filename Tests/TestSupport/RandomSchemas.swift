import MongoPG

/// Random schemas and documents that mostly fit them (with nulls, gaps, wrong types, unknown and duplicate keys),
/// for property tests of flattening and rebuilding. Values that travel through Extended JSON (json nodes, `_extra`)
/// avoid what libbson 1.23's parser cannot read back: `$`-prefixed keys, `$code` / `$dbPointer` values.
public enum RandomSchemas {
    public static let names: [String] = [
        "a", "b", "c", "Name", "name", "x.y", "$set", "", "\"q\"", "é", "日本", "🙂", " ", "tab\t", "0", "1", "n-m",
        "it's",
    ]
    static let safeKeys: [String] = ["a", "b", "x.y", "", "\"q\"", "é", "日本", " ", "0", "_id"]
    static let plainAlphabet: [String] = [
        "a", "Z", "\\", "\t", "\n", "\r", "\"", ",", "é", "日本", "🙂", " ", "NULL", "\\N",
    ]

    /// A random schema whose plan compiles (names that collide after sanitising are drawn again).
    public static func plan(_ random: inout SeededRandom, settings: FlattenSettings) -> TablePlan {
        while true {
            var fields = [SchemaField("_id", .scalar(idTypes.randomElement(using: &random)!))]
            fields += objectFields(&random, depth: 0, excluding: ["_id"])
            let schema = CollectionSchema(namespace: Namespace(database: "db", collection: "coll"), fields: fields)
            if let plan = try? TablePlan(schema: schema, settings: settings) { return plan }
        }
    }

    static let idTypes: [ScalarType] = [.objectId, .string, .int, .long, .uuid, .json, .date]

    static func objectFields(_ random: inout SeededRandom, depth: Int, excluding: Set<String> = []) -> [SchemaField] {
        var used = excluding
        var fields: [SchemaField] = []
        for _ in 0..<Int.random(in: 1...5, using: &random) {
            let name = names.randomElement(using: &random)!
            guard used.insert(name).inserted else { continue }
            fields.append(SchemaField(name, node(&random, depth: depth)))
        }
        return fields
    }

    static func node(_ random: inout SeededRandom, depth: Int) -> SchemaNode {
        let roll = Int.random(in: 0..<10, using: &random)
        if depth >= 3 || roll < 6 { return .scalar(ScalarType.allCases.randomElement(using: &random)!) }
        if roll < 8 { return .object(objectFields(&random, depth: depth + 1)) }
        let elementRoll = Int.random(in: 0..<10, using: &random)
        if elementRoll < 5 { return .array(.scalar(ScalarType.allCases.randomElement(using: &random)!)) }
        if elementRoll < 8 { return .array(.object(objectFields(&random, depth: depth + 1))) }
        return .array(node(&random, depth: depth + 1).arrayWrapped)
    }

    /// A document for the schema: fields missing, null, fitting, ill-typed, unknown or duplicated at random.
    public static func document(for schema: CollectionSchema, _ random: inout SeededRandom) -> BSONDocument {
        var document = BSONDocument()
        let idType: ScalarType
        if case .scalar(let type) = schema.fields[0].node { idType = type } else { idType = .objectId }
        document.append("_id", idValue(idType, &random))
        for element in object(Array(schema.fields.dropFirst()), &random, depth: 0).elements {
            document.append(element.key, element.value)
        }
        return document
    }

    static func idValue(_ type: ScalarType, _ random: inout SeededRandom) -> BSONValue {
        switch type {
        case .json: .document(["k": .int32(Int32.random(in: 0...9, using: &random)), "a": .string("x")])
        case .date: .datetime(Int64.random(in: -100_000_000_000_000...1_000_000_000_000_000, using: &random))
        case .uuid: .binary(BSONBinary(subtype: 4, data: bytes(&random, count: 16)))
        default: scalar(type, &random)
        }
    }

    static func object(_ fields: [SchemaField], _ random: inout SeededRandom, depth: Int) -> BSONDocument {
        var elements: [BSONDocument.Element] = []
        for field in fields {
            switch Int.random(in: 0..<20, using: &random) {
            case 0..<3: continue  // missing
            case 3..<5: elements.append(.init(key: field.name, value: .null))
            case 5..<7: elements.append(.init(key: field.name, value: safeValue(&random, depth: depth + 1)))
            default: elements.append(.init(key: field.name, value: fitting(field.node, &random, depth: depth + 1)))
            }
            if Int.random(in: 0..<30, using: &random) == 0, let last = elements.last {  // a duplicate key
                elements.append(.init(key: last.key, value: safeValue(&random, depth: depth + 1)))
            }
        }
        if Int.random(in: 0..<6, using: &random) == 0 {  // an unknown field
            let name = (names + ["extra", "zz"]).randomElement(using: &random)!
            if !fields.contains(where: { $0.name == name }) && name != "_id" {
                elements.append(.init(key: name, value: safeValue(&random, depth: depth + 1)))
            }
        }
        elements.shuffle(using: &random)
        return BSONDocument(elements: elements)
    }

    static func fitting(_ node: SchemaNode, _ random: inout SeededRandom, depth: Int) -> BSONValue {
        switch node {
        case .scalar(let type): return scalar(type, &random)
        case .excluded, .hashed: return safeValue(&random, depth: depth + 1)  // any value goes
        case .object(let fields): return .document(object(fields, &random, depth: depth))
        case .array(let element):
            return .array(
                (0..<Int.random(in: 0...4, using: &random)).map { _ in
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0: .null
                    case 1: safeValue(&random, depth: depth + 1)
                    default: fitting(element, &random, depth: depth + 1)
                    }
                })
        }
    }

    static func text(_ random: inout SeededRandom) -> String {
        let text = RandomDocuments.string(&random, alphabet: plainAlphabet)
        return Int.random(in: 0..<25, using: &random) == 0 ? text + "\0" : text
    }

    static func bytes(_ random: inout SeededRandom, count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    /// A value of the type, edge values included; some (inexact int64 in double, out-of-range dates, short uuids)
    /// do not fit on purpose.
    static func scalar(_ type: ScalarType, _ random: inout SeededRandom) -> BSONValue {
        switch type {
        case .string: return .string(text(&random))
        case .int:
            return .int32(
                [.min, .max, 0, -1, Int32.random(in: .min ... .max, using: &random)].randomElement(using: &random)!)
        case .long:
            return Bool.random(using: &random)
                ? .int32(Int32.random(in: .min ... .max, using: &random))
                : .int64([.min, .max, Int64.random(in: .min ... .max, using: &random)].randomElement(using: &random)!)
        case .double:
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return .int32(Int32.random(in: .min ... .max, using: &random))
            case 1:
                return .int64(
                    [1 << 53, (1 << 53) + 1, Int64.random(in: .min ... .max, using: &random)].randomElement(
                        using: &random)!)
            default:
                return .double(
                    [
                        0.0, -0.0, .nan, .infinity, -.infinity, 1.5, 1e300, -1e18, .leastNonzeroMagnitude,
                        Double(bitPattern: random.next()),
                    ].randomElement(using: &random)!)
            }
        case .decimal:
            return .decimal128(
                Decimal128(
                    [
                        "0", "-0", "-0.00", "1.50", "12345678901234567890.123456789", "1E+6144", "-1E-6176", "NaN",
                        "-NaN", "Infinity", "-Infinity", "0.1", "1E+3", "9.999999999999999999999999999999999E+6144",
                    ].randomElement(using: &random)!)!)
        case .bool: return .bool(Bool.random(using: &random))
        case .date:
            return .datetime(
                Int.random(in: 0..<10, using: &random) == 0
                    ? .min : Int64.random(in: -210_000_000_000_000...9_000_000_000_000_000, using: &random))
        case .objectId: return .objectID(RandomDocuments.objectID(&random))
        case .binData:
            return .binary(
                BSONBinary(
                    subtype: [0, 2, 3, 4, 5, 0x80].randomElement(using: &random)!,
                    data: bytes(&random, count: Int.random(in: 0...20, using: &random))))
        case .uuid:
            return .binary(
                BSONBinary(
                    subtype: 4, data: bytes(&random, count: Int.random(in: 0..<10, using: &random) == 0 ? 15 : 16)))
        case .timestamp:
            return .timestamp(
                BSONTimestamp(
                    seconds: UInt32.random(in: 0 ... .max, using: &random),
                    increment: UInt32.random(in: 0 ... .max, using: &random)))
        case .regex:
            return .regex(
                BSONRegex(
                    pattern: RandomDocuments.string(&random, alphabet: ["a", "^", "$", ".*", "é", "\\d", "\""]),
                    options: ["", "i", "im", "imsx"].randomElement(using: &random)!))
        case .javascript: return .javascript(text(&random))
        case .symbol: return .symbol(text(&random))
        case .dbPointer:
            return .dbPointer(
                namespace: "db.c" + RandomDocuments.string(&random, alphabet: ["a", "é"]),
                id: RandomDocuments.objectID(&random))
        case .javascriptWithScope:
            return .javascriptWithScope(code: text(&random), scope: safeDocument(&random, depth: 3))
        case .minKey: return .minKey
        case .maxKey: return .maxKey
        case .undefined: return .undefined
        case .json: return safeValue(&random, depth: 1)
        }
    }

    static func safeDocument(_ random: inout SeededRandom, depth: Int) -> BSONDocument {
        BSONDocument(
            (0..<Int.random(in: 0...3, using: &random)).map { _ in
                (safeKeys.randomElement(using: &random)!, safeValue(&random, depth: depth + 1))
            })
    }

    /// Any value that survives Extended JSON through libbson, of every kind that can.
    static func safeValue(_ random: inout SeededRandom, depth: Int) -> BSONValue {
        let kinds: [ScalarType] = [
            .string, .int, .long, .double, .decimal, .bool, .date, .objectId, .binData, .uuid, .timestamp, .regex,
            .symbol, .minKey, .maxKey, .undefined,
        ]
        switch Int.random(in: 0..<(depth < 4 ? 10 : 8), using: &random) {
        case 0..<7: return scalar(kinds.randomElement(using: &random)!, &random)
        case 7: return .null
        case 8: return .document(safeDocument(&random, depth: depth))
        default:
            return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in safeValue(&random, depth: depth + 1) })
        }
    }
}

extension SchemaNode {
    fileprivate var arrayWrapped: SchemaNode {
        if case .array = self { return self }
        return .array(self)
    }
}
