import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("COPY text escaping")
struct CopyTextTests {
    static let escapes: [(String, String)] = [
        ("plain", "plain"), ("a\tb", #"a\tb"#), ("line\nbreak", #"line\nbreak"#), ("cr\r", #"cr\r"#),
        (#"back\slash"#, #"back\\slash"#), ("\u{8}\u{C}\u{B}", #"\b\f\v"#), (#"\N"#, #"\\N"#),
        ("\u{1}\u{1F}", "\u{1}\u{1F}"),
        ("é日本🙂", "é日本🙂"), ("", ""), ("\\.", "\\\\."),
    ]

    @Test(
        "backslash, tab, newline, carriage return, backspace, form feed and vertical tab are escaped",
        arguments: escapes)
    func escape(raw: String, escaped: String) {
        #expect(CopyText.escaped(raw) == escaped)
        #expect(CopyText.unescaped(Array(escaped.utf8)) == Array(raw.utf8))
    }

    @Test("\\N alone is NULL; every escape COPY FROM accepts is read")
    func unescapeForms() {
        #expect(CopyText.unescaped(Array(#"\N"#.utf8)) == nil)
        #expect(CopyText.unescaped(Array(#"\101\1\12x\x41\x4\xg\q\\"#.utf8)) == Array("A\u{1}\nxA\u{4}xgq\\".utf8))
    }

    @Test("unescape(escape(s)) == s for random strings of every byte that can occur in text, and lines stay whole")
    func escapeRoundTrip() async {
        let alphabet = (1..<0x80).map { String(UnicodeScalar(UInt8($0))) } + ["é", "日本", "🙂", "\\N", "\\.", "\r\n"]
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let text = RandomDocuments.string(&random, alphabet: alphabet, maxLength: 40)
            let escaped = CopyText.escaped(text)
            #expect(!escaped.utf8.contains(0x09) && !escaped.utf8.contains(0x0A) && !escaped.utf8.contains(0x0D))
            #expect(CopyText.unescaped(Array(escaped.utf8)) == Array(text.utf8), "seed \(seed)")
            let other = RandomDocuments.string(&random, alphabet: alphabet, maxLength: 5)
            var line: [UInt8] = []
            CopyTextEncoder.appendRow([.text(text), .null, .text(other)], to: &line)
            #expect(line.last == 0x0A)
            #expect(CopyText.fields(ofLine: line.dropLast()) == [Array(text.utf8), nil, Array(other.utf8)])
        }
    }
}

@Suite("COPY text values")
struct CopyTextEncoderTests {
    static let doubles: [(Double, String)] = [
        (0, "0"), (-0.0, "-0"), (.nan, "NaN"), (.infinity, "Infinity"), (-.infinity, "-Infinity"), (0.1, "0.1"),
        (1.5, "1.5"), (1e300, "1e+300"), (-2.5e-300, "-2.5e-300"), (.leastNonzeroMagnitude, "5e-324"),
        (.greatestFiniteMagnitude, "1.7976931348623157e+308"), (123456789.0, "123456789.0"),
    ]

    @Test("doubles print shortest-round-trip, -0, NaN and the infinities as float8 spells them", arguments: doubles)
    func doubleText(value: Double, text: String) throws {
        #expect(CopyTextEncoder.doubleText(value) == text)
        let back = try CopyTextDecoder.value(Array(text.utf8), .doublePrecision)
        #expect(back == .double(value))
    }

    @Test("random doubles read back bit for bit")
    func doubleRoundTrip() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let value = Double(bitPattern: random.next())
            let back = try? CopyTextDecoder.value(Array(CopyTextEncoder.doubleText(value).utf8), .doublePrecision)
            #expect(back == .double(value.isNaN ? .nan : value), "seed \(seed)")
        }
    }

    static let numerics: [(String, String)] = [
        ("0", "0"), ("-0", "0"), ("-0.00", "0.00"), ("0E+3", "0"), ("1.50", "1.50"), ("1E+3", "1000"),
        ("-1.5E+2", "-150"),
        ("12345678901234567890.123456789", "12345678901234567890.123456789"), ("1.2345678E-7", "0.00000012345678"),
        ("-0.001", "-0.001"), ("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
        (
            "9999999999999999999999999999999999E+6111",
            "9999999999999999999999999999999999" + String(repeating: "0", count: 6111)
        ),
        ("1E+6144", "1" + String(repeating: "0", count: 6144)),
        ("-1E-6176", "-0." + String(repeating: "0", count: 6175) + "1"),
    ]

    @Test("decimal128 becomes numeric's plain notation exactly, extremes included", arguments: numerics)
    func numericText(decimal: String, text: String) throws {
        let value = try #require(Decimal128(decimal))
        #expect(value.plainText == text)
        // What numeric prints, libbson reads back to the same number (the same cohort member for exponents <= 0).
        let back = try CopyTextDecoder.value(Array(text.utf8), .numeric)
        guard case .numeric(let parsed) = back else { return #expect(Bool(false)) }
        #expect(parsed.plainText == text)
        if !decimal.contains("E+"), !decimal.hasPrefix("-0") { #expect(parsed == value, "\(decimal)") }
    }

    static let timestamps: [(Int64, String)] = [
        (0, "1970-01-01 00:00:00.000+00"), (-1, "1969-12-31 23:59:59.999+00"),
        (1_554_300_000_123, "2019-04-03 14:00:00.123+00"),
        (-62_135_596_800_000, "0001-01-01 00:00:00.000+00"), (-62_135_596_800_001, "0001-12-31 23:59:59.999+00 BC"),
        (-62_167_219_200_000, "0001-01-01 00:00:00.000+00 BC"), (-62_167_219_200_001, "0002-12-31 23:59:59.999+00 BC"),
        (253_402_300_799_999, "9999-12-31 23:59:59.999+00"), (253_402_300_800_000, "10000-01-01 00:00:00.000+00"),
        (ValueMapping.timestampRange.lowerBound, "4714-11-24 00:00:00.000+00 BC"),
        (ValueMapping.timestampRange.upperBound, "294276-12-31 23:59:59.999+00"),
    ]

    @Test(
        "timestamps print in UTC with milliseconds, BC and five- and six-digit years as timestamptz reads them",
        arguments: timestamps)
    func timestampText(milliseconds: Int64, text: String) throws {
        #expect(CopyTextEncoder.timestampText(milliseconds) == text)
        #expect(CopyTextDecoder.timestamp(text) == milliseconds)
    }

    @Test("timestamptz as PostgreSQL prints it in other zones and precisions reads back to the same instant")
    func postgresTimestampForms() {
        #expect(CopyTextDecoder.timestamp("2019-04-03 14:00:00+00") == 1_554_300_000_000)
        #expect(CopyTextDecoder.timestamp("2019-04-03 16:00:00.12+02") == 1_554_300_000_120)
        #expect(CopyTextDecoder.timestamp("2019-04-03 08:30:00.123456-05:30") == 1_554_300_000_123)
        #expect(CopyTextDecoder.timestamp("2019-04-03T14:00:00Z") == 1_554_300_000_000)
        #expect(CopyTextDecoder.timestamp("2019-13-03 14:00:00+00") == nil)
        #expect(CopyTextDecoder.timestamp("yesterday") == nil)
    }

    @Test("random instants across timestamptz's whole range round-trip")
    func timestampRoundTrip() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let value = Int64.random(in: ValueMapping.timestampRange, using: &random)
            #expect(CopyTextDecoder.timestamp(CopyTextEncoder.timestampText(value)) == value, "seed \(seed)")
        }
    }

    @Test("bytea is hex with its backslash COPY-escaped, uuid is 8-4-4-4-12, booleans t/f, NULL \\N")
    func otherTypes() throws {
        #expect(CopyTextEncoder.field(.bytes([0, 0xAB, 0xFF])) == #"\\x00abff"#)
        #expect(CopyTextEncoder.field(.bytes([])) == #"\\x"#)
        let uuid: [UInt8] = [
            0x73, 0xFF, 0xD2, 0x64, 0x44, 0xB3, 0x4C, 0x69, 0x90, 0xE8, 0xE7, 0xD1, 0xDF, 0xC0, 0x35, 0xD4,
        ]
        #expect(CopyTextEncoder.field(.uuid(uuid)) == "73ffd264-44b3-4c69-90e8-e7d1dfc035d4")
        #expect(CopyTextEncoder.field(.boolean(true)) == "t" && CopyTextEncoder.field(.boolean(false)) == "f")
        #expect(CopyTextEncoder.field(.null) == #"\N"#)
        #expect(CopyTextEncoder.field(.integer(.min)) == "-9223372036854775808")
        #expect(CopyTextEncoder.field(.json(#"{"a": "x\ty"}"#)) == #"{"a": "x\\ty"}"#)
        let line = Array(
            [#"\\x00abff"#, "73ffd264-44b3-4c69-90e8-e7d1dfc035d4", "t", #"\N"#, "-9223372036854775808"].joined(
                separator: "\t"
            ).utf8)
        #expect(
            try CopyTextDecoder.row(ofLine: line, types: [.bytea, .uuid, .boolean, .text, .bigint])
                == [.bytes([0, 0xAB, 0xFF]), .uuid(uuid), .boolean(true), .null, .integer(.min)])
        #expect(throws: CopyTextDecoder.DecodeError.self) { try CopyTextDecoder.row(ofLine: line, types: [.bytea]) }
        #expect(throws: CopyTextDecoder.DecodeError.self) { try CopyTextDecoder.value(Array("12x".utf8), .integer) }
    }
}
