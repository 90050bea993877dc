/// Word-at-a-time byte searches for the per-value hot paths: COPY and JSON escaping, NUL checks. Text that needs
/// nothing, the common case, is then copied whole instead of byte by byte.
enum ByteScan {
    /// Whether any byte is below `limit` (1 to 128) or equal to `special` or `other`; eight bytes at a time.
    static func contains(
        _ bytes: UnsafeRawBufferPointer, below limit: UInt8, or special: UInt8, _ other: UInt8
    ) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // Some byte of x is below n exactly when (x - n * ones) & ~x & highs is non-zero (n <= 128); a byte equal
        // to c is a zero byte of x ^ (c * ones), that is one below 1.
        let specials = ones &* UInt64(special)
        let others = ones &* UInt64(other)
        var index = 0
        while index + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let equal = word ^ specials
            let equalOther = word ^ others
            let found =
                (word &- ones &* UInt64(limit)) & ~word | (equal &- ones) & ~equal
                | (equalOther &- ones) & ~equalOther
            if found & highs != 0 { return true }
            index += 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < limit || byte == special || byte == other { return true }
            index += 1
        }
        return false
    }
}
