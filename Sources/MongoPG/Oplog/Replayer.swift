import Logging

/// What one oplog-sync run did, for its summary line, `--json` and the run ledger.
public struct ReplaySummary: Sendable, Codable, Equatable {
    public var source: String
    public var entriesRead = 0
    /// Changes of synced documents the entries held, by kind.
    public var inserts = 0, updates = 0, deletes = 0, drops = 0
    /// Entries set aside, by kind (`OplogSkip`): never silent.
    public var skipped: [String: Int] = [:]
    public var documentsWritten = 0
    public var documentsRemoved = 0
    /// Documents whose update could not apply to the stored state as it was: to verify against MongoDB.
    public var documentsToVerify = 0
    public var batches = 0
    /// Values the schema policy absorbed, as the init load counts them: by kind, then field path.
    public var fields: [String: [String: Int]] = [:]
    public var seconds = 0.0
    /// The sync point after the run; nil when replaying a file, which moves none.
    public var syncPoint: UInt64?

    public init(source: String) { self.source = source }

    public var entriesPerSecond: Double { seconds > 0 ? Double(entriesRead) / seconds : 0 }

    public var line: String {
        let skips = skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(source): \(entriesRead) entries in \(batches) batches, \(String(format: "%.2f", seconds)) s "
            + "(\(Int(entriesPerSecond)) entries/s); \(inserts) inserts, \(updates) updates, \(deletes) deletes, "
            + "\(drops) drops; \(documentsWritten) documents written, \(documentsRemoved) removed"
            + (documentsToVerify > 0 ? ", \(documentsToVerify) to verify" : "")
            + (fields.isEmpty ? "" : "; schema policy: " + absorbed.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            + "; skipped: \(skips.isEmpty ? "none" : skips)"
            + (syncPoint.map { "; sync point \(BSONTimestamp(packed: $0))" } ?? "")
    }

    /// Values the schema policy absorbed, totalled by kind.
    var absorbed: [(key: String, value: Int)] {
        fields.mapValues { $0.values.reduce(0, +) }.sorted { $0.key < $1.key }
    }

    var figures: [String: Double] {
        var figures: [String: Double] = [
            "entries": Double(entriesRead), "inserts": Double(inserts), "updates": Double(updates),
            "deletes": Double(deletes), "drops": Double(drops), "documents_written": Double(documentsWritten),
            "documents_removed": Double(documentsRemoved), "documents_to_verify": Double(documentsToVerify),
            "batches": Double(batches), "seconds": seconds,
        ]
        for (kind, count) in skipped { figures["skipped_\(kind)"] = Double(count) }
        for (kind, count) in absorbed { figures["fields_\(kind)"] = Double(count) }
        return figures
    }
}

/// Replays oplog entries into the tables of synced collections, batch by batch: each batch's entries are unwound
/// (`OplogUnpacker`), folded per document (`ChangeSet`), the documents that need their current state are rebuilt
/// from PostgreSQL in one query per table, the changes applied in memory, and the result written set-based
/// (`BatchWriter`); the batch's data, its sync point and its ledger figures commit in one transaction. A batch never
/// ends between entries sharing one ts (SecantusDB's transactions), and the sync point never passes the first entry of
/// a transaction still open, so a crash anywhere loses nothing and a rerun doubles nothing.
struct Replayer {
    let store: StateStore
    let plans: [Namespace: TablePlan]
    let batchSize: Int
    let logger: Logger
    /// The ledger run whose steps record each batch (in the batch's transaction).
    let run: LedgerRun?
    /// Entries read, on a terminal.
    var progress: Progress? = nil

    private var session: PostgresSession { store.session }

    /// Replays everything `source` gives. `syncPointSource` names the sync point to move with each batch; nil
    /// (a file) moves none. An entry that cannot be replayed stops the run before it: the batch before it commits,
    /// then the error is thrown.
    func replay(_ source: inout some OplogSource, syncPointSource: String?) async throws -> ReplaySummary {
        let clock = ContinuousClock(), started = clock.now
        var summary = ReplaySummary(source: source.name)
        var unpacker = OplogUnpacker(synced: Set(plans.keys))
        var batch = ChangeSet()
        var entriesInBatch = 0
        var lastTS: BSONTimestamp?
        func commit() async throws {
            guard entriesInBatch > 0 else { return }
            // The oldest entry of an open transaction is read again after a restart; so is the last entry read.
            let syncPoint = [unpacker.oldestOpenTransaction, lastTS].compactMap { $0 }.min()
            try await write(batch, syncPoint: syncPointSource.flatMap { name in syncPoint.map { [name: $0] } } ?? [:],
                            entries: entriesInBatch, summary: &summary)
            if syncPointSource != nil, let syncPoint { summary.syncPoint = syncPoint.packed }
            batch = ChangeSet()
            entriesInBatch = 0
        }
        while true {
            let documents = try await source.next(maximum: batchSize)
            if documents.isEmpty { break }
            progress?.add(documents.count)
            for document in documents {
                let entry: OplogEntry
                let unpacked: OplogUnpacker.Unpacked
                do {
                    entry = try OplogEntry(document)
                    if entriesInBatch >= batchSize, entry.ts != lastTS { try await commit() }
                    unpacked = try unpacker.unpack(entry)
                } catch let error as OplogError {
                    try await commit()
                    summary.seconds = (clock.now - started).seconds
                    logger.error("replay stopped before an entry", metadata: [
                        LogKey.oplogTimestamp: "\(error.ts.map { "\($0)" } ?? "-")",
                        LogKey.namespace: "\(error.namespace ?? "-")", "op": "\(error.op ?? "-")",
                    ])
                    throw error
                }
                for change in unpacked.changes {
                    try batch.add(change)
                    switch change {
                    case .insert: summary.inserts += 1
                    case .update: summary.updates += 1
                    case .delete: summary.deletes += 1
                    case .dropCollection: summary.drops += 1
                    }
                }
                for (kind, count) in unpacked.skips { summary.skipped[kind.rawValue, default: 0] += count }
                summary.entriesRead += 1
                entriesInBatch += 1
                lastTS = entry.ts
            }
        }
        try await commit()
        progress?.finish()
        summary.seconds = (clock.now - started).seconds
        return summary
    }

    /// One batch: stored states read, changes applied, rows written, sync point and ledger step, one transaction.
    private func write(
        _ batch: ChangeSet, syncPoint: [String: BSONTimestamp], entries: Int, summary: inout ReplaySummary
    ) async throws {
        let clock = ContinuousClock(), started = clock.now
        var stored: [ChangeSet.DocumentKey: BSONDocument] = [:]
        for (namespace, ids) in batch.idsNeedingStoredState {
            guard let plan = plans[namespace] else { continue }
            var keys: [SQLValue] = []
            keys.reserveCapacity(ids.count)
            for id in ids { keys.append(try plan.keyValue(ofID: id)) }
            let documents = try await StoredDocuments.documents(withIDs: keys, plan: plan, session: session)
            for (id, document) in zip(ids, documents) {
                if let document { stored[try ChangeSet.DocumentKey(namespace, id)] = document }
            }
        }
        let outcomes = try batch.outcomes { namespace, id in
            (try? ChangeSet.DocumentKey(namespace, id)).flatMap { stored[$0] }
        }
        for outcome in outcomes where !outcome.exact {
            logger.info("an update did not apply to the stored document as it was: to verify", metadata: [
                LogKey.namespace: "\(outcome.namespace)", LogKey.documentID: "\(outcome.id)",
            ])
        }
        let purpose = "commit a batch of \(entries) oplog entries"
        try await session.begin(purpose: purpose)
        do {
            let written = try await BatchWriter(session: session, plans: plans)
                .write(emptied: batch.emptied, outcomes: outcomes)
            if !syncPoint.isEmpty { try await store.moveSyncPoints(syncPoint) }
            try await run?.addStep("batch", figures: [
                "entries": Double(entries), "documents_written": Double(written.documentsWritten),
                "documents_removed": Double(written.documentsRemoved), "rows": Double(written.rows),
                "seconds": (clock.now - started).seconds,
            ])
            try await session.commit(purpose: purpose)
            summary.documentsWritten += written.documentsWritten
            summary.documentsRemoved += written.documentsRemoved
            summary.documentsToVerify += outcomes.count { !$0.exact }
            summary.batches += 1
            for (kind, paths) in written.report.counts {
                summary.fields[kind, default: [:]].merge(paths, uniquingKeysWith: +)
            }
            logger.debug("batch committed", metadata: [
                "entries": "\(entries)", "documents": "\(outcomes.count)",
                LogKey.oplogTimestamp: "\(syncPoint.values.first.map { "\($0)" } ?? "-")",
            ])
        } catch {
            try? await session.rollback(purpose: purpose)
            throw error
        }
    }
}
