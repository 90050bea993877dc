/// Decodes raw BSON bytes into `BSONDocument`s, validating every length, type byte and UTF-8 string, so corrupt
/// input becomes a `BSONError` naming the byte offset and never a crash. This is the hot path of every tool.
public enum BSONDecoder {
    /// Deeper nesting than this is refused, in BSON and Extended JSON alike (`ExtendedJSONLineCheck`): MongoDB
    /// supports "no more than 100 levels of nesting" ("each object or array adds a level"), below the document
    /// itself; and recursion must stay bounded.
    public static let maximumNesting = 100
    /// Levels counted with the document itself (depth 0): `maximumNesting` + 1.
    public static let maximumDepth = maximumNesting + 1
    /// The one wording of the depth refusal, for both input forms.
    static let tooDeepMessage = "document nests deeper than \(maximumNesting) levels (MongoDB's limit)"

    /// `wrapperLevels` allows that many more levels for a document that wraps user documents: an oplog entry holds
    /// one in `o` (and `applyOps` in `o.applyOps[i].o`), which may itself nest `maximumNesting` deep.
    public static func decode(_ bytes: [UInt8], wrapperLevels: Int = 0) throws(BSONError) -> BSONDocument {
        let result: Result<BSONDocument, BSONError> = bytes.withUnsafeBytes { raw in
            Result { () throws(BSONError) in try decode(raw, wrapperLevels: wrapperLevels) }
        }
        return try result.get()
    }

    /// Decodes one document that must fill `buffer` exactly.
    public static func decode(_ buffer: UnsafeRawBufferPointer, wrapperLevels: Int = 0) throws(BSONError)
        -> BSONDocument
    {
        var cursor = Cursor(buffer: buffer)
        let document = try cursor.readDocument(depth: -max(0, wrapperLevels))
        guard cursor.position == buffer.count else {
            throw BSONError(
                .badLength, "document length \(cursor.position) is shorter than the \(buffer.count) bytes given",
                offset: 0)
        }
        return document
    }

    /// The length a document's first four bytes announce, or nil when fewer than four bytes are there.
    @inline(__always)
    public static func declaredLength(_ buffer: UnsafeRawBufferPointer, at offset: Int = 0) -> Int? {
        guard buffer.count - offset >= 4 else { return nil }
        return Int(Int32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
    }

    private struct Cursor {
        let buffer: UnsafeRawBufferPointer
        var position = 0

        init(buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

        @inline(__always)
        mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws(BSONError) {
            guard count >= 0, buffer.count - position >= count else {
                throw BSONError(.truncated, "\(what()) runs past the end of the input", offset: position)
            }
        }

        @inline(__always)
        mutating func readInt32(_ what: String) throws(BSONError) -> Int32 {
            try need(4, what)
            defer { position += 4 }
            return Int32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: Int32.self))
        }

        @inline(__always)
        mutating func readInt64(_ what: String) throws(BSONError) -> Int64 {
            try need(8, what)
            defer { position += 8 }
            return Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: Int64.self))
        }

        @inline(__always)
        mutating func readByte(_ what: String) throws(BSONError) -> UInt8 {
            try need(1, what)
            defer { position += 1 }
            return buffer[position]
        }

        mutating func readObjectID() throws(BSONError) -> ObjectID {
            try need(12, "ObjectId")
            defer { position += 12 }
            var id = ObjectID(bytes: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
            withUnsafeMutableBytes(of: &id.bytes) {
                $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[position..<position + 12]))
            }
            return id
        }

        func text(_ start: Int, _ count: Int, _ what: @autoclosure () -> String) throws(BSONError) -> String {
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<start + count])
            // ASCII needs no validation and is by far the common case: check eight bytes at a time.
            var index = 0
            var high: UInt64 = 0
            while index + 8 <= count {
                high |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < count {
                high |= UInt64(bytes[index])
                index += 1
            }
            if high & 0x8080_8080_8080_8080 == 0 { return String(decoding: bytes, as: UTF8.self) }
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw BSONError(.badUTF8, "\(what()) is not valid UTF-8", offset: start)
            }
            return string
        }

        /// A NUL-terminated key or regex part.
        mutating func readCString(_ what: String) throws(BSONError) -> String {
            let start = position
            var end = position
            while end < buffer.count, buffer[end] != 0 { end += 1 }
            guard end < buffer.count else {
                throw BSONError(.truncated, "\(what) has no terminating NUL", offset: start)
            }
            position = end + 1
            return try text(start, end - start, what)
        }

        /// A length-prefixed string: int32 length counting the trailing NUL, the bytes, then NUL.
        mutating func readString(_ what: @autoclosure () -> String) throws(BSONError) -> String {
            let start = position
            let length = Int(try readInt32(what()))
            guard length >= 1 else { throw BSONError(.badLength, "\(what()) has length \(length)", offset: start) }
            try need(length, what())
            guard buffer[position + length - 1] == 0 else {
                throw BSONError(.badLength, "\(what()) does not end with NUL", offset: start)
            }
            defer { position += length }
            return try text(position, length - 1, what())
        }

        /// The bounds of an embedded document starting here, checked against its parent.
        mutating func documentBounds(_ what: String) throws(BSONError) -> Int {
            let start = position
            let length = Int(try readInt32(what))
            position = start
            guard length >= 5 else { throw BSONError(.badLength, "\(what) has length \(length)", offset: start) }
            guard buffer.count - start >= length else {
                throw BSONError(.truncated, "\(what) of \(length) bytes runs past the end of its parent", offset: start)
            }
            guard buffer[start + length - 1] == 0 else {
                throw BSONError(.badLength, "\(what) does not end with NUL", offset: start)
            }
            return start + length
        }

        mutating func readDocument(depth: Int) throws(BSONError) -> BSONDocument {
            guard depth < BSONDecoder.maximumDepth else {
                throw BSONError(.tooDeep, BSONDecoder.tooDeepMessage, offset: position)
            }
            let end = try documentBounds(depth <= 0 && position == 0 ? "document" : "embedded document")
            position += 4
            var document = BSONDocument()
            while position < end - 1 {
                let type = buffer[position]
                position += 1
                let key = try readCString("key")
                guard position <= end - 1 else {
                    throw BSONError(.truncated, "key \"\(key)\" runs past its document", offset: position)
                }
                document.append(key, try readValue(type: type, key: key, depth: depth, end: end))
            }
            guard position == end - 1 else {
                throw BSONError(.badLength, "an element runs past the end of its document", offset: position)
            }
            position = end
            return document
        }

        mutating func readArray(depth: Int) throws(BSONError) -> [BSONValue] {
            guard depth < BSONDecoder.maximumDepth else {
                throw BSONError(.tooDeep, BSONDecoder.tooDeepMessage, offset: position)
            }
            let end = try documentBounds("array")
            position += 4
            var values: [BSONValue] = []
            while position < end - 1 {
                let type = buffer[position]
                position += 1
                // Array keys are "0", "1", ...: skipped, not trusted, the position is the index.
                while position < end, buffer[position] != 0 { position += 1 }
                guard position < end - 1 else {
                    throw BSONError(.truncated, "array element runs past its array", offset: position)
                }
                position += 1
                values.append(try readValue(type: type, key: String(values.count), depth: depth, end: end))
            }
            guard position == end - 1 else {
                throw BSONError(.badLength, "an array element runs past the end of its array", offset: position)
            }
            position = end
            return values
        }

        mutating func readValue(type: UInt8, key: @autoclosure () -> String, depth: Int, end: Int) throws(BSONError)
            -> BSONValue
        {
            let value: BSONValue
            switch type {
            case 0x01: value = .double(Double(bitPattern: UInt64(bitPattern: try readInt64("double"))))
            case 0x02: value = .string(try readString("string \"\(key())\""))
            case 0x03: value = .document(try readDocument(depth: depth + 1))
            case 0x04: value = .array(try readArray(depth: depth + 1))
            case 0x05: value = .binary(try readBinary())
            case 0x06: value = .undefined
            case 0x07: value = .objectID(try readObjectID())
            case 0x08:
                let byte = try readByte("bool")
                guard byte <= 1 else {
                    throw BSONError(.badValue, "bool \"\(key())\" holds \(byte)", offset: position - 1)
                }
                value = .bool(byte == 1)
            case 0x09: value = .datetime(try readInt64("date"))
            case 0x0A: value = .null
            case 0x0B:
                value = .regex(BSONRegex(pattern: try readCString("regex"), options: try readCString("regex options")))
            case 0x0C: value = .dbPointer(namespace: try readString("DBPointer"), id: try readObjectID())
            case 0x0D: value = .javascript(try readString("javascript"))
            case 0x0E: value = .symbol(try readString("symbol"))
            case 0x0F: value = try readCodeWithScope(depth: depth)
            case 0x10: value = .int32(try readInt32("int32"))
            case 0x11:
                let packed = UInt64(bitPattern: try readInt64("timestamp"))
                value = .timestamp(BSONTimestamp(packed: packed))
            case 0x12: value = .int64(try readInt64("int64"))
            case 0x13:
                let low = UInt64(bitPattern: try readInt64("decimal128"))
                let high = UInt64(bitPattern: try readInt64("decimal128"))
                value = .decimal128(Decimal128(low: low, high: high))
            case 0xFF: value = .minKey
            case 0x7F: value = .maxKey
            default:
                throw BSONError(
                    .badType, "unknown type byte 0x\(String(type, radix: 16)) for key \"\(key())\"", offset: position)
            }
            guard position <= end - 1 else {
                throw BSONError(.badLength, "value of \"\(key())\" runs past the end of its document", offset: position)
            }
            return value
        }

        mutating func readBinary() throws(BSONError) -> BSONBinary {
            let start = position
            let length = Int(try readInt32("binary"))
            guard length >= 0 else { throw BSONError(.badLength, "binary has length \(length)", offset: start) }
            let subtype = try readByte("binary subtype")
            try need(length, "binary")
            var dataStart = position, dataLength = length
            if subtype == 2 {  // the deprecated subtype repeats the length inside the payload
                guard length >= 4 else {
                    throw BSONError(.badLength, "binary subtype 2 is shorter than its inner length", offset: start)
                }
                let inner = Int(Int32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: Int32.self)))
                guard inner == length - 4 else {
                    throw BSONError(
                        .badLength, "binary subtype 2 inner length \(inner) disagrees with \(length - 4)", offset: start
                    )
                }
                dataStart += 4
                dataLength -= 4
            }
            position += length
            return BSONBinary(subtype: subtype, data: Array(buffer[dataStart..<dataStart + dataLength]))
        }

        mutating func readCodeWithScope(depth: Int) throws(BSONError) -> BSONValue {
            let start = position
            let total = Int(try readInt32("code with scope"))
            guard total >= 14, buffer.count - start >= total else {
                throw BSONError(.badLength, "code with scope has length \(total)", offset: start)
            }
            let code = try readString("code with scope")
            let scope = try readDocument(depth: depth + 1)
            guard position == start + total else {
                throw BSONError(.badLength, "code with scope length \(total) disagrees with its parts", offset: start)
            }
            return .javascriptWithScope(code: code, scope: scope)
        }
    }
}
