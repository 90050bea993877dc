/// PostgreSQL's COPY text format (documentation, COPY, "Text Format"): fields separated by tab, rows ended by
/// newline, `\N` for NULL, and backslash escapes for backslash and the control characters COPY TO escapes itself
/// (`\b \f \n \r \t \v`). Other bytes pass through unchanged: the server reads them as themselves.
public enum CopyText {
    public static let null: [UInt8] = Array("\\N".utf8)

    /// Appends `bytes` escaped for one COPY text field.
    public static func appendEscaped(_ bytes: some Sequence<UInt8>, to output: inout [UInt8]) {
        appendEscaped(bytes, into: &output)
    }

    static func appendEscaped(_ bytes: some Sequence<UInt8>, into output: inout some ByteOutput) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): output.append("\\\\")
            case 0x08: output.append("\\b")
            case 0x09: output.append("\\t")
            case 0x0A: output.append("\\n")
            case 0x0B: output.append("\\v")
            case 0x0C: output.append("\\f")
            case 0x0D: output.append("\\r")
            default: output.append(byte)
            }
        }
    }

    /// Appends `text`'s UTF-8 escaped for one COPY text field: text that needs no escape, the common case, is
    /// copied whole.
    public static func appendEscaped(_ text: String, to output: inout [UInt8]) { appendEscaped(text, into: &output) }

    static func appendEscaped(_ text: String, into output: inout some ByteOutput) {
        var text = text
        text.withUTF8 { bytes in
            // The control characters COPY escapes are 0x08 to 0x0D.
            let backslash = UInt8(ascii: "\\")
            if ByteScan.contains(UnsafeRawBufferPointer(bytes), below: 0x0E, or: backslash, backslash) {
                appendEscaped(bytes, into: &output)
            } else {
                output.append(bytes: UnsafeRawBufferPointer(bytes))
            }
        }
    }

    /// `text` escaped for one COPY text field.
    public static func escaped(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        appendEscaped(text, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes one COPY text field stands for, or nil for `\N`. Accepts everything COPY FROM accepts:
    /// `\b \f \n \r \t \v`, octal `\d`, `\dd`, `\ddd`, hex `\xh`, `\xhh`, and any other `\c` meaning `c`.
    public static func unescaped(_ field: some Collection<UInt8>) -> [UInt8]? {
        if field.elementsEqual(null) { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(field.count)
        var iterator = Array(field)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "\\"), let next = iterator.popFirst() else {
                output.append(byte)
                continue
            }
            switch next {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "v"): output.append(0x0B)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(next - UInt8(ascii: "0"))
                for _ in 0..<2 {
                    guard let digit = iterator.first, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit) else {
                        break
                    }
                    value = value * 8 + Int(digit - UInt8(ascii: "0"))
                    iterator.removeFirst()
                }
                output.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                var value = 0, digits = 0
                while digits < 2, let digit = iterator.first, let nibble = hexNibble(digit) {
                    value = value * 16 + Int(nibble)
                    digits += 1
                    iterator.removeFirst()
                }
                // `\x` without hex digits is just `x`, as COPY FROM reads it.
                output.append(digits == 0 ? UInt8(ascii: "x") : UInt8(value))
            default: output.append(next)
            }
        }
        return output
    }

    /// Splits one line (without its newline) into its unescaped fields; nil stands for NULL.
    public static func fields(ofLine line: some Collection<UInt8>) -> [[UInt8]?] {
        line.split(separator: 0x09, omittingEmptySubsequences: false).map { unescaped($0) }
    }

    static func hexNibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
