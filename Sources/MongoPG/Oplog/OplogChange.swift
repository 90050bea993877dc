/// What an oplog entry asks of the tables of synced collections, once transactions are unwound and everything that
/// is not a synced user's write is set aside.
public enum OplogChange: Sendable, Equatable {
    case insert(Namespace, BSONDocument)
    case update(Namespace, id: BSONValue, DocumentUpdate)
    case delete(Namespace, id: BSONValue)
    /// `drop` of the collection: its tables are emptied (tables and catalog stay, so a re-created collection syncs
    /// on).
    case dropCollection(Namespace)

    public var namespace: Namespace {
        switch self {
        case .insert(let namespace, _), .update(let namespace, _, _), .delete(let namespace, _),
            .dropCollection(let namespace):
            namespace
        }
    }
}

/// Why an entry was set aside: counted by kind in every run's summary and ledger, never silent.
public enum OplogSkip: String, Sendable, CaseIterable, Codable, CodingKeyRepresentable {
    /// `op: "n"`: heartbeats, notes, retryable-write images.
    case noop = "noop"
    /// A chunk migration's copy or clean-up (`fromMigrate`), at the top level or inside `applyOps`.
    case fromMigrate = "from_migrate"
    /// A write to a namespace that is not configured.
    case notSynced = "not_synced"
    /// The `config`, `local` and `admin` databases and `system.*` collections.
    case internalNamespace = "internal_namespace"
    /// Commands that change no document: create, index builds, collMod, ...
    case command = "command"
    /// The operations of a transaction that was aborted.
    case abortedTransaction = "aborted_transaction"
    /// Changes a collection's tables hold already: entries of a collection before its own start (`ReplayStarts`), and
    /// the end of a transaction at exactly the replay's start (the entry at the sync point, applied before).
    case alreadyInTables = "already_in_tables"
    /// Entries of transactions still open when the run ended: not applied, carried to the next run in the state
    /// schema (`open_transactions`).
    case transactionLeftOpen = "transaction_left_open"
}
