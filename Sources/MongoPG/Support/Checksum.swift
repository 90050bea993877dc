/// FNV-1a (Fowler-Noll-Vo) in the two widths the toolkit uses, in one place. The outputs are fixed for good: manifests
/// and state rows hold the 64-bit checksums and schema hashes, table names the 32-bit suffix of cut identifiers.
public enum FNV1a {
    /// 32 bits (offset basis 2166136261, prime 16777619): the suffix `Identifier.sanitised` gives cut names.
    public static func hash32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }

    /// 64 bits (offset basis 14695981039346656037, prime 1099511628211), continued from `hash` over `bytes`.
    @inline(__always)
    public static func hash64(_ bytes: UnsafeRawBufferPointer, from hash: UInt64 = offsetBasis64) -> UInt64 {
        var hash = hash
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    public static let offsetBasis64: UInt64 = 0xCBF2_9CE4_8422_2325
}

/// FNV-1a, 64 bits: a fast, stable fingerprint for schema files and CSV parts. It detects change and corruption;
/// it is not a defence against someone forging a file.
public struct Checksum: Sendable {
    public private(set) var value: UInt64 = FNV1a.offsetBasis64

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { value = FNV1a.hash64(bytes, from: value) }

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
