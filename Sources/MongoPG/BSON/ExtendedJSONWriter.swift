/// Relaxed Extended JSON of the common value types written in Swift, byte for byte as libbson 1.23's
/// `bson_as_relaxed_extended_json` writes them: `{ "k" : v, ... }`, `[ v, ... ]`, `{  }` and `[  ]` when empty, keys
/// and strings escaped as `bson_utf8_escape_for_json` does. Every "json" column goes through here, and libbson's
/// writer (an escape call per character) cost more than all the rest of flattening.
enum ExtendedJSONWriter {
    /// Text written, with what libbson's reader will make of it (see `ExtendedJSONReading`).
    struct Written {
        var text: String
        var reading: ExtendedJSONReading
    }

    /// The text of `value`, or nil when it holds what this writer leaves to libbson: doubles, dates, decimals,
    /// binary and the rare types, or a string holding NUL (which needs the caller's `strip_nul` policy).
    static func relaxedText(of value: BSONValue) -> Written? {
        var output = ByteBuffer()
        var reading = ExtendedJSONReading()
        guard append(value, to: &output, depth: 0, reading: &reading) else { return nil }
        return Written(text: output.string, reading: reading)
    }

    /// Appends `value`, found `depth` objects and arrays deep; notes the levels and wrapper keys in `reading`.
    private static func append(
        _ value: BSONValue, to output: inout ByteBuffer, depth: Int, reading: inout ExtendedJSONReading
    ) -> Bool {
        switch value {
        case .string(let text):
            reading.levels = max(reading.levels, depth + 1)
            return JSONString.appendQuoted(text, to: &output, refusingNUL: true)
        case .int32(let number): output.appendDecimal(Int64(number))
        case .int64(let number): output.appendDecimal(number)
        case .bool(let flag): output.append(flag ? "true" : "false")
        case .null: output.append("null")
        case .objectID(let id):
            reading.levels = max(reading.levels, depth + 2)  // `{ "$oid" : "..." }`
            output.append(#"{ "$oid" : ""#)
            withUnsafeBytes(of: id.bytes) { raw in
                for byte in raw {
                    output.append(hexDigit(byte >> 4))
                    output.append(hexDigit(byte & 0x0F))
                }
            }
            output.append(#"" }"#)
            return true
        case .document(let document):
            reading.levels = max(reading.levels, depth + 1)
            output.append("{ ")  // libbson writes an empty document as `{  }`
            for (position, element) in document.elements.enumerated() {
                if position > 0 { output.append(", ") }
                if reading.wrapperKey == nil, element.key.utf8.first == UInt8(ascii: "$"),
                    ExtendedJSONReading.wrapperKeys.contains(Array(element.key.utf8))
                {
                    reading.wrapperKey = element.key
                }
                guard JSONString.appendQuoted(element.key, to: &output, refusingNUL: true) else { return false }
                output.append(" : ")
                guard append(element.value, to: &output, depth: depth + 1, reading: &reading) else { return false }
            }
            output.append(" }")
            return true
        case .array(let values):
            reading.levels = max(reading.levels, depth + 1)
            output.append("[ ")  // and an empty array as `[  ]`
            for (position, element) in values.enumerated() {
                if position > 0 { output.append(", ") }
                guard append(element, to: &output, depth: depth + 1, reading: &reading) else { return false }
            }
            output.append(" ]")
            return true
        default: return false
        }
        reading.levels = max(reading.levels, depth + 1)  // the scalars above
        return true
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

/// What libbson 1.23's Extended JSON reader makes of a text, for the values that must come back from jsonb
/// (json columns, `_extra`, rare types kept as text): how deep it nests, and whether a key reads as a type wrapper.
struct ExtendedJSONReading: Equatable {
    /// Levels the reader counts: each object and array one, and a scalar at the bottom one more (`{"a": 1}` is 2).
    var levels = 0
    /// The first key that the reader takes for an Extended JSON type wrapper (`$oid`, `$numberLong`, ...).
    var wrapperKey: String?

    /// The reader refuses deeper text ("LEVELS_EXCEEDED"), so a value this deep cannot come back from jsonb.
    static let maximumLevels = 99

    /// Keys that libbson's reader takes for type wrappers: a document holding one reads back as another value, or
    /// not at all (`{"$oid": "x"}`, `{"$numberDouble": "x"}` reads as 0.0). Other `$` keys read as plain keys.
    static let wrapperKeys: Set<[UInt8]> = Set(
        [
            "$oid", "$date", "$numberLong", "$numberInt", "$numberDouble", "$numberDecimal", "$binary", "$type",
            "$uuid", "$regex", "$options", "$regularExpression", "$timestamp", "$code", "$scope", "$symbol",
            "$dbPointer", "$minKey", "$maxKey", "$undefined",
        ].map { Array($0.utf8) })

    /// Why text with this reading, read back inside `enclosing` more levels, would not give the value back; nil
    /// when it would.
    func problem(enclosing: Int) -> String? {
        if let wrapperKey {
            return "it holds the key \"\(wrapperKey)\", which Extended JSON reads as a type wrapper"
        }
        if levels + enclosing > Self.maximumLevels {
            let deep = levels + enclosing
            return "it nests \(deep) levels deep as Extended JSON; libbson reads \(Self.maximumLevels) at most"
        }
        return nil
    }

    /// The reading of `value`'s Extended JSON `text` (as libbson wrote it): levels counted in the text, wrapper keys
    /// looked for in the value, since the text's own wrappers (`{"$numberInt": "1"}`) are meant to be read as such.
    init(of value: BSONValue, text: String) {
        self.init(levelsOf: text)
        wrapperKey = Self.wrapperKey(in: value)
    }

    /// The levels of Extended JSON text, without looking for wrapper keys.
    init(levelsOf text: String) {
        var text = text
        levels = text.withUTF8 { Self.levels(of: $0) }
    }

    init() {}

    /// The first key of a document inside `value` that libbson's reader takes for a type wrapper.
    static func wrapperKey(in value: BSONValue) -> String? {
        switch value {
        case .document(let document):
            for element in document.elements {
                if element.key.utf8.first == UInt8(ascii: "$"), wrapperKeys.contains(Array(element.key.utf8)) {
                    return element.key
                }
                if let key = wrapperKey(in: element.value) { return key }
            }
            return nil
        case .array(let values):
            for element in values { if let key = wrapperKey(in: element) { return key } }
            return nil
        case .javascriptWithScope(_, let scope): return wrapperKey(in: .document(scope))
        default: return nil
        }
    }

    private static func levels(of bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var levels = 0
        var depth = 0
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                levels = max(levels, depth)
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                index += 1
            case UInt8(ascii: "\""):
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                index += 1
                var next = index
                while next < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[next]) { next += 1 }
                if next >= bytes.count || bytes[next] != UInt8(ascii: ":") {  // a string value, not a key
                    levels = max(levels, depth + 1)
                }
            case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: ":"):
                index += 1
            default:  // a number, true, false or null
                levels = max(levels, depth + 1)
                let ends = [UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")]
                while index < bytes.count, !ends.contains(bytes[index]) { index += 1 }
            }
        }
        return levels
    }
}
