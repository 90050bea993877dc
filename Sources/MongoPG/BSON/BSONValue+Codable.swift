extension BSONValue: Codable {
    /// Encoded as canonical Extended JSON text of `{"v": value}`, so every type survives a manifest or state row.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(try BSONDocument([("v", self)]).extendedJSON(.canonical))
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = try BSONDocument(extendedJSON: text)["v"] else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "no value in \(text)"))
        }
        self = value
    }
}
