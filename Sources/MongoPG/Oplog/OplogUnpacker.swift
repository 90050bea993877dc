/// Turns oplog entries, in oplog order, into the changes they make to synced collections (reference:
/// mongodb-oplog.md §2, §9): unwinds `applyOps` (batched writes, transactions, `partialTxn` chains, prepared
/// transactions with their commit or abort), sets aside what is not a synced user's write (counted by kind), and
/// refuses what it does not know. Pure: no I/O; a transaction's parts wait here until it commits, and those still
/// open can be carried to the next run (`open`, `carry`).
///
/// Never half a transaction: an entry whose `prevOpTime` names an earlier entry of its transaction that was not read
/// (before the replay's start, and carried from no earlier run) is refused (`transactionPartMissing`), unless it ends
/// its transaction at exactly the replay's start: that entry is the one at the sync point (or the load's position),
/// whose transaction the tables already hold.
public struct OplogUnpacker: Sendable {
    /// The namespaces whose tables replay writes into.
    public let synced: Set<Namespace>
    /// Where the replay began reading (nil: a file, read from its first entry).
    public let readsFrom: BSONTimestamp?
    /// Transactions not committed yet (`partialTxn` chains and prepared transactions), by session and number.
    private var openTransactions: [TransactionKey: OpenTransaction] = [:]
    /// Counts every change of `open`, so a batch writes them to the state schema only when they changed.
    public private(set) var openRevision = 0

    public init(synced: Set<Namespace>, readsFrom: BSONTimestamp? = nil) {
        self.synced = synced
        self.readsFrom = readsFrom
    }

    /// What one entry gives.
    public struct Unpacked: Sendable, Equatable {
        public var changes: [OplogChange] = []
        public var skips: [OplogSkip: Int] = [:]
    }

    /// The ts of the oldest entry of a transaction still open: a sync point must not move past it, or a restart
    /// would never see that transaction's first parts again.
    public var oldestOpenTransaction: BSONTimestamp? { openTransactions.values.map(\.firstTS).min() }

    /// The transactions still open, oldest first.
    public var open: [OpenTransaction] {
        openTransactions.values.sorted { ($0.firstTS, $0.name) < ($1.firstTS, $1.name) }
    }

    /// Takes transactions as open: carried from an earlier run, or read back from the oplog. An entry of one read
    /// again (at or before its last entry taken) adds nothing.
    public mutating func carry(_ transactions: [OpenTransaction]) throws(OplogError) {
        for transaction in transactions {
            openTransactions[try Self.key(transaction.session, transaction.number)] = transaction
        }
        if !transactions.isEmpty { openRevision += 1 }
    }

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

    private static func key(_ session: BSONValue, _ number: Int64) throws(OplogError) -> TransactionKey {
        guard let bytes = try? BSONEncoder.encode(["id": session]) else {
            throw OplogError(.malformed, "a transaction entry whose lsid cannot be encoded")
        }
        return TransactionKey(session: bytes, number: number)
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
            guard let open = openTransactions[key] else {
                if entry.ts == readsFrom {
                    unpacked.skips[.alreadyInTables, default: 0] += 1
                    return
                }
                throw Self.missingPart(
                    of: entry, "commitTransaction",
                    earlier: "its prepare entry\(entry.previousPart.map { " at \($0)" } ?? "")")
            }
            try requireFollows(entry, open)
            try apply(open, key: key, into: &unpacked)
        case "abortTransaction":
            let key = try transactionKey(entry)
            let aborted = openTransactions.removeValue(forKey: key)?.operations.count ?? 0
            if aborted > 0 { openRevision += 1 }
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
        guard let session = entry.sessionID, let number = entry.transactionNumber else {
            throw OplogError(.malformed, "a transaction entry without lsid and txnNumber")
        }
        return try Self.key(session, number)
    }

    /// The refusal of `entry`, of a transaction whose `earlier` entry was not read.
    private static func missingPart(of entry: OplogEntry, _ what: String, earlier: String) -> OplogError {
        let name = OpenTransaction.name(session: entry.sessionID ?? .null, number: entry.transactionNumber ?? 0)
        var error = OplogError(
            .transactionPartMissing,
            "\(what) of transaction \(name): \(earlier) was not read (it lies before the replay's start, and no "
                + "earlier run carried it): refused rather than applying part of the transaction")
        error.missingPart = entry.previousPart
        return error
    }

    /// `entry` continues `open`: its `prevOpTime`, when it has one, names `open`'s last entry read.
    private func requireFollows(_ entry: OplogEntry, _ open: OpenTransaction) throws(OplogError) {
        guard let previous = entry.previousPart, previous != open.lastTS else { return }
        throw Self.missingPart(
            of: entry, entry.object.elements.first?.key ?? "an entry",
            earlier:
                "its entry at \(previous) (after \(open.parts) entries read from \(open.firstTS) to \(open.lastTS))")
    }

    /// Unwinds a transaction that ended: it stays open unless every operation of it unwinds, so a refused operation
    /// leaves the sync point before its first entry.
    private mutating func apply(_ transaction: OpenTransaction, key: TransactionKey, into unpacked: inout Unpacked)
        throws(OplogError)
    {
        var applied = Unpacked()
        for operation in transaction.operations {
            try unpack(try OplogEntry(operation, inheritedTS: transaction.lastTS), into: &applied)
        }
        if openTransactions.removeValue(forKey: key) != nil { openRevision += 1 }
        unpacked.changes += applied.changes
        unpacked.skips.merge(applied.skips, uniquingKeysWith: +)
    }

    /// `applyOps` (§2.2): a transaction when it carries `lsid` and `txnNumber` and is not a vectored insert
    /// (`multiOpType: 1`); its parts wait while `partialTxn` or `prepare` says more is to come. Anything else (a
    /// batched write, a vectored insert, a user's applyOps) applies at once.
    private mutating func applyOps(_ entry: OplogEntry, into unpacked: inout Unpacked) throws(OplogError) {
        guard case .array(let inner)? = entry.object["applyOps"] else {
            throw OplogError(.malformed, "applyOps without an array of operations")
        }
        var operations: [BSONDocument] = []
        for case let value in inner {
            guard case .document(let document) = value else {
                throw OplogError(.malformed, "applyOps holds an operation that is not a document")
            }
            _ = try OplogEntry(document, inheritedTS: entry.ts)  // malformed operations stop the run at their entry
            operations.append(document)
        }
        let isTransaction = entry.sessionID != nil && entry.transactionNumber != nil && entry.multiOpType != 1
        guard isTransaction else {
            for operation in operations {
                try unpack(try OplogEntry(operation, inheritedTS: entry.ts), into: &unpacked)
            }
            return
        }
        let key = try transactionKey(entry)
        let prepare = entry.object["prepare"] == .bool(true)
        let more = entry.object["partialTxn"] == .bool(true) || prepare
        var open: OpenTransaction
        if let held = openTransactions[key] {
            if entry.ts <= held.lastTS { return }  // read again (from a sync point held back to it): held already
            try requireFollows(entry, held)
            open = held
            open.lastTS = entry.ts
            open.parts += 1
            open.operations += operations
        } else if entry.previousPart != nil {
            if !more, entry.ts == readsFrom {
                unpacked.skips[.alreadyInTables, default: 0] += 1
                return
            }
            throw Self.missingPart(
                of: entry, "applyOps", earlier: "its entry at \(entry.previousPart.map { "\($0)" } ?? "")")
        } else {
            open = OpenTransaction(
                session: entry.sessionID ?? .null, number: entry.transactionNumber ?? 0, firstTS: entry.ts,
                lastTS: entry.ts, operations: operations)
        }
        open.prepared = prepare
        guard more else { return try apply(open, key: key, into: &unpacked) }
        openTransactions[key] = open  // waits for its last part, or for commitTransaction
        openRevision += 1
    }
}
