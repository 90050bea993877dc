/// FNV-1a, 64 bits: a fast, stable fingerprint for schema files and CSV parts. It detects change and corruption;
/// it is not a defence against someone forging a file.
public struct Checksum: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var hash = value
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        value = hash
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// 16 lower-case hex digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public static func hex(of bytes: [UInt8]) -> String {
        var checksum = Checksum()
        checksum.update(bytes)
        return checksum.hex
    }
}
