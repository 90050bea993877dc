/// What one document becomes: written by a replay batch (`ChangeSet.outcomes`) or by a repair (MongoDB's version).
public struct DocumentOutcome: Sendable, Equatable {
    public var namespace: Namespace
    public var id: BSONValue
    /// nil: no such document any more (deleted, dropped, or an update of a document that does not exist).
    public var document: BSONDocument?
    /// false when an update could not apply to the document as it was (see `DocumentUpdate.apply`), or found no
    /// document to apply to: MongoDB must be asked what the document really is.
    public var exact: Bool

    public init(namespace: Namespace, id: BSONValue, document: BSONDocument?, exact: Bool) {
        self.namespace = namespace
        self.id = id
        self.document = document
        self.exact = exact
    }
}
