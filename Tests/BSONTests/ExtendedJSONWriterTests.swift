import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("Extended JSON written in Swift")
struct ExtendedJSONWriterTests {
    /// Values of the types the writer takes on, with every character JSON escapes in keys and strings.
    static func value(_ random: inout SeededRandom, depth: Int) -> BSONValue {
        let characters = [
            "a", "\"", "\\", "/", "\u{1}", "\u{8}", "\t", "\n", "\u{B}", "\u{C}", "\r", "\u{1F}", "\u{7F}", "é", "日本",
            "🙂", " ", "$",
        ]
        func text() -> String {
            (0..<Int.random(in: 0...6, using: &random)).map { _ in characters.randomElement(using: &random)! }.joined()
        }
        switch Int.random(in: 0..<(depth < 4 ? 9 : 7), using: &random) {
        case 0: return .string(text())
        case 1:
            return .int32(
                [.min, .max, 0, -1, Int32.random(in: .min ... .max, using: &random)].randomElement(using: &random)!)
        case 2:
            return .int64(
                [.min, .max, 0, Int64.random(in: .min ... .max, using: &random)].randomElement(using: &random)!)
        case 3: return .bool(Bool.random(using: &random))
        case 4: return .null
        case 5: return .objectID(RandomDocuments.objectID(&random))
        case 6: return .string(String(repeating: "x", count: Int.random(in: 0...40, using: &random)))
        case 7:
            return .document(
                BSONDocument(
                    (0..<Int.random(in: 0...4, using: &random)).map { _ in (text(), value(&random, depth: depth + 1)) })
            )
        default:
            return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in value(&random, depth: depth + 1) })
        }
    }

    @Test("the one JSON string escaper (schema files, Extended JSON) writes each character as libbson does")
    func stringEscaperIsLibbsons() throws {
        for scalar in (1..<0x20).compactMap(Unicode.Scalar.init) + ["\"", "\\", "/", "\u{7F}", "é", "🙂"] {
            let text = "a" + String(scalar) + "b"
            let libbson = try BSONDocument([("v", .string(text))]).extendedJSON(.relaxed)
            let ours = "{ \"v\" : " + JSONString.quoted(text) + " }"
            #expect(Array(libbson.utf8) == Array(ours.utf8), "\(scalar.value)")
        }
        #expect(JSONString.quoted("a\u{0}b") == "\"a\\u0000b\"")
    }

    @Test(
        "relaxed Extended JSON of strings, integers, booleans, null, ObjectIds, documents and arrays is libbson's, byte for byte"
    )
    func sameAsLibbson() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let value = Self.value(&random, depth: 0)
            let ours = ExtendedJSONWriter.relaxedText(of: value)
            let libbson = try? ExtendedJSONValue.text(of: value, .relaxed)
            #expect(ours != nil, "seed \(seed)")
            #expect(ours?.text == libbson, "seed \(seed)")
            // What the writer notes while writing is what a reading of the text finds.
            #expect(ours?.reading == libbson.map { ExtendedJSONReading(of: value, text: $0) }, "seed \(seed)")
        }
    }

    @Test(
        "other types and strings holding NUL are left to libbson",
        arguments: [
            BSONValue.double(1.5), .datetime(0), .decimal128(Decimal128("1")!),
            .binary(BSONBinary(subtype: 0, data: [1])),
            .regex(BSONRegex(pattern: "a", options: "")), .minKey, .timestamp(BSONTimestamp(seconds: 1, increment: 2)),
            .string("a\0b"), .document(["k": .array([.int32(1), .double(2)])]), .document(["k": .string("\0")]),
        ])
    func leftToLibbson(value: BSONValue) {
        #expect(ExtendedJSONWriter.relaxedText(of: value) == nil)
    }

    @Test("random documents of every type: whatever the writer takes on it writes as libbson does")
    func everyType() async {
        await propertyCheck(count: 1000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let value = BSONValue.document(RandomDocuments.document(&random, maxFields: 8))
            guard let ours = ExtendedJSONWriter.relaxedText(of: value) else { return }
            #expect(ours.text == (try? ExtendedJSONValue.text(of: value, .relaxed)), "seed \(seed)")
        }
    }

    @Test("the keys taken for type wrappers are those libbson's reader misreads; other $ keys read back as keys")
    func wrapperKeys() throws {
        let others = ["$set", "$ref", "$id", "$db", "$", "$$", "$inc", "a$"]
        for key in ExtendedJSONReading.wrapperKeys.map({ String(decoding: $0, as: UTF8.self) }) + others {
            let isWrapper = ExtendedJSONReading.wrapperKeys.contains(Array(key.utf8))
            for value in [BSONValue.string("x"), .int32(1), .document(["a": .int32(1)])] {
                let document = BSONValue.document([key: value])
                let text = try ExtendedJSONValue.text(of: document, .relaxed)
                #expect(ExtendedJSONReading.wrapperKey(in: document) == (isWrapper ? key : nil), "\(text)")
                let back = try? ExtendedJSONValue.value(fromText: text)
                if !isWrapper { #expect(back == document, "\(key) should read back as a key") }
            }
            if isWrapper {
                // For each wrapper some value does not come back as the document that held it.
                let misread = [BSONValue.string("x"), .int32(1), .document(["a": .int32(1)])].contains { value in
                    let document = BSONValue.document([key: value])
                    return (try? ExtendedJSONValue.value(fromText: ExtendedJSONValue.text(of: document, .relaxed)))
                        != document
                }
                #expect(misread, "\(key) reads back as a key: it need not be refused")
            }
        }
    }

    @Test("libbson reads text of maximumLevels levels and refuses one more, as the reading counts them")
    func maximumLevels() throws {
        for (depth, leaf) in [
            (ExtendedJSONReading.maximumLevels - 2, BSONValue.int32(1)),
            (ExtendedJSONReading.maximumLevels - 1, .array([])),
        ] {
            for extra in [0, 1] {
                let value = (0..<(depth + extra - 1)).reduce(BSONValue.array([leaf])) { inner, _ in .array([inner]) }
                let text = try ExtendedJSONValue.text(of: value, .relaxed)
                let levels = ExtendedJSONReading(levelsOf: text).levels + 1  // inside {"v": ...}
                let readable = (try? ExtendedJSONValue.value(fromText: text)) == value
                #expect(readable == (levels <= ExtendedJSONReading.maximumLevels), "\(levels) levels")
            }
        }
    }
}
