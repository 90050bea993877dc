/// Where the COPY text and JSON writers append their bytes: `[UInt8]` for tests and single values, `ByteBuffer` on the
/// per-document hot paths.
protocol ByteOutput {
    mutating func append(_ byte: UInt8)
    mutating func append(bytes: UnsafeRawBufferPointer)
}

extension ByteOutput {
    /// Appends the bytes of an ASCII literal.
    @inline(__always)
    mutating func append(_ literal: StaticString) {
        append(bytes: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends `number` in decimal, as `String(number)` spells it, left-padded with zeros to `width` digits.
    /// Shared by the COPY text and Extended JSON writers (integers, dates).
    mutating func appendDecimal(_ number: Int64, width: Int = 1) {
        if number >= 0, number < 10, width <= 1 {  // array indexes, mostly
            append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: number))
            return
        }
        if number < 0 { append(UInt8(ascii: "-")) }
        // Digits from the right into 24 bytes on the stack, then one append.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var magnitude = number.magnitude
            var first = buffer.count
            repeat {
                let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                first &-= 1
                buffer[first] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
                magnitude = quotient
            } while magnitude > 0
            while buffer.count - first < width {
                first &-= 1
                buffer[first] = UInt8(ascii: "0")
            }
            append(bytes: UnsafeRawBufferPointer(rebasing: buffer[first...]))
        }
    }
}

extension Array: ByteOutput where Element == UInt8 {
    mutating func append(bytes: UnsafeRawBufferPointer) { append(contentsOf: bytes) }
}

/// A growable byte buffer that copies runs with one `memcpy`: `[UInt8].append(contentsOf:)` costs about a hundred
/// instructions a call before it copies anything, and COPY text is written a few bytes at a time.
struct ByteBuffer: ByteOutput {
    /// Zero-filled past `count`, so it never has to be initialised element by element.
    private var storage: [UInt8]
    private(set) var count = 0

    init(capacity: Int = 256) { storage = [UInt8](repeating: 0, count: capacity) }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == storage.count { grow(to: count + 1) }
        storage[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        if count + bytes.count > storage.count { grow(to: count + bytes.count) }
        let offset = count
        storage.withUnsafeMutableBytes { ($0.baseAddress! + offset).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
    }

    private mutating func grow(to needed: Int) {
        storage.append(contentsOf: repeatElement(0, count: max(needed, storage.count * 2) - storage.count))
    }

    /// Empties the buffer, keeping its storage.
    mutating func removeAll() { count = 0 }

    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// The bytes as a string; they must be valid UTF-8 (invalid sequences would be repaired).
    var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}
