import MongoPG

/// A small seeded generator (SplitMix64), so a failing random case is reproduced from its seed alone.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random documents holding every BSON type, hostile keys and strings included.
public enum RandomDocuments {
    public static let keyAlphabet: [String] = [
        "a", "b", "_id", "x.y", "$set", "", "\"q\"", "é", "日本", "🙂", " ", "tab\t", "0", "1",
    ]
    public static let stringAlphabet: [String] = [
        "a", "Z", "\\", "\t", "\n", "\r", "\"", ",", "é", "日本", "🙂", "\0", " ", "NULL", "\\N",
    ]

    public static func string(_ random: inout SeededRandom, alphabet: [String] = stringAlphabet, maxLength: Int = 12)
        -> String
    {
        (0..<Int.random(in: 0...maxLength, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            .joined()
    }

    public static func key(_ random: inout SeededRandom) -> String {
        string(&random, alphabet: keyAlphabet, maxLength: 3)
    }

    public static func objectID(_ random: inout SeededRandom) -> ObjectID {
        ObjectID((0..<12).map { _ in UInt8.random(in: 0...255, using: &random) })!
    }

    public static func document(_ random: inout SeededRandom, depth: Int = 0, maxFields: Int = 6) -> BSONDocument {
        var document = BSONDocument()
        for _ in 0..<Int.random(in: 0...maxFields, using: &random) {
            document.append(key(&random), value(&random, depth: depth + 1))
        }
        return document
    }

    public static func value(_ random: inout SeededRandom, depth: Int) -> BSONValue {
        let nested = depth < 4
        switch Int.random(in: 0..<(nested ? 23 : 21), using: &random) {
        case 0:
            return .double(
                [
                    0.0, -0.0, .nan, .infinity, -.infinity, 1.5, 1e300, .leastNonzeroMagnitude,
                    Double.random(in: -1e9...1e9, using: &random),
                ].randomElement(using: &random)!)
        case 1: return .string(string(&random))
        case 2:
            return .binary(
                BSONBinary(
                    subtype: [0, 2, 3, 4, 5, 0x80].randomElement(using: &random)!,
                    data: (0..<Int.random(in: 0...20, using: &random)).map { _ in
                        UInt8.random(in: 0...255, using: &random)
                    }))
        case 3: return .undefined
        case 4: return .objectID(objectID(&random))
        case 5: return .bool(Bool.random(using: &random))
        case 6: return .datetime(Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &random))
        case 7: return .null
        case 8:
            return .regex(
                BSONRegex(
                    pattern: string(&random, alphabet: ["a", "^", "$", ".*", "é", "\\d"]),
                    options: ["", "i", "im", "imsx"].randomElement(using: &random)!))
        case 9: return .dbPointer(namespace: "db.c" + string(&random, alphabet: ["a", "é"]), id: objectID(&random))
        case 10: return .javascript(string(&random))
        case 11: return .symbol(string(&random))
        case 12: return .javascriptWithScope(code: string(&random), scope: document(&random, depth: 99, maxFields: 2))
        case 13: return .int32(Int32.random(in: .min ... .max, using: &random))
        case 14:
            return .timestamp(
                BSONTimestamp(
                    seconds: UInt32.random(in: 0 ... .max, using: &random),
                    increment: UInt32.random(in: 0 ... .max, using: &random)))
        case 15: return .int64(Int64.random(in: .min ... .max, using: &random))
        case 16:
            return .decimal128(
                Decimal128(
                    [
                        "0", "-0", "1.50", "12345678901234567890.123456789", "1E+6144", "-1E-6176", "NaN", "Infinity",
                        "-Infinity", "0.1",
                    ].randomElement(using: &random)!)!)
        case 17: return .minKey
        case 18: return .maxKey
        case 19: return .int32(Int32.random(in: -5...5, using: &random))
        case 20: return .string(String(repeating: "x", count: Int.random(in: 0...300, using: &random)))
        case 21: return .document(document(&random, depth: depth))
        default:
            return .array((0..<Int.random(in: 0...5, using: &random)).map { _ in value(&random, depth: depth + 1) })
        }
    }
}
