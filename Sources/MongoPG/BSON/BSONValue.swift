/// One BSON value of any of the types the BSON 1.1 spec defines, deprecated ones included, so that nothing a
/// MongoDB server can hold is lost on the way through the toolkit.
public enum BSONValue: Sendable, Equatable, CustomStringConvertible {
    case double(Double)
    case string(String)
    case document(BSONDocument)
    case array([BSONValue])
    case binary(BSONBinary)
    case undefined
    case objectID(ObjectID)
    case bool(Bool)
    /// Milliseconds since the Unix epoch, UTC.
    case datetime(Int64)
    case null
    case regex(BSONRegex)
    case dbPointer(namespace: String, id: ObjectID)
    case javascript(String)
    case symbol(String)
    case javascriptWithScope(code: String, scope: BSONDocument)
    case int32(Int32)
    case timestamp(BSONTimestamp)
    case int64(Int64)
    case decimal128(Decimal128)
    case minKey
    case maxKey

    /// The type byte BSON uses for this value.
    public var typeByte: UInt8 {
        switch self {
        case .double: 0x01
        case .string: 0x02
        case .document: 0x03
        case .array: 0x04
        case .binary: 0x05
        case .undefined: 0x06
        case .objectID: 0x07
        case .bool: 0x08
        case .datetime: 0x09
        case .null: 0x0A
        case .regex: 0x0B
        case .dbPointer: 0x0C
        case .javascript: 0x0D
        case .symbol: 0x0E
        case .javascriptWithScope: 0x0F
        case .int32: 0x10
        case .timestamp: 0x11
        case .int64: 0x12
        case .decimal128: 0x13
        case .minKey: 0xFF
        case .maxKey: 0x7F
        }
    }

    /// MongoDB's `$type` alias for this value ("string", "int", "objectId", ...), as schema files spell types.
    public var typeAlias: String {
        switch self {
        case .double: "double"
        case .string: "string"
        case .document: "object"
        case .array: "array"
        case .binary(let binary): binary.subtype == 4 ? "uuid" : "binData"
        case .undefined: "undefined"
        case .objectID: "objectId"
        case .bool: "bool"
        case .datetime: "date"
        case .null: "null"
        case .regex: "regex"
        case .dbPointer: "dbPointer"
        case .javascript: "javascript"
        case .symbol: "symbol"
        case .javascriptWithScope: "javascriptWithScope"
        case .int32: "int"
        case .timestamp: "timestamp"
        case .int64: "long"
        case .decimal128: "decimal"
        case .minKey: "minKey"
        case .maxKey: "maxKey"
        }
    }

    /// Equality as storage sees it: doubles compare by bit pattern, so NaN equals NaN and -0.0 differs from 0.0.
    public static func == (lhs: BSONValue, rhs: BSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.double(let a), .double(let b)): a.bitPattern == b.bitPattern
        case (.string(let a), .string(let b)): a.utf8.elementsEqual(b.utf8)
        case (.document(let a), .document(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.binary(let a), .binary(let b)): a == b
        case (.undefined, .undefined), (.null, .null), (.minKey, .minKey), (.maxKey, .maxKey): true
        case (.objectID(let a), .objectID(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.datetime(let a), .datetime(let b)): a == b
        case (.regex(let a), .regex(let b)): a == b
        case (.dbPointer(let n1, let i1), .dbPointer(let n2, let i2)): n1.utf8.elementsEqual(n2.utf8) && i1 == i2
        case (.javascript(let a), .javascript(let b)), (.symbol(let a), .symbol(let b)): a.utf8.elementsEqual(b.utf8)
        case (.javascriptWithScope(let c1, let s1), .javascriptWithScope(let c2, let s2)):
            c1.utf8.elementsEqual(c2.utf8) && s1 == s2
        case (.int32(let a), .int32(let b)): a == b
        case (.timestamp(let a), .timestamp(let b)): a == b
        case (.int64(let a), .int64(let b)): a == b
        case (.decimal128(let a), .decimal128(let b)): a == b
        default: false
        }
    }

    /// Relaxed Extended JSON of the value, for messages and reports.
    public var description: String {
        if case .document(let document) = self { return document.description }
        return BSONDocument([("v", self)]).relaxedExtendedJSONValue(of: "v")
    }
}

/// A 12-byte MongoDB ObjectId.
public struct ObjectID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) {
        self.bytes = bytes
    }

    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 12 else { return nil }
        var copy = (
            UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
            UInt8(0), UInt8(0)
        )
        withUnsafeMutableBytes(of: &copy) { target in
            for (index, byte) in bytes.enumerated() { target[index] = byte }
        }
        self.bytes = copy
    }

    /// Parses 24 hex digits, either case.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 24 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(12)
        for pair in stride(from: 0, to: 24, by: 2) {
            guard let high = hexValue(digits[pair]), let low = hexValue(digits[pair + 1]) else { return nil }
            result.append(high << 4 | low)
        }
        self.init(result)
    }

    public var array: [UInt8] { withUnsafeBytes(of: bytes) { Array($0) } }

    /// 24 lower-case hex digits, as the relational model stores ObjectIds.
    public var hex: String {
        // Every document's _id passes here: nibbles to digits by arithmetic, no table.
        @inline(__always) func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }
        return withUnsafeBytes(of: bytes) { raw in
            String(unsafeUninitializedCapacity: 24) { buffer in
                for index in 0..<12 {
                    buffer[index &* 2] = digit(raw[index] >> 4)
                    buffer[index &* 2 &+ 1] = digit(raw[index] & 0x0F)
                }
                return 24
            }
        }
    }

    public var description: String { hex }

    public static func == (lhs: ObjectID, rhs: ObjectID) -> Bool { lhs.array == rhs.array }
    public static func < (lhs: ObjectID, rhs: ObjectID) -> Bool { lhs.array.lexicographicallyPrecedes(rhs.array) }
    public func hash(into hasher: inout Hasher) { withUnsafeBytes(of: bytes) { hasher.combine(bytes: $0) } }
}

private func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Binary data with its subtype. For the old binary subtype 2 `data` excludes the inner length BSON repeats.
public struct BSONBinary: Sendable, Hashable {
    public var subtype: UInt8
    public var data: [UInt8]
    public init(subtype: UInt8, data: [UInt8]) {
        self.subtype = subtype
        self.data = data
    }
}

public struct BSONRegex: Sendable, Hashable {
    public var pattern: String
    public var options: String
    public init(pattern: String, options: String) {
        self.pattern = pattern
        self.options = options
    }
}

/// A BSON timestamp (the oplog's `ts`): seconds and an increment that orders entries within a second.
public struct BSONTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public var seconds: UInt32
    public var increment: UInt32
    public init(seconds: UInt32, increment: UInt32) {
        self.seconds = seconds
        self.increment = increment
    }
    /// `(t << 32) | i`, the bigint the relational model stores.
    public var packed: UInt64 { UInt64(seconds) << 32 | UInt64(increment) }
    public init(packed: UInt64) {
        self.init(seconds: UInt32(packed >> 32), increment: UInt32(truncatingIfNeeded: packed))
    }
    public static func < (lhs: BSONTimestamp, rhs: BSONTimestamp) -> Bool { lhs.packed < rhs.packed }
    public var description: String { "Timestamp(\(seconds), \(increment))" }
}

/// An IEEE 754-2008 decimal128 in BID encoding, kept as its two 64-bit halves; text through libbson.
public struct Decimal128: Sendable, Hashable {
    public var low: UInt64
    public var high: UInt64
    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }
}
