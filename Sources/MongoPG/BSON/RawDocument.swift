/// One document's raw BSON bytes as they came from a server or a file: decoded only when someone needs the values.
public struct RawDocument: Sendable, Equatable {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public func decode() throws(BSONError) -> BSONDocument { try BSONDecoder.decode(bytes) }
}
