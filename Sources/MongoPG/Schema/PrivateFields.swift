/// How a `{"hash": "<format>"}` leaf stores its keyed hash (DESIGN.md, "Schema files"): the 32 bytes of
/// HMAC-SHA-256 as 64 lower-case hex digits in a text column, or as they are in a bytea column.
public enum HashFormat: String, Sendable, CaseIterable, Codable {
    case text, bytea

    public var sqlType: SQLType {
        switch self {
        case .text: .text
        case .bytea: .bytea
        }
    }
}

/// The secret of `{"hash": ...}` leaves: the bytes of the environment variable `[sync] hash_key_env` names. It never
/// prints: not in a description, a dump or a reflection, and settings encode without it.
public struct HashKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    let bytes: [UInt8]

    /// The key is the UTF-8 bytes of `text` (nil when empty: an empty key hides nothing).
    public init?(_ text: String) {
        guard !text.isEmpty else { return nil }
        bytes = Array(text.utf8)
    }

    public var description: String { "HashKey(withheld)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// The keyed hash of a value for a `{"hash": ...}` leaf, and its stand-in inside documents rebuilt from rows.
///
/// The hashed input is canonical per value: the BSON encoding of `{"": value}` once its numbers are made one, so that
/// values MongoDB finds equal hash equal and values of different types never do (1 and "1" differ): an int32, an
/// int64 and a double holding the same integer (in the int64 range; -0.0 is 0) all hash as that int64; any NaN
/// hashes as one NaN; a decimal128 hashes as itself (1.0 and 1.00 differ, and differ from the int 1). Inside
/// embedded documents and arrays the same holds, field order counting as MongoDB counts it.
public enum ValueHash {
    /// The BSON binary subtype (user-defined range) of `stored(_:key:)`'s stand-in.
    static let storedSubtype: UInt8 = 0x80
    private static let tagLength = 16
    private static let tagLabel = Array("mongopg stored hash".utf8)

    /// HMAC-SHA-256 of the value's canonical input. A document whose value BSON cannot encode (a key holding NUL,
    /// which no MongoDB document has) throws.
    public static func hash(of value: BSONValue, key: HashKey) throws(BSONError) -> [UInt8] {
        let input = try BSONEncoder.encode(BSONDocument(elements: [.init(key: "", value: canonical(value))]))
        return HMACSHA256.authenticationCode(for: input, key: key.bytes)
    }

    /// The value with its numbers made one (see the type's comment).
    static func canonical(_ value: BSONValue) -> BSONValue {
        switch value {
        case .int32(let number): return .int64(Int64(number))
        case .double(let number):
            if number.isNaN { return .double(.nan) }
            if number == number.rounded(), number >= -0x1p63, number < 0x1p63 { return .int64(Int64(number)) }
            return value
        case .document(let document):
            return .document(
                BSONDocument(elements: document.elements.map { .init(key: $0.key, value: canonical($0.value)) }))
        case .array(let values): return .array(values.map(canonical))
        default: return value
        }
    }

    /// The column value of a hash.
    static func sqlValue(_ hash: [UInt8], _ format: HashFormat) -> SQLValue {
        switch format {
        case .text: .text(Hex.encode(hash))
        case .bytea: .bytes(hash)
        }
    }

    /// The hash a column value holds; nil when it is no hash of the format.
    static func hash(in cell: SQLValue, _ format: HashFormat) -> [UInt8]? {
        let bytes: [UInt8]?
        switch (format, cell) {
        case (.text, .text(let text)): bytes = Hex.decode(text)
        case (.bytea, .bytes(let data)): bytes = data
        default: bytes = nil
        }
        return bytes?.count == SHA256.digestSize ? bytes : nil
    }

    /// What a hashed value stands as in a document rebuilt from rows, and in verification's normalised documents: a
    /// binary of subtype 0x80 holding the hash and a tag keyed like it. A replay applies updates to rebuilt documents
    /// and flattens them again: the flattener keeps a stand-in's hash instead of hashing the stand-in, and since no
    /// one without the key can make a tag, a value from MongoDB shaped like a stand-in is hashed like any other.
    static func stored(_ hash: [UInt8], key: HashKey) -> BSONValue {
        .binary(BSONBinary(subtype: storedSubtype, data: hash + tag(of: hash, key: key)))
    }

    /// The hash a stand-in holds, when `value` is one made with `key`.
    static func storedHash(in value: BSONValue, key: HashKey) -> [UInt8]? {
        guard case .binary(let binary) = value, binary.subtype == storedSubtype,
            binary.data.count == SHA256.digestSize + tagLength
        else { return nil }
        let hash = Array(binary.data.prefix(SHA256.digestSize))
        return binary.data.suffix(tagLength).elementsEqual(tag(of: hash, key: key)) ? hash : nil
    }

    /// The stand-in of `value` hashed: itself when it is one already.
    static func storedForm(of value: BSONValue, key: HashKey) throws(BSONError) -> BSONValue {
        if storedHash(in: value, key: key) != nil { return value }
        return stored(try hash(of: value, key: key), key: key)
    }

    /// The column value of `value` hashed (a stand-in gives back the hash it holds).
    static func sqlValue(of value: BSONValue, _ format: HashFormat, key: HashKey) throws(BSONError) -> SQLValue {
        if let hash = storedHash(in: value, key: key) { return sqlValue(hash, format) }
        return sqlValue(try hash(of: value, key: key), format)
    }

    private static func tag(of hash: [UInt8], key: HashKey) -> [UInt8] {
        Array(HMACSHA256.authenticationCode(for: tagLabel + hash, key: key.bytes).prefix(tagLength))
    }
}
