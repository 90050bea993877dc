/// Relaxed Extended JSON of the common value types written in Swift, byte for byte as libbson 1.23's
/// `bson_as_relaxed_extended_json` writes them: `{ "k" : v, ... }`, `[ v, ... ]`, `{  }` and `[  ]` when empty, keys
/// and strings escaped as `bson_utf8_escape_for_json` does. Every "json" column goes through here, and libbson's
/// writer (an escape call per character) cost more than all the rest of flattening.
enum ExtendedJSONWriter {
    /// The text of `value`, or nil when it holds what this writer leaves to libbson: doubles, dates, decimals,
    /// binary and the rare types, or a string holding NUL (which needs the caller's `strip_nul` policy).
    static func relaxedText(of value: BSONValue) -> String? {
        var output = ByteBuffer()
        guard append(value, to: &output) else { return nil }
        return output.string
    }

    private static func append(_ value: BSONValue, to output: inout ByteBuffer) -> Bool {
        switch value {
        case .string(let text): return appendQuoted(text, to: &output)
        case .int32(let number): CopyTextEncoder.appendDecimal(Int64(number), to: &output)
        case .int64(let number): CopyTextEncoder.appendDecimal(number, to: &output)
        case .bool(let flag): output.append(flag ? "true" : "false")
        case .null: output.append("null")
        case .objectID(let id):
            output.append(#"{ "$oid" : ""#)
            withUnsafeBytes(of: id.bytes) { raw in
                for byte in raw {
                    output.append(hexDigit(byte >> 4))
                    output.append(hexDigit(byte & 0x0F))
                }
            }
            output.append(#"" }"#)
        case .document(let document):
            output.append("{ ")  // libbson writes an empty document as `{  }`
            for (position, element) in document.elements.enumerated() {
                if position > 0 { output.append(", ") }
                guard appendQuoted(element.key, to: &output) else { return false }
                output.append(" : ")
                guard append(element.value, to: &output) else { return false }
            }
            output.append(" }")
        case .array(let values):
            output.append("[ ")  // and an empty array as `[  ]`
            for (position, element) in values.enumerated() {
                if position > 0 { output.append(", ") }
                guard append(element, to: &output) else { return false }
            }
            output.append(" ]")
        default: return false
        }
        return true
    }

    /// `"text"` with `"`, `\` and control characters escaped (`\b \f \n \r \t`, others `\u00xx`); false on NUL.
    private static func appendQuoted(_ text: String, to output: inout ByteBuffer) -> Bool {
        output.append(UInt8(ascii: "\""))
        var text = text
        let clean = text.withUTF8 { bytes -> Bool in
            let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
            if !ByteScan.contains(UnsafeRawBufferPointer(bytes), below: 0x20, or: quote, backslash) {
                output.append(bytes: UnsafeRawBufferPointer(bytes))
                return true
            }
            var run = 0  // start of the bytes not yet copied
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if byte == 0 { return false }
                output.append(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[run..<index])))
                run = index + 1
                output.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(byte)
                case 0x08: output.append(UInt8(ascii: "b"))
                case 0x0C: output.append(UInt8(ascii: "f"))
                case 0x0A: output.append(UInt8(ascii: "n"))
                case 0x0D: output.append(UInt8(ascii: "r"))
                case 0x09: output.append(UInt8(ascii: "t"))
                default:
                    output.append("u00")
                    output.append(hexDigit(byte >> 4))
                    output.append(hexDigit(byte & 0x0F))
                }
            }
            output.append(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[run...])))
            return true
        }
        output.append(UInt8(ascii: "\""))
        return clean
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
