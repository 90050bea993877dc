/// JSON string literals, the toolkit's one escaper: `"` and `\` escaped, `\b \f \n \r \t`, other control characters
/// as `\u00xx`, everything else as its UTF-8 bytes. That is byte for byte what libbson 1.23's
/// `bson_utf8_escape_for_json` writes, which the Extended JSON writer must match; schema files use it too.
enum JSONString {
    /// Appends `"text"`. A NUL is written as `\u0000`, or with `refusingNUL` makes this answer false, leaving the
    /// output partly written (the Extended JSON writer then hands the value to libbson and its `strip_nul` policy).
    @inline(__always)
    static func appendQuoted(_ text: String, to output: inout some ByteOutput, refusingNUL: Bool) -> Bool {
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
                guard byte < 0x20 || byte == quote || byte == backslash else { continue }
                if byte == 0, refusingNUL { return false }
                output.append(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[run..<index])))
                run = index + 1
                output.append(backslash)
                switch byte {
                case quote, backslash: output.append(byte)
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

    /// `text` as a JSON string literal, quotes included; NUL as `\u0000`.
    static func quoted(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 2)
        _ = appendQuoted(text, to: &output, refusingNUL: false)
        return String(decoding: output, as: UTF8.self)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
