import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("Extended JSON written in Swift")
struct ExtendedJSONWriterTests {
    /// Values of the types the writer takes on, with every character JSON escapes in keys and strings.
    static func value(_ random: inout SeededRandom, depth: Int) -> BSONValue {
        let characters = ["a", "\"", "\\", "/", "\u{1}", "\u{8}", "\t", "\n", "\u{B}", "\u{C}", "\r", "\u{1F}", "\u{7F}", "é", "日本", "🙂", " ", "$"]
        func text() -> String { (0..<Int.random(in: 0...6, using: &random)).map { _ in characters.randomElement(using: &random)! }.joined() }
        switch Int.random(in: 0..<(depth < 4 ? 9 : 7), using: &random) {
        case 0: return .string(text())
        case 1: return .int32([.min, .max, 0, -1, Int32.random(in: .min ... .max, using: &random)].randomElement(using: &random)!)
        case 2: return .int64([.min, .max, 0, Int64.random(in: .min ... .max, using: &random)].randomElement(using: &random)!)
        case 3: return .bool(Bool.random(using: &random))
        case 4: return .null
        case 5: return .objectID(RandomDocuments.objectID(&random))
        case 6: return .string(String(repeating: "x", count: Int.random(in: 0...40, using: &random)))
        case 7:
            return .document(BSONDocument((0..<Int.random(in: 0...4, using: &random)).map { _ in (text(), value(&random, depth: depth + 1)) }))
        default: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in value(&random, depth: depth + 1) })
        }
    }

    @Test("relaxed Extended JSON of strings, integers, booleans, null, ObjectIds, documents and arrays is libbson's, byte for byte")
    func sameAsLibbson() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let value = Self.value(&random, depth: 0)
            let ours = ExtendedJSONWriter.relaxedText(of: value)
            #expect(ours != nil, "seed \(seed)")
            #expect(ours == (try? ExtendedJSONValue.text(of: value, .relaxed)), "seed \(seed)")
        }
    }

    @Test("other types and strings holding NUL are left to libbson", arguments: [
        BSONValue.double(1.5), .datetime(0), .decimal128(Decimal128("1")!), .binary(BSONBinary(subtype: 0, data: [1])),
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
            #expect(ours == (try? ExtendedJSONValue.text(of: value, .relaxed)), "seed \(seed)")
        }
    }
}
