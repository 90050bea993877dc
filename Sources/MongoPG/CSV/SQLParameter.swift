/// A statement parameter: one typed value, or an array of them for `= ANY($1::<type>[])`, in the text form
/// PostgreSQL 15's input functions read back as the same value (libpq text-format parameters). Pure.
///
/// The forms, per value: text and jsonb as they are; integer and bigint in decimal; double precision as the shortest
/// text that reads back to the same double (`NaN`, `Infinity`, `-Infinity`, `-0`); numeric in plain notation with
/// its scale; boolean `t` / `f`; timestamptz `YYYY-MM-DD HH:MM:SS.mmm+00` in UTC (` BC` before 1 AD); bytea hex
/// `\x0102`; uuid 8-4-4-4-12 lower-case hex. The statement casts the parameter to its column's type (`$1::uuid`,
/// `$1::text[]`): without the cast PostgreSQL would guess the type from the context.
public enum SQLParameter: Sendable, Equatable {
    case value(SQLValue)
    case array([SQLValue])

    /// The parameter's text, nil for SQL NULL. Throws `SchemaError.badDocument` for text or jsonb holding a NUL
    /// byte: libpq passes text parameters as C strings, so PostgreSQL would silently see the text cut at the NUL.
    public func text() throws(SchemaError) -> String? {
        switch self {
        case .value(let value): return try Self.text(of: value)
        case .array(let values): return try Self.arrayLiteral(values)
        }
    }

    /// One value's text, nil for NULL.
    public static func text(of value: SQLValue) throws(SchemaError) -> String? {
        switch value {
        case .null: return nil
        case .text(let text), .json(let text):
            guard !text.utf8.contains(0) else {
                throw SchemaError(
                    .badDocument, "a \(value.typeName) parameter holds a NUL byte, which PostgreSQL cannot hold")
            }
            return text
        case .integer(let number): return String(number)
        case .double(let number): return CopyTextEncoder.doubleText(number)
        case .numeric(let number): return number.plainText
        case .boolean(let flag): return flag ? "t" : "f"
        case .timestamp(let milliseconds): return CopyTextEncoder.timestampText(milliseconds)
        case .bytes(let bytes):
            var text = "\\x"
            text.reserveCapacity(2 + 2 * bytes.count)
            for byte in bytes {
                text.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte >> 4)]))
                text.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte & 0x0F)]))
            }
            return text
        case .uuid(let bytes): return CopyTextEncoder.uuidText(bytes)
        }
    }

    /// An array literal, `{"a","b",NULL}`: every element double-quoted with `\` and `"` backslash-escaped (so
    /// spaces, commas, braces and the word NULL stay data), NULL unquoted.
    public static func arrayLiteral(_ values: [SQLValue]) throws(SchemaError) -> String {
        // Built as UTF-8 bytes: appending to a String one scalar at a time cost more than the query it feeds.
        let backslash = UInt8(ascii: "\\"), quote = UInt8(ascii: "\"")
        var literal: [UInt8] = [UInt8(ascii: "{")]
        for (position, value) in values.enumerated() {
            if position > 0 { literal.append(UInt8(ascii: ",")) }
            guard var text = try text(of: value) else {
                literal += "NULL".utf8
                continue
            }
            literal.append(quote)
            // Copied in runs between the bytes to escape, the literal left to grow geometrically (reserving each
            // value's bytes exactly made appends copy the whole literal): a replay's `UPDATE` of changed rows
            // (`BatchWriter`) sends a column of long json cells this way.
            text.withUTF8 { bytes in
                var run = 0
                for (index, byte) in bytes.enumerated() where byte == backslash || byte == quote {
                    literal.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
                    literal.append(backslash)
                    run = index
                }
                literal.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
            }
            literal.append(quote)
        }
        literal.append(UInt8(ascii: "}"))
        return String(decoding: literal, as: UTF8.self)
    }
}

extension SQLValue {
    /// The case's name, for messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .text: "text"
        case .integer: "integer"
        case .double: "double precision"
        case .numeric: "numeric"
        case .boolean: "boolean"
        case .timestamp: "timestamptz"
        case .bytes: "bytea"
        case .uuid: "uuid"
        case .json: "jsonb"
        }
    }
}

extension SQLType {
    /// The cast of a parameter holding an array of this type: `::text[]`, `::double precision[]`.
    public var arrayCast: String { "::" + rawValue + "[]" }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
