/// What libbson's Extended JSON reader takes silently and must not be: it checks one text before libbson reads it.
/// libbson 1.23 wraps integers beyond 64 bits around (`18446744073709551617` reads as 1), reads the first of two
/// documents on one line and drops the second, reads a top-level array as a document with keys "0", "1", ...; and
/// nesting is held to `BSONDecoder.maximumDepth`, the rule BSON input follows, counted the same way: the document
/// itself, each document and array one level, type wrappers (`{"$numberLong": ...}`) none, a `$scope` document one.
///
/// The scan is no validator: text it cannot follow is left to libbson, which refuses malformed JSON itself.
enum ExtendedJSONLineCheck {
    /// A `BSONError` for the first problem in `text`, or nil.
    static func problem(in text: String) -> BSONError? {
        var text = text
        return text.withUTF8 { scan($0) }
    }

    private struct Frame {
        var isArray: Bool
        var key = ""  // the key being read, for objects
        var index = 0  // the element being read, for arrays
        var expectingKey = true
        var sawKey = false
        var counted: Bool  // a BSON level of its own
        var wrapper = false  // an Extended JSON type wrapper, such as {"$oid": ...}
        var insideWrapper: Bool  // below a wrapper (a $binary's inner object), but not in a $scope document
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> BSONError? {
        var index = 0
        func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
            let what = index < bytes.count && bytes[index] == UInt8(ascii: "[") ? "an array" : "a value"
            return BSONError(.extendedJSON, "a line must hold one JSON object (a document), not \(what)")
        }
        var stack: [Frame] = []
        var levels = 0  // BSON levels open, the document itself the first
        func path() -> String {
            stack.filter { !$0.wrapper }.map { $0.isArray ? String($0.index) : $0.key }.joined(separator: ".")
        }
        func tooDeep() -> BSONError { BSONError(.tooDeep, BSONDecoder.tooDeepMessage) }
        func push(isArray: Bool) -> BSONError? {
            let parent = stack.last
            let insideWrapper =
                parent.map { ($0.wrapper || $0.insideWrapper) && !(!$0.isArray && $0.key == "$scope") } ?? false
            // An object's level is settled by its first key (a wrapper takes none); an array's at once.
            stack.append(Frame(isArray: isArray, counted: isArray && !insideWrapper, insideWrapper: insideWrapper))
            if isArray && !insideWrapper {
                levels += 1
                if levels > BSONDecoder.maximumDepth { return tooDeep() }
            }
            return nil
        }
        _ = push(isArray: false)  // the document's `{`
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if stack.isEmpty {  // the document has closed: only white space may follow
                skipSpace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: "{") {
                    return BSONError(.extendedJSON, "two documents on one line: give each its own line")
                }
                return BSONError(.extendedJSON, "text follows the document on its line")
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if let error = push(isArray: byte == UInt8(ascii: "[")) { return error }
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                let frame = stack.removeLast()
                if frame.counted { levels -= 1 }
                if !frame.isArray, !frame.sawKey, !frame.insideWrapper {  // {} is a document too
                    if levels + 1 > BSONDecoder.maximumDepth { return tooDeep() }
                }
                index += 1
            case UInt8(ascii: "\""):
                let start = index + 1
                index = start
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                let end = min(index, bytes.count)
                index += 1
                guard var frame = stack.last, !frame.isArray, frame.expectingKey else { continue }
                frame.key = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                frame.expectingKey = false
                if !frame.sawKey {
                    frame.sawKey = true
                    if ExtendedJSONReading.wrapperKeys.contains(Array(frame.key.utf8)) {
                        frame.wrapper = true
                    } else if !frame.insideWrapper {
                        frame.counted = true
                        levels += 1
                    }
                }
                stack[stack.count - 1] = frame
                if frame.counted, levels > BSONDecoder.maximumDepth { return tooDeep() }
            case UInt8(ascii: ","):
                if stack[stack.count - 1].isArray { stack[stack.count - 1].index += 1 }
                stack[stack.count - 1].expectingKey = true
                index += 1
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                var integral = true
                while index < bytes.count, let character = Optional(bytes[index]),
                    character == UInt8(ascii: "-") || character == UInt8(ascii: "+")
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(character)
                        || [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(character)
                {
                    if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(character), character != UInt8(ascii: "-") {
                        integral = false
                    }
                    index += 1
                }
                let token = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                if integral, token.contains(where: \.isNumber), Int64(token) == nil {
                    return BSONError(
                        .badValue,
                        "integer \(token) at \(path()) does not fit in 64 bits, MongoDB's widest integer "
                            + "(write it as {\"$numberDecimal\": \"\(token)\"} or as a string)")
                }
            default:
                index += 1
            }
        }
        return nil  // unbalanced: libbson says what is wrong
    }
}
