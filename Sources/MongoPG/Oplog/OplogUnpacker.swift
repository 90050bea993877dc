/// Turns oplog entries, in oplog order, into the changes they make to synced collections (reference:
/// mongodb-oplog.md §2, §9): unwinds `applyOps` (batched writes, transactions, `partialTxn` chains, prepared
/// transactions with their commit or abort), sets aside what is not a synced user's write (counted by kind), and
/// refuses what it does not know. Pure: no I/O; a transaction's parts wait here until it commits.
public struct OplogUnpacker: Sendable {
    /// The namespaces whose tables replay writes into.
    public let synced: Set<Namespace>
    /// Operations of transactions not committed yet (`partialTxn` chains and prepared transactions), by session and
    /// transaction number, with the ts of their first entry.
    private var openTransactions: [TransactionKey: (firstTS: BSONTimestamp, operations: [OplogEntry])] = [:]

    public init(synced: Set<Namespace>) { self.synced = synced }

    /// What one entry gives.
    public struct Unpacked: Sendable, Equatable {
        public var changes: [OplogChange] = []
        public var skips: [OplogSkip: Int] = [:]
    }

    /// The ts of the oldest entry of a transaction still open: a sync point must not move past it, or a restart
    /// would never see that transaction's first parts again.
    public var oldestOpenTransaction: BSONTimestamp? { openTransactions.values.map(\.firstTS).min() }

    /// The entry's changes. Throws, naming the entry, for an entry of an unknown form or a rename of a synced
    /// collection: the run stops before that entry.
    public mutating func unpack(_ entry: OplogEntry) throws(OplogError) -> Unpacked {
        var unpacked = Unpacked()
        do {
            try unpack(entry, into: &unpacked)
        } catch {
            throw error.at(entry.ts, namespace: entry.namespace, op: entry.op)
        }
        return unpacked
    }

    private struct TransactionKey: Hashable, Sendable {
        var session: [UInt8]
        var number: Int64
    }

    private static func isInternal(_ namespace: Namespace) -> Bool {
        ["config", "local", "admin"].contains(namespace.database) || namespace.collection.hasPrefix("system.")
    }

    private mutating func unpack(_ entry: OplogEntry, into unpacked: inout Unpacked) throws(OplogError) {
        if entry.fromMigrate {
            unpacked.skips[.fromMigrate, default: 0] += 1
            return
        }
        switch entry.op {
        case "n":
            unpacked.skips[.noop, default: 0] += 1
        case "i", "u", "d":
            guard let namespace = Namespace(entry.namespace) else {
                throw OplogError(.malformed, "a write to a namespace that is not DB.COLL")
            }
            if Self.isInternal(namespace) {
                unpacked.skips[.internalNamespace, default: 0] += 1
            } else if !synced.contains(namespace) {
                unpacked.skips[.notSynced, default: 0] += 1
            } else {
                unpacked.changes.append(try Self.write(entry, namespace))
            }
        case "c":
            try command(entry, into: &unpacked)
        default:
            throw OplogError(.unknownForm, "op \(entry.op) is not a known operation")
        }
    }

    private static func write(_ entry: OplogEntry, _ namespace: Namespace) throws(OplogError) -> OplogChange {
        switch entry.op {
        case "i":
            guard entry.object["_id"] != nil else { throw OplogError(.malformed, "an insert without an _id") }
            return .insert(namespace, entry.object)
        case "u":
            guard let id = entry.object2?["_id"] else { throw OplogError(.malformed, "an update without o2._id") }
            let update = try DocumentUpdate(entry.object)
            // A replacement keeps its document's _id (immutable in MongoDB): another one is no entry a server writes.
            if case .replacement(let document) = update, document["_id"] != id {
                throw OplogError(.malformed, "a replacement whose _id differs from the o2._id it updates")
            }
            return .update(namespace, id: id, update)
        default:
            guard let id = entry.object["_id"] else { throw OplogError(.malformed, "a delete without an _id") }
            return .delete(namespace, id: id)
        }
    }

    /// Commands that change no document.
    private static let documentNeutralCommands: Set<String> = [
        "create", "createIndexes", "dropIndexes", "deleteIndex", "deleteIndexes", "dropIndex", "collMod",
        "startIndexBuild", "commitIndexBuild", "abortIndexBuild", "dbCheck",
    ]

    private mutating func command(_ entry: OplogEntry, into unpacked: inout Unpacked) throws(OplogError) {
        guard let name = entry.object.elements.first?.key else { throw OplogError(.malformed, "an empty command") }
        let database = entry.namespace.split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
        switch name {
        case "applyOps":
            try applyOps(entry, into: &unpacked)
        case "commitTransaction":
            let key = try transactionKey(entry)
            guard let open = openTransactions.removeValue(forKey: key) else {
                throw OplogError(
                    .malformed,
                    "commitTransaction of a prepared transaction whose operations were not read: its prepare entry "
                        + "lies before the replay's start")
            }
            for operation in open.operations { try unpack(operation, into: &unpacked) }
        case "abortTransaction":
            let key = try transactionKey(entry)
            let aborted = openTransactions.removeValue(forKey: key)?.operations.count ?? 0
            unpacked.skips[.abortedTransaction, default: 0] += max(1, aborted)
        case "drop":
            guard case .string(let collection)? = entry.object["drop"] else {
                throw OplogError(.malformed, "drop without a collection name")
            }
            let namespace = Namespace(database: database, collection: collection)
            if synced.contains(namespace) {
                unpacked.changes.append(.dropCollection(namespace))
            } else {
                unpacked.skips[.notSynced, default: 0] += 1
            }
        case "dropDatabase":
            let dropped = synced.filter { $0.database == database }.sorted { $0.description < $1.description }
            unpacked.changes += dropped.map { .dropCollection($0) }
            if dropped.isEmpty { unpacked.skips[.notSynced, default: 0] += 1 }
        case "renameCollection":
            guard case .string(let from)? = entry.object["renameCollection"], case .string(let to)? = entry.object["to"]
            else { throw OplogError(.malformed, "renameCollection without its from and to namespaces") }
            let touched = [from, to].compactMap { Namespace($0) }.filter { synced.contains($0) }
            guard touched.isEmpty else {
                throw OplogError(
                    .renameOfSyncedCollection,
                    "renameCollection \(from) to \(to) touches a synced collection: the tables cannot follow a "
                        + "rename; configure the new name and load it, then oplog-sync --resync moves the sync points past the "
                        + "rename")
            }
            unpacked.skips[.notSynced, default: 0] += 1
        case _ where Self.documentNeutralCommands.contains(name):
            unpacked.skips[.command, default: 0] += 1
        default:
            throw OplogError(.unknownForm, "command \(name) is not a known command")
        }
    }

    private func transactionKey(_ entry: OplogEntry) throws(OplogError) -> TransactionKey {
        guard let session = entry.sessionID, let number = entry.transactionNumber,
            let bytes = try? BSONEncoder.encode(["id": session])
        else { throw OplogError(.malformed, "a transaction entry without lsid and txnNumber") }
        return TransactionKey(session: bytes, number: number)
    }

    /// `applyOps` (§2.2): a transaction when it carries `lsid` and `txnNumber` and is not a vectored insert
    /// (`multiOpType: 1`); its parts wait while `partialTxn` or `prepare` says more is to come. Anything else (a
    /// batched write, a vectored insert, a user's applyOps) applies at once.
    private mutating func applyOps(_ entry: OplogEntry, into unpacked: inout Unpacked) throws(OplogError) {
        guard case .array(let inner)? = entry.object["applyOps"] else {
            throw OplogError(.malformed, "applyOps without an array of operations")
        }
        var operations: [OplogEntry] = []
        for case let value in inner {
            guard case .document(let document) = value else {
                throw OplogError(.malformed, "applyOps holds an operation that is not a document")
            }
            operations.append(try OplogEntry(document, inheritedTS: entry.ts))
        }
        let isTransaction = entry.sessionID != nil && entry.transactionNumber != nil && entry.multiOpType != 1
        guard isTransaction else {
            for operation in operations { try unpack(operation, into: &unpacked) }
            return
        }
        let key = try transactionKey(entry)
        var open = openTransactions.removeValue(forKey: key) ?? (entry.ts, [])
        open.operations += operations
        if entry.object["partialTxn"] == .bool(true) || entry.object["prepare"] == .bool(true) {
            openTransactions[key] = open  // waits for its last part, or for commitTransaction
            return
        }
        for operation in open.operations { try unpack(operation, into: &unpacked) }
    }
}
