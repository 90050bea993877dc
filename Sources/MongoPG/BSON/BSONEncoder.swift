/// Encodes `BSONDocument`s into raw BSON bytes, the inverse of `BSONDecoder`.
public enum BSONEncoder {
    /// Keys and regex parts are C strings in BSON; one holding NUL cannot be encoded.
    public static func encode(_ document: BSONDocument) throws(BSONError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        try write(document, into: &output)
        return output
    }

    static func write(_ document: BSONDocument, into output: inout [UInt8]) throws(BSONError) {
        let start = output.count
        appendInt32(0, to: &output)
        for element in document.elements {
            try writeElement(key: element.key, value: element.value, into: &output)
        }
        output.append(0)
        patchLength(at: start, in: &output)
    }

    static func write(array: [BSONValue], into output: inout [UInt8]) throws(BSONError) {
        let start = output.count
        appendInt32(0, to: &output)
        for (index, value) in array.enumerated() {
            try writeElement(key: String(index), value: value, into: &output)
        }
        output.append(0)
        patchLength(at: start, in: &output)
    }

    private static func writeElement(key: String, value: BSONValue, into output: inout [UInt8]) throws(BSONError) {
        output.append(value.typeByte)
        try appendCString(key, "key", to: &output)
        switch value {
        case .double(let double): appendInt64(Int64(bitPattern: double.bitPattern), to: &output)
        case .string(let string), .javascript(let string), .symbol(let string): appendString(string, to: &output)
        case .document(let document): try write(document, into: &output)
        case .array(let array): try write(array: array, into: &output)
        case .binary(let binary):
            let innerLength = binary.subtype == 2 ? 4 : 0
            appendInt32(Int32(binary.data.count + innerLength), to: &output)
            output.append(binary.subtype)
            if binary.subtype == 2 { appendInt32(Int32(binary.data.count), to: &output) }
            output.append(contentsOf: binary.data)
        case .undefined, .null, .minKey, .maxKey: break
        case .objectID(let id): withUnsafeBytes(of: id.bytes) { output.append(contentsOf: $0) }
        case .bool(let bool): output.append(bool ? 1 : 0)
        case .datetime(let millis): appendInt64(millis, to: &output)
        case .regex(let regex):
            try appendCString(regex.pattern, "regex pattern", to: &output)
            try appendCString(regex.options, "regex options", to: &output)
        case .dbPointer(let namespace, let id):
            appendString(namespace, to: &output)
            withUnsafeBytes(of: id.bytes) { output.append(contentsOf: $0) }
        case .javascriptWithScope(let code, let scope):
            let start = output.count
            appendInt32(0, to: &output)
            appendString(code, to: &output)
            try write(scope, into: &output)
            patchLength(at: start, in: &output)
        case .int32(let int): appendInt32(int, to: &output)
        case .timestamp(let timestamp): appendInt64(Int64(bitPattern: timestamp.packed), to: &output)
        case .int64(let int): appendInt64(int, to: &output)
        case .decimal128(let decimal):
            appendInt64(Int64(bitPattern: decimal.low), to: &output)
            appendInt64(Int64(bitPattern: decimal.high), to: &output)
        }
    }

    @inline(__always)
    private static func appendInt32(_ value: Int32, to output: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) }
    }

    @inline(__always)
    private static func appendInt64(_ value: Int64, to output: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) }
    }

    private static func appendString(_ string: String, to output: inout [UInt8]) {
        appendInt32(Int32(string.utf8.count + 1), to: &output)
        output.append(contentsOf: string.utf8)
        output.append(0)
    }

    private static func appendCString(_ string: String, _ what: String, to output: inout [UInt8]) throws(BSONError) {
        let start = output.count
        output.append(contentsOf: string.utf8)
        // Scanned where they were copied to: contiguous bytes, not the string's view.
        guard !output[start...].contains(0) else {
            output.removeSubrange(start...)
            throw BSONError(.badValue, "\(what) \"\(string)\" contains a NUL byte")
        }
        output.append(0)
    }

    private static func patchLength(at start: Int, in output: inout [UInt8]) {
        let length = Int32(output.count - start).littleEndian
        withUnsafeBytes(of: length) { bytes in
            for index in 0..<4 { output[start + index] = bytes[index] }
        }
    }
}
