import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("Hexadecimal text of bytes, as PostgreSQL's encode and decode spell it (pure)")
struct HexTests {
    @Test("bytes are two lower-case digits each")
    func encode() {
        #expect(Hex.encode([]) == "")
        #expect(Hex.encode([0x00, 0x0f, 0xa0, 0xff, 0x7e]) == "000fa0ff7e")
    }

    @Test("digits of either case decode; an odd length or a character that is no digit is refused")
    func decode() {
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("00Ff0a") == [0x00, 0xff, 0x0a])
        for refused in ["0", "abc", "0g", "g0", " 0", "0x00", "éé"] {
            #expect(Hex.decode(refused) == nil, "\(refused)")
        }
    }

    @Test("any bytes come back from their text, upper or lower case")
    func roundTrip() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            let text = Hex.encode(bytes)
            #expect(text.utf8.count == 2 * bytes.count && text == text.lowercased(), "seed \(seed)")
            #expect(Hex.decode(text) == bytes, "seed \(seed)")
            #expect(Hex.decode(text.uppercased()) == bytes, "seed \(seed)")
        }
    }
}
