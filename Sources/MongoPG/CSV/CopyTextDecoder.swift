/// Reads COPY text fields back into typed values, per column SQL type, accepting what PostgreSQL 15 prints with
/// `DateStyle = ISO` and any `TimeZone` (offsets are applied) as well as what `CopyTextEncoder` writes.
public enum CopyTextDecoder {
    public struct DecodeError: Error, CustomStringConvertible, Equatable {
        public var message: String
        public var description: String { message }
    }

    /// One COPY text line (without newline) as typed values; the field count must match `types`.
    public static func row(ofLine line: some Collection<UInt8>, types: [SQLType]) throws(DecodeError) -> [SQLValue] {
        let fields = CopyText.fields(ofLine: line)
        guard fields.count == types.count else {
            throw DecodeError(message: "row has \(fields.count) fields, the table has \(types.count) columns")
        }
        var row: [SQLValue] = []
        row.reserveCapacity(types.count)
        for (field, type) in zip(fields, types) { row.append(try value(field, type)) }
        return row
    }

    /// Every line of a COPY text table body.
    public static func rows(ofText bytes: [UInt8], types: [SQLType]) throws(DecodeError) -> [[SQLValue]] {
        var rows: [[SQLValue]] = []
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast(bytes.last == 0x0A ? 1 : 0)
        {
            rows.append(try row(ofLine: line, types: types))
        }
        return rows
    }

    /// One unescaped field (nil for NULL) as a value of `type`.
    public static func value(_ field: [UInt8]?, _ type: SQLType) throws(DecodeError) -> SQLValue {
        guard let field else { return .null }
        guard let text = String(validating: field, as: UTF8.self) else {
            throw DecodeError(message: "field is not valid UTF-8")
        }
        return try value(text: text, type)
    }

    /// One field as text (a query result's cell; nil for NULL) as a value of `type`.
    public static func value(text: String?, _ type: SQLType) throws(DecodeError) -> SQLValue {
        guard let text else { return .null }
        func bad() -> DecodeError { DecodeError(message: "\(type.rawValue) field does not parse: \(text.prefix(60))") }
        switch type {
        case .text: return .text(text)
        case .jsonb: return .json(text)
        case .integer, .bigint:
            guard let number = Int64(text) else { throw bad() }
            return .integer(number)
        case .doublePrecision:
            switch text {
            case "NaN": return .double(.nan)
            case "Infinity": return .double(.infinity)
            case "-Infinity": return .double(-.infinity)
            default:
                guard let number = Double(text), number.isFinite else { throw bad() }
                return .double(number)
            }
        case .numeric:
            guard let number = Decimal128(text) else { throw bad() }
            return .numeric(number)
        case .boolean:
            switch text {
            case "t", "true": return .boolean(true)
            case "f", "false": return .boolean(false)
            default: throw bad()
            }
        case .timestamptz:
            guard let milliseconds = timestamp(text) else { throw bad() }
            return .timestamp(milliseconds)
        case .bytea:
            let digits = Array(text.utf8)
            guard digits.count % 2 == 0, digits.starts(with: Array("\\x".utf8)) else { throw bad() }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(digits.count / 2 - 1)
            for pair in stride(from: 2, to: digits.count, by: 2) {
                guard let high = CopyText.hexNibble(digits[pair]), let low = CopyText.hexNibble(digits[pair + 1])
                else { throw bad() }
                bytes.append(high << 4 | low)
            }
            return .bytes(bytes)
        case .uuid:
            let digits = Array(text.utf8.filter { $0 != UInt8(ascii: "-") })
            guard digits.count == 32 else { throw bad() }
            var bytes: [UInt8] = []
            for pair in stride(from: 0, to: 32, by: 2) {
                guard let high = CopyText.hexNibble(digits[pair]), let low = CopyText.hexNibble(digits[pair + 1])
                else { throw bad() }
                bytes.append(high << 4 | low)
            }
            return .uuid(bytes)
        }
    }

    /// Milliseconds since the epoch of `YYYY-MM-DD[ T]HH:MM:SS[.fff][Z|±HH[:MM[:SS]]][ BC]`; digits beyond
    /// milliseconds are dropped (the model keeps millisecond precision).
    public static func timestamp(_ text: String) -> Int64? {
        var rest = Substring(text)
        var bc = false
        if rest.hasSuffix(" BC") {
            bc = true
            rest = rest.dropLast(3)
        }
        let parts = rest.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3, let year = Int64(date[0]), let month = Int64(date[1]), let day = Int64(date[2]),
            year >= 1, (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var time = parts[1]
        var offsetSeconds: Int64 = 0
        if time.hasSuffix("Z") {
            time = time.dropLast()
        } else if let sign = time.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let texts = time[time.index(after: sign)...].split(separator: ":")
            let fields = texts.compactMap { Int64($0) }
            guard !fields.isEmpty, fields.count <= 3, fields.count == texts.count else { return nil }
            let values = fields + [0, 0]
            offsetSeconds = (values[0] * 3600 + values[1] * 60 + values[2]) * (time[sign] == "-" ? -1 : 1)
            time = time[..<sign]
        }
        let clock = time.split(separator: ":")
        guard clock.count == 3, let hours = Int64(clock[0]), let minutes = Int64(clock[1]) else { return nil }
        let secondsParts = clock[2].split(separator: ".", omittingEmptySubsequences: false)
        guard let seconds = Int64(secondsParts[0]), secondsParts.count <= 2 else { return nil }
        var fraction: Int64 = 0
        if secondsParts.count == 2 {
            let digits = String(secondsParts[1].prefix(3))
            guard !secondsParts[1].isEmpty, secondsParts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int64(digits + String(repeating: "0", count: 3 - digits.count))
            else { return nil }
            fraction = value
        }
        let days = CivilTime.days(year: bc ? 1 - year : year, month: month, day: day)
        return days * 86_400_000 + ((hours * 60 + minutes) * 60 + seconds - offsetSeconds) * 1000 + fraction
    }
}
