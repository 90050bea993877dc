/// A document named by its collection and its `_id`'s BSON bytes: MongoDB compares `_id`s by value, and the bytes
/// of one value are one, whatever its Swift spelling.
public struct DocumentKey: Hashable, Sendable {
    public let namespace: Namespace
    let idBytes: [UInt8]
    /// Hashed once: a replay looks each key up in several large tables (the batch's changes, the images kept).
    private let hash: Int

    public init(_ namespace: Namespace, _ id: BSONValue) throws(BSONError) {
        self.namespace = namespace
        idBytes = try BSONEncoder.encode(["_id": id])
        var hasher = Hasher()
        hasher.combine(namespace)
        idBytes.withUnsafeBytes { hasher.combine(bytes: $0) }  // one block: an array feeds its bytes one at a time
        hash = hasher.finalize()
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    public static func == (left: DocumentKey, right: DocumentKey) -> Bool {
        left.hash == right.hash && left.idBytes == right.idBytes && left.namespace == right.namespace
    }
}
