/// One batch's changes folded per document, in oplog order: what each touched document becomes. A document whose
/// first change in the batch is an update needs its current state, rebuilt from PostgreSQL for the whole batch at
/// once; an insert, a replacement or a delete sets the state outright. Pure: the stored states come in from outside.
public struct ChangeSet: Sendable {
    /// A document named by its collection and its `_id`.
    public typealias DocumentKey = MongoPG.DocumentKey

    /// The key of a document, refused as a malformed entry when its `_id` cannot be encoded.
    static func key(_ namespace: Namespace, _ id: BSONValue) throws(OplogError) -> DocumentKey {
        do {
            return try DocumentKey(namespace, id)
        } catch {
            throw OplogError(.malformed, "an _id that cannot be encoded: \(error)", namespace: namespace.description)
        }
    }

    /// Where a document's changes in this batch start from.
    enum Start: Sendable {
        /// As PostgreSQL holds it now.
        case stored
        /// Set by the batch itself: a document, or none (deleted, or its collection dropped).
        case known(BSONDocument?)
    }

    struct Pending: Sendable {
        var id: BSONValue
        var start: Start
        /// Each with the ts of its entry, which an update that cannot apply is reported at.
        var updates: [(update: DocumentUpdate, ts: BSONTimestamp?)] = []
    }

    private(set) var pending: [DocumentKey: Pending] = [:]
    /// Documents in the order the batch first touched them.
    private(set) var order: [DocumentKey] = []
    /// Collections dropped in this batch, in order: their tables are emptied before the batch's documents are written.
    public private(set) var emptied: [Namespace] = []

    public init() {}

    /// Adds one change, from the entry at `ts` (nil in tests).
    public mutating func add(_ change: OplogChange, at ts: BSONTimestamp? = nil) throws(OplogError) {
        switch change {
        case .dropCollection(let namespace):
            if !emptied.contains(namespace) { emptied.append(namespace) }
            for key in order where key.namespace == namespace {
                pending[key] = Pending(id: pending[key]!.id, start: .known(nil))
            }
        case .insert(let namespace, let document):
            try set(namespace, id: document["_id"] ?? .null, to: document)
        case .delete(let namespace, let id):
            try set(namespace, id: id, to: nil)
        case .update(let namespace, let id, .replacement(var document)):
            // The replacement may omit or reorder _id; the key in o2 is the document's.
            if document["_id"] == nil {
                document = BSONDocument([("_id", id)] + document.elements.map { ($0.key, $0.value) })
            }
            try set(namespace, id: id, to: document)
        case .update(let namespace, let id, let update):
            let key = try Self.key(namespace, id)
            if pending[key] == nil {
                order.append(key)
                pending[key] = Pending(id: id, start: start(for: namespace))
            }
            pending[key]!.updates.append((update, ts))
        }
    }

    private mutating func set(_ namespace: Namespace, id: BSONValue, to document: BSONDocument?) throws(OplogError) {
        let key = try Self.key(namespace, id)
        if pending[key] == nil { order.append(key) }
        pending[key] = Pending(id: id, start: .known(document))
    }

    /// A document first met in this batch starts as stored, unless its collection was emptied earlier in the batch.
    private func start(for namespace: Namespace) -> Start { emptied.contains(namespace) ? .known(nil) : .stored }

    /// The `_id`s whose current state must be read from PostgreSQL, per collection, in the order first touched.
    public var idsNeedingStoredState: [Namespace: [BSONValue]] {
        ids { if case .stored = $0.start { true } else { false } }
    }

    /// The `_id`s of the documents whose outcome needs no stored state (inserted, replaced or deleted first), per
    /// collection.
    public var idsWithKnownStart: [Namespace: [BSONValue]] {
        ids { if case .known = $0.start { true } else { false } }
    }

    /// The `_id`s of every document the batch touches (each has an outcome), per collection, in the order first touched.
    public var touchedIDs: [Namespace: [BSONValue]] { ids { _ in true } }

    private func ids(where included: (Pending) -> Bool) -> [Namespace: [BSONValue]] {
        var ids: [Namespace: [BSONValue]] = [:]
        for key in order {
            guard let document = pending[key], included(document) else { continue }
            ids[key.namespace, default: []].append(document.id)
        }
        return ids
    }

    /// Applies every document's updates, in order, to its starting state; `stored` answers the state PostgreSQL
    /// holds for the documents `idsNeedingStoredState` named (nil: no such document).
    public func outcomes(stored: (Namespace, BSONValue) -> BSONDocument?) throws(OplogError) -> [DocumentOutcome] {
        var outcomes: [DocumentOutcome] = []
        outcomes.reserveCapacity(order.count)
        for key in order {
            let document = pending[key]!
            var current: BSONDocument?
            switch document.start {
            case .stored: current = stored(key.namespace, document.id)
            case .known(let known): current = known
            }
            var exact = true
            for (update, ts) in document.updates {
                guard let base = current else {
                    exact = false  // an update of a document that is not there: MongoDB skips it on replay too
                    continue
                }
                let applied: (document: BSONDocument, exact: Bool)
                do {
                    applied = try update.apply(to: base)
                } catch {
                    throw ts.map { error.at($0, namespace: key.namespace.description, op: "u") } ?? error
                }
                current = applied.document
                exact = exact && applied.exact
            }
            outcomes.append(DocumentOutcome(namespace: key.namespace, id: document.id, document: current, exact: exact))
        }
        return outcomes
    }
}
