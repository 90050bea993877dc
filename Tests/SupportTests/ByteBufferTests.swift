import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("Byte outputs of the COPY text and JSON writers (pure)")
struct ByteBufferTests {
    @Test(
        "decimals are spelt as String spells them, zero-padded to a width",
        arguments: [
            (0, 1, "0"), (7, 1, "7"), (7, 3, "007"), (10, 1, "10"), (-5, 1, "-5"), (-5, 3, "-005"), (123, 2, "123"),
            (Int64.max, 1, "9223372036854775807"), (Int64.min, 1, "-9223372036854775808"),
        ] as [(Int64, Int, String)])
    func decimals(number: Int64, width: Int, text: String) {
        var bytes: [UInt8] = []
        bytes.appendDecimal(number, width: width)
        #expect(String(decoding: bytes, as: UTF8.self) == text)
    }

    @Test("a buffer appended to in any steps holds what an array would, and keeps its storage when emptied")
    func buffer() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            var buffer = ByteBuffer(capacity: Int.random(in: 0...8, using: &random))
            var expected: [UInt8] = []
            for _ in 0..<Int.random(in: 0...60, using: &random) {
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    let byte = UInt8.random(in: 0...255, using: &random)
                    buffer.append(byte)
                    expected.append(byte)
                case 1:
                    let run = (0..<Int.random(in: 0...20, using: &random)).map { _ in UInt8(ascii: "a") }
                    run.withUnsafeBytes { buffer.append(bytes: $0) }
                    expected += run
                default:
                    let number = Int64.random(in: Int64.min...Int64.max, using: &random)
                    buffer.appendDecimal(number)
                    expected += Array(String(number).utf8)
                }
            }
            #expect(buffer.count == expected.count && buffer.isEmpty == expected.isEmpty, "seed \(seed)")
            #expect(buffer.withUnsafeBytes { Array($0) } == expected, "seed \(seed)")
            buffer.removeAll()
            #expect(buffer.isEmpty && buffer.withUnsafeBytes { $0.isEmpty }, "seed \(seed)")
            buffer.append("ok")
            #expect(buffer.string == "ok", "seed \(seed)")
        }
    }
}
