import CMongoC

/// One libbson `bson_t` this value owns and destroys once. The bridge between the Swift model and libbson/libmongoc.
struct LibBSONDocument: ~Copyable {
    let raw: OpaquePointer

    /// Adopts a `bson_t` from libbson's allocating constructors; the caller must not destroy it.
    init(taking raw: OpaquePointer) { self.raw = raw }

    /// Copies raw BSON bytes into a new `bson_t`.
    init(copying bytes: [UInt8]) throws(BSONError) {
        let made = bytes.withUnsafeBufferPointer { bson_new_from_data($0.baseAddress, $0.count) }
        guard let made else { throw BSONError(.badLength, "libbson refused a document of \(bytes.count) bytes") }
        raw = made
    }

    init(copying document: BSONDocument) throws(BSONError) {
        try self.init(copying: try BSONEncoder.encode(document))
    }

    deinit { bson_destroy(raw) }

    /// The document's bytes, copied out of libbson.
    var bytes: [UInt8] { Self.bytes(of: raw) }

    /// Copies the bytes of a `bson_t` that someone else owns (a cursor's current document, a reply).
    static func bytes(of borrowed: OpaquePointer) -> [UInt8] {
        let length = Int(sk_bson_len(borrowed))
        return Array(UnsafeBufferPointer(start: bson_get_data(borrowed), count: length))
    }
}

/// The message libbson or libmongoc put in a `bson_error_t`.
func message(of error: inout bson_error_t) -> String {
    withUnsafePointer(to: &error) { String(cString: sk_error_message($0)) }
}

extension Decimal128: CustomStringConvertible {
    /// The decimal's text as libbson spells it ("1.5E+3", "NaN", "-Infinity"); exact, never rounded.
    public var description: String {
        var value = bson_decimal128_t(low: low, high: high)
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(BSON_DECIMAL128_STRING)) { buffer in
            bson_decimal128_to_string(&value, buffer.baseAddress)
            return String(cString: buffer.baseAddress!)
        }
    }

    /// Parses decimal text exactly; nil when libbson does not accept it.
    public init?(_ text: String) {
        var value = bson_decimal128_t()
        guard bson_decimal128_from_string(text, &value) else { return nil }
        self.init(low: value.low, high: value.high)
    }
}
