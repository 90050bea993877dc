/// One cell of a row, typed as its column: what the flattener produces, the COPY encoder writes, the COPY decoder
/// reads back and the rebuilder consumes.
public enum SQLValue: Sendable, Equatable, CustomStringConvertible {
    case null
    /// text; also ObjectIds (24 lower-case hex) and rare types (canonical Extended JSON).
    case text(String)
    /// integer and bigint; also BSON timestamps packed as `(t << 32) | i` (two's complement when t >= 2^31).
    case integer(Int64)
    case double(Double)
    case numeric(Decimal128)
    case boolean(Bool)
    /// timestamptz as milliseconds since the Unix epoch, UTC.
    case timestamp(Int64)
    case bytes([UInt8])
    /// A uuid's 16 bytes.
    case uuid([UInt8])
    /// jsonb text.
    case json(String)

    /// Doubles compare by bit pattern, as BSON values do.
    public static func == (lhs: SQLValue, rhs: SQLValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.text(let a), .text(let b)), (.json(let a), .json(let b)): a.utf8.elementsEqual(b.utf8)
        case (.integer(let a), .integer(let b)), (.timestamp(let a), .timestamp(let b)): a == b
        case (.double(let a), .double(let b)): a.bitPattern == b.bitPattern
        case (.numeric(let a), .numeric(let b)): a == b
        case (.boolean(let a), .boolean(let b)): a == b
        case (.bytes(let a), .bytes(let b)), (.uuid(let a), .uuid(let b)): a == b
        default: false
        }
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .text(let text): "text(\(text.debugDescription))"
        case .integer(let value): "integer(\(value))"
        case .double(let value): "double(\(value))"
        case .numeric(let value): "numeric(\(value))"
        case .boolean(let value): "boolean(\(value))"
        case .timestamp(let value): "timestamp(\(value))"
        case .bytes(let value): "bytes(\(value))"
        case .uuid(let value): "uuid(\(value))"
        case .json(let text): "json(\(text))"
        }
    }
}
