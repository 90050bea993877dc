/// Writes typed values as COPY text fields, in the forms PostgreSQL 15's input functions accept and, for every type
/// but text-like ones, the same forms its output functions print (so a row read back compares as text).
public enum CopyTextEncoder {
    /// Appends one row: fields separated by tab, ended by newline.
    public static func appendRow(_ row: [SQLValue], to output: inout [UInt8]) { appendRow(row[...], to: &output) }

    static func appendRow(_ row: ArraySlice<SQLValue>, to output: inout some ByteOutput) {
        guard let first = row.first else { return output.append(0x0A) }
        appendField(first, into: &output)
        appendRest(row.dropFirst(), to: &output)
    }

    /// Appends the fields after a row's first, each after a tab, then the newline.
    static func appendRest(_ fields: ArraySlice<SQLValue>, to output: inout some ByteOutput) {
        for value in fields {
            output.append(0x09)
            appendField(value, into: &output)
        }
        output.append(0x0A)
    }

    /// Appends one field, COPY-escaped.
    public static func appendField(_ value: SQLValue, to output: inout [UInt8]) { appendField(value, into: &output) }

    static func appendField(_ value: SQLValue, into output: inout some ByteOutput) {
        switch value {
        case .null: output.append("\\N")
        case .text(let text), .json(let text): CopyText.appendEscaped(text, into: &output)
        case .integer(let number): output.appendDecimal(number)
        case .double(let number): appendUTF8(doubleText(number), to: &output)
        case .numeric(let number): appendUTF8(number.plainText, to: &output)
        case .boolean(let flag): output.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .timestamp(let milliseconds): appendTimestamp(milliseconds, to: &output)
        case .bytes(let bytes):
            // bytea hex format `\x0102`; its backslash doubled by COPY escaping.
            output.append("\\\\x")
            for byte in bytes {
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            }
        case .uuid(let bytes): appendUTF8(uuidText(bytes), to: &output)
        }
    }

    private static func appendUTF8(_ text: String, to output: inout some ByteOutput) {
        var text = text
        text.withUTF8 { output.append(bytes: UnsafeRawBufferPointer($0)) }
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

    /// `YYYY-MM-DD HH:MM:SS.mmm+00` in UTC, as timestamptz reads it: years of more than four digits written in full,
    /// years before 1 AD with the ` BC` suffix PostgreSQL prints (astronomical year 0 is 1 BC).
    public static func timestampText(_ milliseconds: Int64) -> String {
        var output: [UInt8] = []
        appendTimestamp(milliseconds, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `timestampText(milliseconds)`'s bytes, without building the string.
    static func appendTimestamp(_ milliseconds: Int64, to output: inout some ByteOutput) {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : -((-milliseconds + 86_399_999) / 86_400_000)
        var rest = milliseconds - days * 86_400_000
        let (year, month, day) = CivilTime.civil(days: days)
        let hours = rest / 3_600_000
        rest %= 3_600_000
        let minutes = rest / 60_000
        rest %= 60_000
        let bc = year <= 0
        output.appendDecimal(bc ? 1 - year : year, width: 4)
        output.append(UInt8(ascii: "-"))
        output.appendDecimal(month, width: 2)
        output.append(UInt8(ascii: "-"))
        output.appendDecimal(day, width: 2)
        output.append(UInt8(ascii: " "))
        output.appendDecimal(hours, width: 2)
        output.append(UInt8(ascii: ":"))
        output.appendDecimal(minutes, width: 2)
        output.append(UInt8(ascii: ":"))
        output.appendDecimal(rest / 1000, width: 2)
        output.append(UInt8(ascii: "."))
        output.appendDecimal(rest % 1000, width: 3)
        output.append(UInt8(ascii: "+"))
        output.append(UInt8(ascii: "0"))
        output.append(UInt8(ascii: "0"))
        if bc { output.append(" BC") }
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
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
