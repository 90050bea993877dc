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
    /// Documents whose stored state an update needed: read back from PostgreSQL, or taken from what the run wrote
    /// before (`document_cache_mb`, or the batch still committing).
    public var documentsReadBack = 0, documentsFromCache = 0
    /// Documents compared with MongoDB, and those whose rows were replaced by MongoDB's version.
    public var documentsVerified = 0, documentsRepaired = 0
    /// Time spent verifying inside batches, and the part of it MongoDB took to answer (the documents' lookups, and
    /// the question which of them changed since).
    public var verifySeconds = 0.0, verifyMongoSeconds = 0.0
    public var batches = 0
    /// Values the schema policy absorbed, as the init load counts them: by kind, then field path.
    public var fields: [String: [String: Int]] = [:]
    public var seconds = 0.0
    /// The sync point of each source after the run, as `(t << 32) | i`; empty when replaying a file, which moves none.
    public var syncPoints: [String: UInt64] = [:]
    /// The signal (SIGTERM, SIGINT) that stopped the run at a batch boundary before the end of the oplog.
    public var interruptedBy: Int32?

    public init(source: String) { self.source = source }

    public var entriesPerSecond: Double { seconds > 0 ? Double(entriesRead) / seconds : 0 }

    public var line: String {
        let skips = skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(source): \(entriesRead) entries in \(batches) batches, \(String(format: "%.2f", seconds)) s "
            + "(\(Int(entriesPerSecond)) entries/s); \(inserts) inserts, \(updates) updates, \(deletes) deletes, "
            + "\(drops) drops; \(documentsWritten) documents written, \(documentsRemoved) removed"
            + (documentsToVerify > 0 ? ", \(documentsToVerify) to verify" : "")
            + (documentsVerified > 0
                ? "; \(documentsVerified) verified (\(String(format: "%.2f", verifySeconds)) s, MongoDB's lookups "
                    + "\(String(format: "%.2f", verifyMongoSeconds)) s of it), \(documentsRepaired) repaired" : "")
            + (fields.isEmpty
                ? "" : "; schema policy: " + absorbed.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            + "; skipped: \(skips.isEmpty ? "none" : skips)"
            + syncPoints.sorted { $0.key < $1.key }.map { "; sync point \($0.key) \(BSONTimestamp(packed: $0.value))" }
            .joined()
            + (interruptedBy.map { "; stopped by signal \($0) at a batch boundary" } ?? "")
    }

    /// A committed batch's figures.
    mutating func add(_ batch: Replayer.BatchResult) {
        documentsWritten += batch.written.documentsWritten
        documentsRemoved += batch.written.documentsRemoved
        documentsToVerify += batch.toVerify
        documentsReadBack += batch.readBack
        documentsFromCache += batch.fromCache
        documentsVerified += batch.verification.verified
        documentsRepaired += batch.verification.repaired
        verifySeconds += batch.verification.seconds
        verifyMongoSeconds += batch.verification.mongoSeconds
        batches += 1
        for (kind, paths) in batch.written.report.counts {
            fields[kind, default: [:]].merge(paths, uniquingKeysWith: +)
        }
        if !batch.syncPoints.isEmpty { syncPoints = batch.syncPoints.mapValues(\.packed) }
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
            "documents_read_back": Double(documentsReadBack), "documents_from_cache": Double(documentsFromCache),
            "documents_verified": Double(documentsVerified), "documents_repaired": Double(documentsRepaired),
            "verify_seconds": verifySeconds, "verify_mongo_seconds": verifyMongoSeconds,
            "batches": Double(batches), "seconds": seconds,
        ]
        for (kind, count) in skipped { figures["skipped_\(kind)"] = Double(count) }
        for (kind, count) in absorbed { figures["fields_\(kind)"] = Double(count) }
        if let interruptedBy { figures["interrupted_by_signal"] = Double(interruptedBy) }
        return figures
    }
}

/// Replays oplog entries into the tables of synced collections, batch by batch: each batch's entries are unwound
/// (`OplogUnpacker`), folded per document (`ChangeSet`), the documents that need their current state are rebuilt
/// from PostgreSQL in one query per table, the changes applied in memory, and the result written set-based
/// (`BatchWriter`); the batch's data, its sync point and its ledger figures commit in one transaction. A batch never
/// ends between entries sharing one ts (SecantusDB's transactions), and the sync point never passes the first entry of
/// a transaction still open, so a crash anywhere loses nothing and a rerun doubles nothing.
///
/// With a `reader` and no verifier, batches are pipelined: while batch N's statements run on the store's session in
/// a task of their own, batch N+1 is read, its stored states are read on the reader (which sees what committed before
/// N; the documents N touches are taken from N's images instead) and its writes are computed; N+1 is written only
/// once N has committed, and an error of N's ends the run with nothing of N+1 written. A batch that empties a
/// collection, or that ends the run or waits for more (a signal, a stop, a due commit), commits before the next one is
/// computed.
struct Replayer: Sendable {
    let store: StateStore
    let plans: [Namespace: TablePlan]
    let batchSize: Int
    let logger: Logger
    /// The ledger run whose steps record each batch (in the batch's transaction).
    let run: LedgerRun?
    /// Entries read, on a terminal.
    var progress: Progress? = nil
    /// SIGTERM/SIGINT: the run stops at the next batch boundary, the batch before it committed.
    var stop: StopRequest? = nil
    /// Compares each batch with MongoDB before it commits, and repairs; nil for `--no-verify` and `--from-file`.
    var verifier: BatchVerifier? = nil
    /// Repairs of one batch tried before the run gives up with exit 3.
    static let repairTries = 3
    /// The ledger keeps this many of a run's newest batch steps (nil: all): a following run never ends, and a long
    /// catch-up would rewrite an ever longer list with each batch (its totals count every batch).
    var keptSteps: Int? = 1000
    /// Bytes of document images the run keeps between batches (`DocumentImages`; 0: none, each stored state is read).
    var imageCapacity = DocumentImages.defaultCapacity
    /// A second connection, for reading stored states while a batch commits on the store's session; nil: each batch
    /// is read, computed and committed in turn. Unused with a verifier, whose repairs change rows inside a batch.
    var reader: PostgresSession? = nil

    private var session: PostgresSession { store.session }

    /// Replays everything `sources` give, merged by ts (one source per replica set; the shards of a cluster). With
    /// `movingSyncPoints`, each batch moves every source's sync point (the ts of the last entry read from it, held back
    /// to the first entry of a transaction still open there); a file moves none. An entry that cannot be replayed
    /// stops the run before it: the batches before it commit, then the error is thrown.
    func replay(_ sources: [any OplogEntrySource], movingSyncPoints: Bool) async throws -> ReplaySummary {
        try await replay(MergedOplogSources(sources, chunk: batchSize), movingSyncPoints: movingSyncPoints)
    }

    /// Replays `stream` to its end; with `follow`, without end: a batch also commits `follow.commitAfter` after its
    /// first entry was read, and only a signal (or an error) ends the run, at a batch boundary.
    func replay(_ stream: some OplogStream, movingSyncPoints: Bool, follow: FollowSettings? = nil) async throws
        -> ReplaySummary
    {
        let clock = ContinuousClock(), started = clock.now
        var stream = stream
        stream.progress = progress
        let names = stream.names
        var summary = ReplaySummary(source: names.joined(separator: ", "))
        // Transactions are per replica set: each source unwinds its own.
        var unpackers = Array(repeating: OplogUnpacker(synced: Set(plans.keys)), count: names.count)
        var lastRead = [BSONTimestamp?](repeating: nil, count: names.count)
        // A change stream source's entries carry their resume token: it is stored with the sync point it stands for.
        var lastToken = [BSONDocument?](repeating: nil, count: names.count)
        var batch = ChangeSet()
        var entriesInBatch = 0
        /// When the batch's first entry was read: `follow.commitAfter` later the batch is due.
        var batchOpened: ContinuousClock.Instant?
        /// When the ledger last heard of the run: a batch step or a heartbeat.
        var lastSeen = clock.now
        var lastTS: BSONTimestamp?
        var remembered: [DocumentKey: BSONValue] = [:]
        // Those a committed batch left to verify, kept in the state schema so that a killed run forgets none.
        if verifier != nil, movingSyncPoints {
            let pending = try await store.pendingVerifications()
            for (namespace, id) in pending where plans[namespace] != nil {
                remembered[try DocumentKey(namespace, id)] = id
            }
            // Those of collections no longer synced go: a collection synced again later starts from its init load.
            let unsynced = pending.filter { plans[$0.namespace] == nil }
            if !unsynced.isEmpty { try await store.updatePendingVerifications(adding: [], removing: unsynced) }
        }
        /// Documents were remembered as differing by a batch that did not settle them (see `verify`).
        var unsettled = !remembered.isEmpty
        /// The batch whose statements run in a task of their own while the next one is read and computed.
        var committing: (task: Task<BatchResult, any Error>, prepared: PreparedBatch)?
        /// What committed batches left, when this run is the tables' only writer (no repairs).
        var images = verifier == nil ? DocumentImages(capacity: imageCapacity) : nil
        /// A batch has committed: its figures join the summary.
        func committed(_ result: BatchResult) async {
            summary.add(result)
            await TestHooks.pause(at: "batch-committed") { stop?.received != nil }
        }
        /// Waits for the committing batch: its figures join the summary, its error ends the run.
        func finishCommitting() async throws {
            guard let (task, prepared) = committing else { return }
            committing = nil
            let result = try await task.value
            images?.add(prepared.write)
            await committed(result)
        }
        /// `settle`: the batch ends where the stream ran dry (the last batch of a catch-up, a following run that
        /// caught up), so documents that still differ are settled (see `verify`). `overlapping`: the next batch may be
        /// read and computed while this one commits (see the type's comment).
        func commit(settle: Bool = false, overlapping: Bool = false) async throws {
            let settling = settle && unsettled && verifier != nil
            guard entriesInBatch > 0 || settling else { return try await finishCommitting() }
            // A sync point moves only past reads the sources vouch for; one left behind is safe (replay is idempotent).
            var confirmed = true
            if entriesInBatch > 0, movingSyncPoints { confirmed = try await stream.confirmReads(force: settle) }
            // The oldest entry of an open transaction is read again after a restart; so is the last entry read.
            var syncPoints: [String: BSONTimestamp] = [:]
            var resumeTokens: [String: BSONDocument] = [:]
            for (index, name) in names.enumerated() where movingSyncPoints && confirmed {
                if let point = [unpackers[index].oldestOpenTransaction, lastRead[index]].compactMap({ $0 }).min() {
                    syncPoints[name] = point
                    if point == lastRead[index], let token = lastToken[index] { resumeTokens[name] = token }
                }
            }
            if entriesInBatch == 0 { syncPoints = [:] }  // a batch that only settles moves none
            // Computed while the batch before it commits; written only once that one has.
            let prepared = try await prepare(
                batch, entries: entriesInBatch, end: lastTS, after: committing?.prepared, images: &images)
            try await finishCommitting()
            if let verifier {
                let verification = { [end = lastTS] () async throws -> VerifyFigures in
                    guard let end else { return VerifyFigures() }
                    let before = remembered
                    let checked = try await verify(
                        prepared.outcomes, end: end, settle: settle, with: verifier, remembered: &remembered)
                    try await store.updatePendingVerifications(
                        adding: remembered.filter { before[$0.key] == nil }.map { ($0.key.namespace, $0.value) },
                        removing: before.filter { remembered[$0.key] == nil }.map { ($0.key.namespace, $0.value) })
                    return checked
                }
                await committed(
                    try await write(
                        prepared, syncPoints: syncPoints, resumeTokens: resumeTokens, verification: verification))
            } else {
                let replayer = self
                committing = (
                    Task {
                        try await replayer.write(prepared, syncPoints: syncPoints, resumeTokens: resumeTokens)
                    }, prepared
                )
            }
            // A verified batch's repairs change rows its images do not show; an emptied collection, rows of documents
            // it did not touch.
            let overlaps = overlapping && reader != nil && verifier == nil && batch.emptied.isEmpty
            if !overlaps { try await finishCommitting() }
            // After a settling batch, the documents still remembered have later entries, which bring them back.
            unsettled = !settle && !remembered.isEmpty
            batch = ChangeSet()
            entriesInBatch = 0
            batchOpened = nil
            lastSeen = clock.now
        }
        /// Following: the batch has waited `commitAfter` since its first entry.
        func due() -> Bool {
            guard let follow, let batchOpened else { return false }
            return clock.now - batchOpened >= follow.commitAfter
        }
        do {
            reading: while true {
                guard let (source, document) = try await stream.next() else {
                    // Following, nothing new within the await time: the run has caught up (or a source ended for
                    // good).
                    guard follow != nil, stop?.received == nil, !stream.ended else { break reading }
                    if due() || (entriesInBatch == 0 && unsettled) { try await commit(settle: true) }
                    // Alive, for `check --max-age`; not while a batch commits on the same session (its transaction).
                    if let follow, committing == nil, clock.now - lastSeen >= follow.quietInterval {
                        try await run?.heartbeat()
                        lastSeen = clock.now
                    }
                    continue reading
                }
                let entry: OplogEntry
                do {
                    entry = try OplogEntry(document)
                } catch {
                    try await commit()
                    throw error
                }
                // A boundary never falls between entries sharing a ts (one transaction on SecantusDB).
                if entry.ts != lastTS {
                    if entriesInBatch >= batchSize {
                        // Following, too many documents waiting to be settled settle now, so memory stays bounded.
                        try await commit(settle: follow != nil && remembered.count >= batchSize, overlapping: true)
                    } else if due() {
                        try await commit(settle: true)
                    }
                    if let signal = stop?.received {  // also one that came while the batch above committed
                        try await commit()
                        summary.interruptedBy = signal
                        break reading
                    }
                    // A source that ended for good (an invalidated stream) stops a following run even while the
                    // others keep it busy.
                    if follow != nil, stream.ended { break reading }
                }
                let unpacked: OplogUnpacker.Unpacked
                do throws(OplogError) {
                    unpacked = try unpackers[source].unpack(entry)
                } catch {
                    // What came before the entry commits, unless the entry shares its ts with entries of the batch
                    // (one transaction on SecantusDB): a transaction is never split, so the batch waits for a rerun.
                    if error.ts != lastTS { try await commit() }
                    throw error  // its description names the entry's ts, ns and op
                }
                for change in unpacked.changes {
                    try batch.add(change, at: entry.ts)
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
                if batchOpened == nil { batchOpened = clock.now }
                lastTS = entry.ts
                lastRead[source] = entry.ts
                if case .document(let token)? = document[ChangeEvent.resumeTokenKey] { lastToken[source] = token }
            }
            // The stream ran dry: the end of a catch-up, or a following run stopped by a signal while caught up. That last
            // batch settles; a run stopped at a boundary before the end left the rest to the next run.
            let ranDry = summary.interruptedBy == nil
            if ranDry, follow != nil { summary.interruptedBy = stop?.received }
            try await commit(settle: ranDry)
        } catch {
            // The batch still committing ends first; an error of its own is the one reported.
            try await finishCommitting()
            throw error
        }
        progress?.finish()
        summary.seconds = (clock.now - started).seconds
        return summary
    }

    /// A batch computed before anything of it is written: what each touched document becomes, and the writes.
    struct PreparedBatch: Sendable {
        var outcomes: [ChangeSet.Outcome]
        var write: BatchWrite
        var entries: Int
        /// The ts of its last entry (nil: none read), for the log.
        var end: BSONTimestamp?
        /// Spent computing it, counted in the batch's ledger step.
        var seconds: Double
        /// Stored states read back from PostgreSQL, and those taken from what the run wrote before.
        var readBack = 0, fromCache = 0
    }

    /// What a committed batch adds to the run's summary.
    struct BatchResult: Sendable {
        var written: BatchWriter.Written
        var toVerify: Int
        var readBack: Int, fromCache: Int
        var verification: VerifyFigures
        var syncPoints: [String: BSONTimestamp]
    }

    /// Reads the stored state of the documents `batch` updates (on `reader` when there is one), applies the batch's
    /// changes to it and computes its writes. `committing`: a batch that may not have committed yet, whose images
    /// stand in for the stored state of the documents it touches: as if both were one batch.
    private func prepare(
        _ batch: ChangeSet, entries: Int, end: BSONTimestamp?, after committing: PreparedBatch?,
        images: inout DocumentImages?
    ) async throws -> PreparedBatch {
        let clock = ContinuousClock(), started = clock.now
        var stored: [DocumentKey: BSONDocument] = [:]
        var storedRows: [DocumentKey: BatchWrite.Stored] = [:]
        var readBack = 0, fromCache = 0
        for (namespace, ids) in batch.idsNeedingStoredState {
            guard let plan = plans[namespace] else { continue }
            var unread: [(key: DocumentKey, id: BSONValue)] = []
            for id in ids {
                let key = try DocumentKey(namespace, id)
                if let image = committing?.write.images[key] ?? images?.image(for: key) {
                    stored[key] = try image.document()
                    storedRows[key] = .image(image)
                    fromCache += 1
                } else {
                    unread.append((key, id))
                }
            }
            readBack += unread.count
            let keys = try unread.map { try plan.keyValue(ofID: $0.id) }
            let rebuilder = DocumentRebuilder(plan: plan)
            let read = try await StoredDocuments.rows(ofIDs: keys, plan: plan, session: reader ?? session)
            for ((key, id), rows) in zip(unread, read) {
                guard let rows else { continue }
                let document: BSONDocument
                do {
                    document = try rebuilder.rebuild(rows)
                } catch {
                    guard verifier != nil else { throw error }
                    // Rows that are no document (damaged behind the tool's back): verification puts MongoDB's back.
                    logger.warning(
                        "stored rows do not rebuild a document: MongoDB's version replaces them",
                        metadata: [
                            LogKey.namespace: "\(namespace)", LogKey.documentID: "\(id)", LogKey.error: "\(error)",
                        ])
                    continue
                }
                stored[key] = plan.restoringEmptyContainers(document)
                storedRows[key] = .rows(rows)
            }
        }
        let outcomes = try batch.outcomes { namespace, id in
            (try? DocumentKey(namespace, id)).flatMap { stored[$0] }
        }
        for outcome in outcomes where !outcome.exact {
            logger.info(
                "an update did not apply to the stored document as it was: to verify",
                metadata: [
                    LogKey.namespace: "\(outcome.namespace)", LogKey.documentID: "\(outcome.id)",
                ])
        }
        let write = try BatchWrite(
            emptied: batch.emptied, outcomes: outcomes, stored: storedRows, plans: plans, keepingImages: verifier == nil
        )
        return PreparedBatch(
            outcomes: outcomes, write: write, entries: entries, end: end, seconds: (clock.now - started).seconds,
            readBack: readBack, fromCache: fromCache)
    }

    /// Writes a prepared batch, moves the sync points and records its ledger step, in one transaction; `verification`
    /// runs inside it, after the rows are written.
    private func write(
        _ batch: PreparedBatch, syncPoints: [String: BSONTimestamp], resumeTokens: [String: BSONDocument],
        verification: (() async throws -> VerifyFigures)? = nil
    ) async throws -> BatchResult {
        let clock = ContinuousClock(), started = clock.now
        let purpose = "commit a batch of \(batch.entries) oplog entries"
        try await session.begin(purpose: purpose)
        do {
            let written = try await BatchWriter(session: session, plans: plans).write(batch.write)
            await TestHooks.pauseUntilResumed(at: "batch-written")  // mid-batch: rows written, nothing committed
            let checked = try await verification?() ?? VerifyFigures()
            if !syncPoints.isEmpty { try await store.moveSyncPoints(syncPoints, resumeTokens: resumeTokens) }
            try await run?.addStep(
                "batch",
                figures: [
                    "entries": Double(batch.entries), "documents_written": Double(written.documentsWritten),
                    "documents_removed": Double(written.documentsRemoved), "rows": Double(written.rows),
                    "documents_verified": Double(checked.verified), "documents_repaired": Double(checked.repaired),
                    "seconds": batch.seconds + (clock.now - started).seconds,
                ], keepingLast: keptSteps)
            try await session.commit(purpose: purpose)
            logger.debug(
                "batch committed",
                metadata: [
                    "entries": "\(batch.entries)", "documents": "\(batch.outcomes.count)",
                    LogKey.oplogTimestamp: "\(batch.end.map { "\($0)" } ?? "-")",
                ])
            return BatchResult(
                written: written, toVerify: batch.outcomes.count { !$0.exact }, readBack: batch.readBack,
                fromCache: batch.fromCache, verification: checked, syncPoints: syncPoints)
        } catch {
            try? await session.rollback(purpose: purpose)
            throw error
        }
    }

    /// What one batch's verification did.
    struct VerifyFigures: Sendable {
        var verified = 0, repaired = 0
        var seconds = 0.0, mongoSeconds = 0.0
    }

    /// Verification and repair inside the batch's transaction: the touched documents as their rows now give them
    /// back, against MongoDB's. While a run is behind (a batch full of entries), a document that differs most likely
    /// has later changes still to come: it is remembered, and checked again by the batch that touches it next or by
    /// the next batch that settles (never by every batch in between: a catch-up of many batches would check its
    /// remembered documents once per batch, each a MongoDB lookup that changes nothing). A batch that `settle`s (the
    /// stream ran dry: the last of a catch-up, or a following run that caught up or commits on time) checks every
    /// remembered document too, and asks the oplog once which differing documents MongoDB changed after `end` (their
    /// `_id` in a later entry): those stay remembered for the batch that brings the change (the next run, or the
    /// tail's next batches) and are never repaired to a state the oplog has not reached; any other difference
    /// is repaired by replacing the document's rows with MongoDB's version, then checked again, at most `repairTries`
    /// times before the run ends with exit 3 and nothing of the batch commits.
    private func verify(
        _ outcomes: [ChangeSet.Outcome], end: BSONTimestamp, settle: Bool, with verifier: BatchVerifier,
        remembered: inout [DocumentKey: BSONValue]
    ) async throws -> VerifyFigures {
        let started = ContinuousClock.now
        var figures = VerifyFigures()
        var ids: [Namespace: [BSONValue]] = [:]
        var seen = Set<DocumentKey>()
        for outcome in outcomes where seen.insert(try DocumentKey(outcome.namespace, outcome.id)).inserted {
            ids[outcome.namespace, default: []].append(outcome.id)
        }
        if settle {
            for (key, id) in remembered where seen.insert(key).inserted { ids[key.namespace, default: []].append(id) }
            remembered = [:]
        } else {
            for key in seen { remembered.removeValue(forKey: key) }  // checked now: remembered again if they differ
        }
        let verified = seen.count
        var repaired = Set<DocumentKey>()
        var laterChanged: ChangedAfter?
        for attempt in 0...Self.repairTries {
            let differences = try await verifier.differences(ids, session: session, mongoSeconds: &figures.mongoSeconds)
            if differences.isEmpty { break }
            guard settle else {
                for difference in differences {
                    remembered[try DocumentKey(difference.namespace, difference.id)] = difference.id
                }
                break
            }
            let later: ChangedAfter
            if let known = laterChanged {
                later = known
            } else {
                let asked = ContinuousClock.now
                later = try await verifier.documentsChanged(after: end, ids: differences.map(\.id))
                figures.mongoSeconds += (ContinuousClock.now - asked).seconds
                laterChanged = later
            }
            var repairs: [ChangeSet.Outcome] = []
            for difference in differences {
                let key = try DocumentKey(difference.namespace, difference.id)
                if later.contains(key) {
                    remembered[key] = difference.id
                    continue
                }
                repairs.append(
                    .init(
                        namespace: difference.namespace, id: difference.id, document: difference.mongoDocument,
                        exact: true))
                repaired.insert(key)
                logger.warning(
                    "repaired a document that differed from MongoDB",
                    metadata: [
                        LogKey.namespace: "\(difference.namespace)", LogKey.documentID: "\(difference.id)",
                        "path": "\(difference.path)",
                    ])
            }
            if repairs.isEmpty { break }
            guard attempt < Self.repairTries else {
                throw DivergenceError(
                    documents: differences.map { "\($0.namespace) _id \($0.id) at \($0.path)" }, tries: Self.repairTries
                )
            }
            _ = try await BatchWriter(session: session, plans: plans).write(emptied: [], outcomes: repairs)
            ids = Dictionary(grouping: repairs, by: \.namespace).mapValues { $0.map(\.id) }
        }
        figures.verified = verified
        figures.repaired = repaired.count
        figures.seconds = (ContinuousClock.now - started).seconds
        return figures
    }
}
