import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("Word-at-a-time byte searches (pure)")
struct ByteScanTests {
    /// The byte-by-byte answer the word-at-a-time scan must give.
    static func naive(_ bytes: [UInt8], below limit: UInt8, or special: UInt8, _ other: UInt8) -> Bool {
        bytes.contains { $0 < limit || $0 == special || $0 == other }
    }

    static func scan(_ bytes: [UInt8], below limit: UInt8, or special: UInt8, _ other: UInt8) -> Bool {
        bytes.withUnsafeBytes { ByteScan.contains($0, below: limit, or: special, other) }
    }

    @Test("one byte to find, at every place of a word and of the tail, is found; clean text is not")
    func everyPlace() {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        for length in 0..<20 {
            let clean = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            #expect(!Self.scan(clean, below: 0x20, or: quote, backslash), "length \(length)")
            for place in 0..<length {
                for found: UInt8 in [0x00, 0x1f, quote, backslash] {
                    var bytes = clean
                    bytes[place] = found
                    #expect(Self.scan(bytes, below: 0x20, or: quote, backslash), "\(found) at \(place) of \(length)")
                }
                var bytes = clean
                bytes[place] = 0x20  // just above the limit
                #expect(!Self.scan(bytes, below: 0x20, or: quote, backslash), "0x20 at \(place) of \(length)")
            }
        }
    }

    @Test("random bytes, limits and specials: the same answer as a byte-by-byte search")
    func random() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let limit = UInt8.random(in: 1...128, using: &random)
            let special = UInt8.random(in: 0...255, using: &random), other = UInt8.random(in: 0...255, using: &random)
            // Mostly bytes that match nothing, so that a hit, when there is one, sits anywhere.
            let bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in
                Int.random(in: 0..<16, using: &random) == 0
                    ? UInt8.random(in: 0...255, using: &random) : UInt8.random(in: 128...255, using: &random)
            }
            #expect(
                Self.scan(bytes, below: limit, or: special, other)
                    == Self.naive(bytes, below: limit, or: special, other), "seed \(seed)")
        }
    }
}
