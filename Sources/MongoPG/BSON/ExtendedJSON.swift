import CMongoC

/// Extended JSON v2 in and out, through libbson's own parser and writer.
public enum ExtendedJSONMode: Sendable {
    case canonical, relaxed
}

extension BSONDocument {
    /// Parses one Extended JSON document (canonical or relaxed, as libbson accepts it).
    public init(extendedJSON text: String) throws(BSONError) {
        self = try BSONDecoder.decode(try BSONDocument.bytes(fromExtendedJSON: text))
    }

    /// Raw BSON bytes of one Extended JSON document: one JSON object, alone in `text`, with integers that fit in 64
    /// bits and no deeper than BSON input may nest (`ExtendedJSONLineCheck`).
    public static func bytes(fromExtendedJSON text: String) throws(BSONError) -> [UInt8] {
        if let problem = ExtendedJSONLineCheck.problem(in: text) { throw problem }
        var error = bson_error_t()
        let parsed = text.utf8CString.withUnsafeBufferPointer { chars in
            chars.withMemoryRebound(to: UInt8.self) { bson_new_from_json($0.baseAddress, chars.count - 1, &error) }
        }
        guard let parsed else {
            let reason = message(of: &error)
            if reason.contains("LEVELS_EXCEEDED") {  // libbson's reader stops at 98 levels, a scalar one more
                throw BSONError(
                    .tooDeep,
                    "document nests deeper than libbson's Extended JSON reader reads "
                        + "(\(ExtendedJSONReading.maximumLevels) levels, a value counted as one); give it as BSON "
                        + "(a mongodump file), which reads \(BSONDecoder.maximumDepth) levels")
            }
            throw BSONError(.extendedJSON, "invalid Extended JSON: \(reason)")
        }
        return LibBSONDocument(taking: parsed).bytes
    }

    /// The document as Extended JSON v2 text.
    public func extendedJSON(_ mode: ExtendedJSONMode) throws(BSONError) -> String {
        try BSONDocument.extendedJSON(bytes: try BSONEncoder.encode(self), mode)
    }

    /// Raw BSON bytes as Extended JSON v2 text.
    public static func extendedJSON(bytes: [UInt8], _ mode: ExtendedJSONMode) throws(BSONError) -> String {
        let document = try LibBSONDocument(copying: bytes)
        var length = 0
        let text =
            mode == .canonical
            ? bson_as_canonical_extended_json(document.raw, &length)
            : bson_as_relaxed_extended_json(document.raw, &length)
        guard let text else { throw BSONError(.extendedJSON, "libbson could not write the document as Extended JSON") }
        defer { bson_free(text) }
        return String(cString: text)
    }

    /// The relaxed Extended JSON of one value of this document, without the enclosing `{ "key" : ... }`.
    func relaxedExtendedJSONValue(of key: String) -> String {
        guard let text = try? extendedJSON(.relaxed) else { return "<unprintable BSON value>" }
        // libbson writes `{ "v" : VALUE }`.
        let prefix = "{ " + JSONString.quoted(key) + " : "
        guard text.hasPrefix(prefix), text.hasSuffix(" }") else { return text }
        return String(text.dropFirst(prefix.count).dropLast(2))
    }
}
