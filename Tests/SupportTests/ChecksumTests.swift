import MongoPG
import PropertyBased
import TestSupport
import Testing

@Suite("FNV-1a and the checksums of parts and schema files (pure)")
struct ChecksumTests {
    @Test("FNV-1a 32 and 64 match their published test vectors, and Checksum is FNV-1a 64")
    func fnvVectors() {
        #expect(FNV1a.hash32(Array("".utf8)) == 0x811c_9dc5)
        #expect(FNV1a.hash32(Array("a".utf8)) == 0xe40c_292c)
        #expect(FNV1a.hash32(Array("foobar".utf8)) == 0xbf9c_f968)
        let vectors: [(String, UInt64)] = [
            ("", 0xcbf2_9ce4_8422_2325), ("a", 0xaf63_dc4c_8601_ec8c), ("foobar", 0x8594_4171_f739_67e8),
        ]
        for (text, hash) in vectors {
            #expect(Array(text.utf8).withUnsafeBytes { FNV1a.hash64($0) } == hash)
            #expect(Checksum.hex(of: Array(text.utf8)) == String(hash, radix: 16))
        }
        // Fed in pieces, the checksum is the hash of the whole.
        var checksum = Checksum()
        checksum.update(Array("foo".utf8))
        checksum.update(Array("bar".utf8))
        #expect(checksum.value == 0x8594_4171_f739_67e8)
    }

    @Test("any bytes fed in any pieces give the hash of the whole, as 16 hex digits zero-padded")
    func pieces() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            var checksum = Checksum()
            var rest = bytes[...]
            while !rest.isEmpty {
                let piece = rest.prefix(Int.random(in: 1...8, using: &random))
                checksum.update(Array(piece))
                rest = rest.dropFirst(piece.count)
            }
            let whole = bytes.withUnsafeBytes { FNV1a.hash64($0) }
            #expect(checksum.value == whole, "seed \(seed)")
            #expect(checksum.hex == Checksum.hex(of: bytes), "seed \(seed)")
            #expect(checksum.hex.count == 16 && UInt64(checksum.hex, radix: 16) == whole, "seed \(seed)")
        }
    }
}
