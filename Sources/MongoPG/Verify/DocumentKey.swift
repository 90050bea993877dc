/// A document named by its collection and its `_id`'s BSON bytes: MongoDB compares `_id`s by value, and the bytes
/// of one value are one, whatever its Swift spelling.
public struct DocumentKey: Hashable, Sendable {
    public var namespace: Namespace
    var idBytes: [UInt8]

    public init(_ namespace: Namespace, _ id: BSONValue) throws(BSONError) {
        self.namespace = namespace
        idBytes = try BSONEncoder.encode(["_id": id])
    }

    // The bytes hashed as one block: an array's own hashing feeds the hasher one byte at a time.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(namespace)
        idBytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public static func == (left: DocumentKey, right: DocumentKey) -> Bool {
        left.idBytes == right.idBytes && left.namespace == right.namespace
    }
}
