#if canImport(Glibc)
    import Glibc
#endif

/// A field name as MongoDB compares keys: by UTF-8 bytes. Swift's `String` compares and hashes by canonical
/// equivalence, so `"\u{E9}"` and `"e\u{301}"` would be one key to a `[String: Int]`, while they are two fields to
/// MongoDB and two columns to PostgreSQL. BSON documents, schemas, normalise and the rebuilder all key by this.
struct FieldName: Hashable, Sendable {
    let text: String
    init(_ text: String) { self.text = text }

    static func == (lhs: FieldName, rhs: FieldName) -> Bool { sameBytes(lhs.text, rhs.text) }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        let same = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0
            }
        }
        return (same ?? nil) ?? a.utf8.elementsEqual(b.utf8)
    }
}
