/// A JSON value with object members in file order and duplicates kept, so schema files keep their field order and
/// a duplicate key can be reported instead of silently merged. Numbers stay text: schema files need none.
enum JSONText: Equatable, Sendable {
    case object([(key: String, value: JSONText)])
    case array([JSONText])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    static func == (lhs: JSONText, rhs: JSONText) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let a), .array(let b)): a == b
        case (.string(let a), .string(let b)), (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    /// A syntax error with its 1-based line and column.
    struct SyntaxError: Error {
        var message: String
        var line: Int
        var column: Int
    }

    /// Parses one JSON text (RFC 8259); nesting is bounded so hostile input cannot exhaust the stack.
    static func parse(_ text: String, maximumDepth: Int = 256) throws(SyntaxError) -> JSONText {
        var parser = Parser(bytes: Array(text.utf8), maximumDepth: maximumDepth)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.position == parser.bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        let maximumDepth: Int
        var position = 0

        func error(_ message: String) -> SyntaxError {
            var line = 1, column = 1
            for byte in bytes[..<min(position, bytes.count)] {
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {
                    column += 1
                }
            }
            return SyntaxError(message: message, line: line, column: column)
        }

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func expect(_ literal: String) throws(SyntaxError) {
            let literalBytes = Array(literal.utf8)
            guard bytes.count - position >= literalBytes.count,
                Array(bytes[position..<position + literalBytes.count]) == literalBytes
            else { throw error("expected \(literal)") }
            position += literalBytes.count
        }

        mutating func value(depth: Int) throws(SyntaxError) -> JSONText {
            guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth) levels") }
            guard position < bytes.count else { throw error("unexpected end of input") }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var members: [(key: String, value: JSONText)] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                        throw error("expected a string key")
                    }
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard position < bytes.count else { throw error("unexpected end of input inside an object") }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                    } else if bytes[position] == UInt8(ascii: "}") {
                        position += 1
                        return .object(members)
                    } else {
                        throw error("expected , or } in an object")
                    }
                }
            case UInt8(ascii: "["):
                position += 1
                var elements: [JSONText] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(elements)
                }
                while true {
                    skipSpace()
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    guard position < bytes.count else { throw error("unexpected end of input inside a list") }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                    } else if bytes[position] == UInt8(ascii: "]") {
                        position += 1
                        return .array(elements)
                    } else {
                        throw error("expected , or ] in a list")
                    }
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = position
                while position < bytes.count, "+-.eE0123456789".utf8.contains(bytes[position]) { position += 1 }
                return .number(String(decoding: bytes[start..<position], as: UTF8.self))
            default:
                throw error("unexpected character")
            }
        }

        mutating func string() throws(SyntaxError) -> String {
            position += 1  // the opening quote
            var output: [UInt8] = []
            while true {
                guard position < bytes.count else { throw error("unterminated string") }
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: output, as: UTF8.self) else { throw error("invalid UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { throw error("unterminated escape") }
                    let escape = bytes[position]
                    position += 1
                    switch (escape, JSONText.escapedByte(escape)) {
                    case (_, let plain?): output.append(plain)
                    case (UInt8(ascii: "u"), nil):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            try expect("\\u")
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                        output.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default: throw error("invalid escape")
                    }
                case 0..<0x20: throw error("control character inside a string")
                default: output.append(byte)
                }
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard bytes.count - position >= 4 else { throw error("short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                position += 1
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw error("invalid hex digit in \\u escape")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
    }
}

extension JSONText {
    /// The byte a one-letter JSON escape stands for (`\n` is 0x0A, `\"` a quote); nil for `u` and any other letter.
    static func escapedByte(_ letter: UInt8) -> UInt8? {
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): letter
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// A JSON text spelt as PostgreSQL's jsonb gives it back: object keys shorter first, then by bytes, of duplicate
    /// keys only the last (PostgreSQL documentation, 8.14 "JSON Types"); `", "` and `": "` between items; strings
    /// escaped as jsonb's output escapes them; numbers as written (jsonb prints its numeric's own text, so `1e2` or
    /// `1.0E1` spell differently from PostgreSQL's, never alike for different values). Nil when `text` is no JSON or
    /// holds what jsonb refuses (`\u0000`, a lone surrogate). Equal to the text of a jsonb value, it holds that value.
    static func jsonbSpelling(_ text: String) -> [UInt8]? {
        var speller = JSONBSpeller(bytes: Array(text.utf8))
        var output: [UInt8] = []
        output.reserveCapacity(speller.bytes.count)
        guard speller.value(into: &output, depth: 0) else { return nil }
        speller.skipSpace()
        return speller.position == speller.bytes.count ? output : nil
    }

    /// Whether a jsonb value's text (`stored`, as PostgreSQL gave it back, or as written) and a JSON text hold the
    /// same value, as far as spelling both as jsonb tells (`jsonbSpelling`).
    static func sameAsJSONB(stored: String, written: String) -> Bool {
        if stored.utf8.elementsEqual(written.utf8) { return true }
        guard let spelt = jsonbSpelling(written) else { return false }
        if stored.utf8.elementsEqual(spelt) { return true }
        return jsonbSpelling(stored).map { $0 == spelt } ?? false
    }
}

/// The one-pass parser behind `JSONText.jsonbSpelling`: appends each value's jsonb spelling.
private struct JSONBSpeller {
    let bytes: [UInt8]
    var position = 0
    static let maximumDepth = 256

    mutating func skipSpace() {
        while position < bytes.count,
            bytes[position] == 0x20 || bytes[position] == 0x09 || bytes[position] == 0x0A
                || bytes[position] == 0x0D
        {
            position += 1
        }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    mutating func value(into output: inout [UInt8], depth: Int) -> Bool {
        skipSpace()
        guard depth < Self.maximumDepth, position < bytes.count else { return false }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            position += 1
            var members: [(key: [UInt8], value: [UInt8])] = []
            if !take(UInt8(ascii: "}")) {
                repeat {
                    guard take(UInt8(ascii: "\"")), let key = string(), take(UInt8(ascii: ":")) else { return false }
                    var value: [UInt8] = []
                    guard self.value(into: &value, depth: depth + 1) else { return false }
                    members.append((key, value))
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "}")) else { return false }
            }
            // Of duplicate keys the last counts; keys are unique after that, so the order is total.
            var seen = Set<[UInt8]>()
            let kept = members.reversed().filter { seen.insert($0.key).inserted }.sorted { a, b in
                a.key.count != b.key.count ? a.key.count < b.key.count : a.key.lexicographicallyPrecedes(b.key)
            }
            output.append(UInt8(ascii: "{"))
            for (index, member) in kept.enumerated() {
                if index > 0 { output.append(contentsOf: [UInt8(ascii: ","), 0x20]) }
                Self.appendString(member.key, to: &output)
                output.append(contentsOf: [UInt8(ascii: ":"), 0x20])
                output.append(contentsOf: member.value)
            }
            output.append(UInt8(ascii: "}"))
            return true
        case UInt8(ascii: "["):
            position += 1
            output.append(UInt8(ascii: "["))
            if !take(UInt8(ascii: "]")) {
                var first = true
                repeat {
                    if !first { output.append(contentsOf: [UInt8(ascii: ","), 0x20]) }
                    first = false
                    guard value(into: &output, depth: depth + 1) else { return false }
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "]")) else { return false }
            }
            output.append(UInt8(ascii: "]"))
            return true
        case UInt8(ascii: "\""):
            position += 1
            guard let text = string() else { return false }
            Self.appendString(text, to: &output)
            return true
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for literal in ["true", "false", "null"] {
                let literal = Array(literal.utf8)
                if bytes.count - position >= literal.count,
                    bytes[position..<position + literal.count].elementsEqual(literal)
                {
                    output.append(contentsOf: literal)
                    position += literal.count
                    return true
                }
            }
            return false
        default:
            let start = position
            while position < bytes.count, Self.isNumberByte(bytes[position]) { position += 1 }
            guard position > start else { return false }
            output.append(contentsOf: bytes[start..<position])
            return true
        }
    }

    static func isNumberByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
    }

    /// A string's bytes, escapes resolved, after its opening quote; nil for a bad escape or what jsonb refuses.
    mutating func string() -> [UInt8]? {
        var text: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return text
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { return nil }
                let escape = bytes[position]
                position += 1
                switch (escape, JSONText.escapedByte(escape)) {
                case (_, let plain?): text.append(plain)
                case (UInt8(ascii: "u"), nil):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                            bytes[position + 1] == UInt8(ascii: "u")
                        else { return nil }
                        position += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard scalar != 0, let unicode = Unicode.Scalar(scalar) else { return nil }
                    text.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: return nil
                }
            default: text.append(byte)
            }
        }
        return nil
    }

    mutating func hex4() -> UInt32? {
        guard bytes.count - position >= 4 else { return nil }
        var value: UInt32 = 0
        for byte in bytes[position..<position + 4] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
            value = value << 4 | UInt32(digit)
        }
        position += 4
        return value
    }

    /// jsonb's output escaping (PostgreSQL's `escape_json`): quote, backslash and control characters; the rest as is.
    static func appendString(_ text: [UInt8], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text {
            switch byte {
            case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case ..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                output.append(contentsOf: Array("\\u00".utf8) + [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
