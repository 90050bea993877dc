/// Writes typed values as COPY text fields, in the forms PostgreSQL 15's input functions accept and, for every type
/// but text-like ones, the same forms its output functions print (so a row read back compares as text).
public enum CopyTextEncoder {
    /// Appends one row: fields separated by tab, ended by newline.
    public static func appendRow(_ row: [SQLValue], to output: inout [UInt8]) {
        for (position, value) in row.enumerated() {
            if position > 0 { output.append(0x09) }
            appendField(value, to: &output)
        }
        output.append(0x0A)
    }

    /// Appends one field, COPY-escaped.
    public static func appendField(_ value: SQLValue, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: CopyText.null)
        case .text(let text), .json(let text): CopyText.appendEscaped(text.utf8, to: &output)
        case .integer(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number): output.append(contentsOf: doubleText(number).utf8)
        case .numeric(let number): output.append(contentsOf: numericText(number).utf8)
        case .boolean(let flag): output.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .timestamp(let milliseconds): output.append(contentsOf: timestampText(milliseconds).utf8)
        case .bytes(let bytes):
            // bytea hex format `\x0102`; its backslash doubled by COPY escaping.
            output.append(UInt8(ascii: "\\"))
            output.append(UInt8(ascii: "\\"))
            output.append(UInt8(ascii: "x"))
            for byte in bytes {
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            }
        case .uuid(let bytes): output.append(contentsOf: uuidText(bytes).utf8)
        }
    }

    /// One field as text (tests, messages).
    public static func field(_ value: SQLValue) -> String {
        var output: [UInt8] = []
        appendField(value, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Shortest text that reads back to the same double (Swift's `description`), in float8's spellings:
    /// `NaN`, `Infinity`, `-Infinity`, and `-0` for negative zero.
    public static func doubleText(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        if number == 0 { return number.sign == .minus ? "-0" : "0" }
        return number.description
    }

    /// The decimal in plain notation, exactly as PostgreSQL's numeric prints it: no exponent, the scale kept
    /// (`1.50`), positive exponents expanded (`1E+3` -> `1000`), no negative zero; `NaN`, `Infinity`, `-Infinity`.
    public static func numericText(_ number: Decimal128) -> String {
        let text = number.description
        switch text {
        case "NaN", "-NaN", "sNaN", "-sNaN": return "NaN"
        case "Infinity", "-Infinity": return text
        default: break
        }
        var body = Substring(text)
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        var exponent = 0
        if let e = body.firstIndex(where: { $0 == "E" || $0 == "e" }) {
            exponent = Int(body[body.index(after: e)...]) ?? 0
            body = body[..<e]
        }
        var digits = ""
        if let dot = body.firstIndex(of: ".") {
            digits = String(body[..<dot]) + String(body[body.index(after: dot)...])
            exponent -= body.distance(from: body.index(after: dot), to: body.endIndex)
        } else {
            digits = String(body)
        }
        let isZero = digits.allSatisfy { $0 == "0" }
        var plain: String
        if exponent >= 0 {
            plain = isZero ? "0" : digits + String(repeating: "0", count: exponent)
        } else {
            let scale = -exponent
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            plain = String(digits.dropLast(scale)) + "." + String(digits.suffix(scale))
        }
        while plain.hasPrefix("0"), plain.count > 1, !plain.hasPrefix("0.") { plain.removeFirst() }
        return negative && !isZero ? "-" + plain : plain
    }

    /// `YYYY-MM-DD HH:MM:SS.mmm+00` in UTC, as timestamptz reads it: years of more than four digits written in full,
    /// years before 1 AD with the ` BC` suffix PostgreSQL prints (astronomical year 0 is 1 BC).
    public static func timestampText(_ milliseconds: Int64) -> String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : -((-milliseconds + 86_399_999) / 86_400_000)
        var rest = milliseconds - days * 86_400_000
        let (year, month, day) = CivilTime.civil(days: days)
        let hours = rest / 3_600_000
        rest %= 3_600_000
        let minutes = rest / 60_000
        rest %= 60_000
        let bc = year <= 0
        return pad(bc ? 1 - year : year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + " " + pad(hours, 2) + ":"
            + pad(minutes, 2) + ":" + pad(rest / 1000, 2) + "." + pad(rest % 1000, 3) + "+00" + (bc ? " BC" : "")
    }

    /// 8-4-4-4-12 lower-case hex.
    public static func uuidText(_ bytes: [UInt8]) -> String {
        var text = ""
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { text += "-" }
            text.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte >> 4)]))
            text.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte & 0x0F)]))
        }
        return text
    }

    private static func pad(_ number: Int64, _ width: Int) -> String {
        let text = String(number)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
