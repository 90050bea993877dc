import Foundation
import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("SQL values as statement parameters")
struct SQLParameterTests {
    static let forms: [(SQLValue, String?)] = [
        (.null, nil),
        (.text("a\"b\\c\n é"), "a\"b\\c\n é"),
        (.integer(-42), "-42"),
        (.integer(.min), "-9223372036854775808"),
        (.double(-0.0), "-0"),
        (.double(0), "0"),
        (.double(.nan), "NaN"),
        (.double(.infinity), "Infinity"),
        (.double(-.infinity), "-Infinity"),
        (.double(0.1), "0.1"),
        (.double(1e300), "1e+300"),
        (.numeric(Decimal128("1.50")!), "1.50"),
        (.numeric(Decimal128("1E+3")!), "1000"),
        (.numeric(Decimal128("-0.00")!), "0.00"),
        (.numeric(Decimal128("-NaN")!), "NaN"),
        (.numeric(Decimal128("-Infinity")!), "-Infinity"),
        (.boolean(true), "t"),
        (.boolean(false), "f"),
        (.timestamp(0), "1970-01-01 00:00:00.000+00"),
        (.timestamp(-1), "1969-12-31 23:59:59.999+00"),
        (.timestamp(-62_135_596_800_001), "0001-12-31 23:59:59.999+00 BC"),
        (.bytes([]), "\\x"),
        (.bytes([0x00, 0xAB, 0x5C]), "\\x00ab5c"),
        (.uuid(Array(0...15)), "00010203-0405-0607-0809-0a0b0c0d0e0f"),
        (.json(#"{"a": [1, "x"]}"#), #"{"a": [1, "x"]}"#),
    ]

    @Test("each value has its exact text form, NULL none", arguments: 0..<forms.count)
    func exactForms(index: Int) throws {
        let (value, text) = Self.forms[index]
        #expect(try SQLParameter.value(value).text() == text, "\(value)")
    }

    @Test("an array literal quotes every element, escapes backslash and double quote, and leaves NULL bare")
    func arrayLiteral() throws {
        let values: [SQLValue] = [.text("a,b"), .null, .text("NULL"), .text(#"q"\"#), .bytes([1]), .text(" {x} ")]
        #expect(try SQLParameter.array(values).text() == #"{"a,b",NULL,"NULL","q\"\\","\\x01"," {x} "}"#)
        #expect(try SQLParameter.array([]).text() == "{}")
        #expect(SQLType.doublePrecision.arrayCast == "::double precision[]")
    }

    @Test("text holding NUL is refused before it could be cut short, alone or in an array")
    func nulRefused() {
        for parameter in [
            SQLParameter.value(.text("a\0b")), .value(.json("\"\0\"")), .array([.text("x"), .text("\0")]),
        ] {
            let error = #expect(throws: SchemaError.self) { try parameter.text() }
            #expect(error?.kind == .badDocument && error?.message.contains("NUL") == true)
        }
    }

    // MARK: Round trips through PostgreSQL

    /// A random value of a column type, in the forms PostgreSQL gives back (NaN without payload, decimals as numeric
    /// prints them, jsonb text as jsonb prints it).
    static func value(_ type: SQLType, _ random: inout SeededRandom) -> SQLValue {
        if Int.random(in: 0..<12, using: &random) == 0 { return .null }
        switch type {
        case .text:
            let alphabet = [
                "a", "Z", "\\", "\t", "\n", "\"", ",", "{", "}", "é", "日本", "🙂", " ", "NULL", "'", "\u{7F}",
            ]
            return .text(RandomDocuments.string(&random, alphabet: alphabet))
        case .integer:
            return .integer(
                Int64(
                    [.min, .max, 0, -1, Int32.random(in: .min ... .max, using: &random)].randomElement(using: &random)!)
            )
        case .bigint:
            return .integer(
                [.min, .max, 0, Int64.random(in: .min ... .max, using: &random)].randomElement(using: &random)!)
        case .doublePrecision:
            let bits = Double(bitPattern: random.next())
            let number = [
                0.0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1, bits,
            ]
            .randomElement(using: &random)!
            return .double(number.isNaN ? .nan : number)
        case .numeric:
            let edges = [
                "0", "-0.00", "1.50", "NaN", "Infinity", "-Infinity", "1E+6144", "-1E-6176",
                "9.999999999999999999999999999999999E+6144",
            ]
            let digits = String(UInt64.random(in: 0 ... .max, using: &random))
            let text =
                Bool.random(using: &random)
                ? edges.randomElement(using: &random)!
                : "\(Bool.random(using: &random) ? "-" : "")\(digits)E\(Int.random(in: -40...40, using: &random))"
            return .numeric(Decimal128(Decimal128(text)!.plainText)!)
        case .boolean: return .boolean(Bool.random(using: &random))
        case .timestamptz:
            let range = ValueMapping.timestampRange
            return .timestamp(
                [range.lowerBound, range.upperBound, 0, -1, Int64.random(in: range, using: &random)].randomElement(
                    using: &random)!)
        case .bytea:
            return .bytes(
                (0..<Int.random(in: 0...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        case .uuid: return .uuid((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
        case .jsonb: return .json(jsonbText(&random, depth: 0))
        }
    }

    /// JSON text exactly as jsonb prints it: `{"k": v, ...}` with keys shorter-first then bytewise and no
    /// duplicates, `[a, b]`, strings escaped as jsonb escapes them.
    static func jsonbText(_ random: inout SeededRandom, depth: Int) -> String {
        switch Int.random(in: 0..<(depth < 3 ? 8 : 6), using: &random) {
        case 0: return "null"
        case 1: return Bool.random(using: &random) ? "true" : "false"
        case 2: return String(Int64.random(in: -1_000_000...1_000_000, using: &random))
        case 3: return ["1.50", "-0.5", "12345678901234567890.1"].randomElement(using: &random)!
        case 4, 5:
            return jsonbString(
                RandomDocuments.string(&random, alphabet: ["a", "\"", "\\", "\n", "\t", "\u{1}", "é", "🙂", "/"]))
        case 6:
            let elements = (0..<Int.random(in: 0...3, using: &random)).map { _ in jsonbText(&random, depth: depth + 1) }
            return "[" + elements.joined(separator: ", ") + "]"
        default:
            var members: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                members[RandomDocuments.string(&random, alphabet: ["a", "b", "é", "\""], maxLength: 3)] = jsonbText(
                    &random, depth: depth + 1)
            }
            let keys = members.keys.sorted {
                let a = Array($0.utf8)
                let b = Array($1.utf8)
                return a.count != b.count ? a.count < b.count : a.lexicographicallyPrecedes(b)
            }
            return "{" + keys.map { jsonbString($0) + ": " + members[$0]! }.joined(separator: ", ") + "}"
        }
    }

    static func jsonbString(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\t": output += "\\t"
            case "\u{8}": output += "\\b"
            case "\u{C}": output += "\\f"
            case "\r": output += "\\r"
            case _ where scalar.value < 0x20: output += String(format: "\\u%04x", scalar.value)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    static func decode(_ text: String?, _ type: SQLType) throws -> SQLValue {
        try CopyTextDecoder.value(text.map { Array($0.utf8) }, type)
    }

    @Test(
        "a random value sent as a parameter and selected back comes back equal, alone and in an array",
        .tags(.integration))
    func roundTrip() async throws {
        let session = try await PostgresServer.session()
        // Far from UTC, so a timestamptz printed in the session's zone must still read back as the same instant.
        try await session.execute("SET TimeZone = 'Pacific/Chatham'", purpose: "use a zone with an odd offset")
        await propertyCheck(count: 200, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            for type in SQLType.allCases {
                let value = Self.value(type, &random)
                let values = (0..<Int.random(in: 0...5, using: &random)).map { _ in Self.value(type, &random) }
                do {
                    let single = try await session.query(
                        "SELECT $1::\(type.rawValue)", values: [.value(value)], purpose: "select a parameter back")
                    let back = try Self.decode(single.scalar, type)
                    #expect(back == value, "seed \(seed), \(type.rawValue): sent \(value), got \(back)")
                    let array = try await session.query(
                        "SELECT x FROM unnest($1\(type.arrayCast)) WITH ORDINALITY AS u (x, n) ORDER BY n",
                        values: [.array(values)], purpose: "select an array parameter back")
                    let elements = try array.rows.map { try Self.decode($0[0], type) }
                    #expect(elements == values, "seed \(seed), \(type.rawValue)[]: sent \(values), got \(elements)")
                } catch {
                    Issue.record("seed \(seed), \(type.rawValue): \(error)")
                }
            }
        }
        await session.close()
    }
}
