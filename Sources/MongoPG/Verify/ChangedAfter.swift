/// What MongoDB changed after a position, as verification needs to know it: a document that differs and was changed
/// since is pending, not divergent. Documents by `_id`, and whole collections: one dropped or renamed away, or in a
/// dropped database, lost every document at once, which the replay meets later (and which a repair must not
/// anticipate: a rename stops the run, and the tables must hold what came before it).
public struct ChangedAfter: Sendable, Equatable {
    public var documents: Set<DocumentKey> = []
    public var collections: Set<Namespace> = []
    public var databases: Set<String> = []

    public init() {}

    public func contains(_ key: DocumentKey) -> Bool {
        documents.contains(key) || collections.contains(key.namespace) || databases.contains(key.namespace.database)
    }

    public mutating func formUnion(_ other: ChangedAfter) {
        documents.formUnion(other.documents)
        collections.formUnion(other.collections)
        databases.formUnion(other.databases)
    }

    /// Records an oplog command entry (`ns` `<db>.$cmd`) that changes collections wholesale: `drop`, `dropDatabase`,
    /// and both sides of a `renameCollection` (its source loses every document; its target, with `dropTarget`, gets
    /// another collection's). Other commands change no document.
    mutating func addCommand(database: String, _ command: BSONDocument) {
        if case .string(let collection)? = command["drop"] {
            collections.insert(Namespace(database: database, collection: collection))
        } else if command["dropDatabase"] != nil {
            databases.insert(database)
        } else if case .string(let from)? = command["renameCollection"] {
            for case .string(let name)? in [BSONValue.string(from), command["to"]] {
                if let namespace = Namespace(name) { collections.insert(namespace) }
            }
        }
    }
}
