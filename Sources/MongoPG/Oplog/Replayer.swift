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
    /// Time spent verifying (inside batches, and the documents' lookups, which run beside the batch's own work), and
    /// the part of it MongoDB took to answer (the lookups, and the question which of them changed since).
    public var verifySeconds = 0.0, verifyMongoSeconds = 0.0
    public var batches = 0
    /// Values the schema policy absorbed, as the init load counts them: by kind, then field path.
    public var fields: [String: [String: Int]] = [:]
    /// `fields` by collection (`DB.COLL`), for the ledger (`AbsorbedFieldFigure`) and `mongo-schema --diff`.
    public var fieldsByCollection: [String: [String: [String: Int]]] = [:]
    /// Schema changes applied before the replay (`SchemaChanges`).
    public var schemaChanges: [SchemaChangeReport] = []
    public var seconds = 0.0
    /// The sync point of each source after the run, as `(t << 32) | i`; empty when replaying a file, which moves none.
    public var syncPoints: [String: UInt64] = [:]
    /// The signal (SIGTERM, SIGINT) that stopped the run at a batch boundary before the end of the oplog.
    public var interruptedBy: Int32?
    /// The resync the run made first, when it found a source's history lost (`[sync] on_history_lost = resync`).
    public var resync: ResyncSummary?
    /// Transactions whose end the run did not read: none of their entries applied; carried to the next run.
    public var openTransactions: [OpenTransactionReport] = []

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
            + schemaChanges.map { "; " + $0.line }.joined()
            + syncPoints.sorted { $0.key < $1.key }.map { "; sync point \($0.key) \(BSONTimestamp(packed: $0.value))" }
            .joined()
            + (interruptedBy.map { "; stopped by signal \($0) at a batch boundary" } ?? "")
            + (resync.map { "; history lost, so first \($0.line)" } ?? "")
            + (openTransactions.isEmpty
                ? ""
                : "; left open, carried to the next run: " + openTransactions.map(\.line).joined(separator: ", "))
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
        for (namespace, report) in batch.written.reports {
            for (kind, paths) in report.counts {
                fieldsByCollection[namespace.description, default: [:]][kind, default: [:]].merge(
                    paths, uniquingKeysWith: +)
            }
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
        for (collection, kinds) in fieldsByCollection {
            for (kind, paths) in kinds {
                for (path, count) in paths {
                    figures[AbsorbedFieldFigure(kind: kind, collection: collection, jsonPath: path).key] = Double(count)
                }
            }
        }
        for report in schemaChanges { figures.merge(report.figures, uniquingKeysWith: +) }
        if let interruptedBy { figures["interrupted_by_signal"] = Double(interruptedBy) }
        figures["open_transactions"] = Double(openTransactions.count)
        return figures
    }
}

/// Replays oplog entries into the tables of synced collections, batch by batch: each batch's entries are unwound
/// (`OplogUnpacker`), folded per document (`ChangeSet`), the documents that need their current state are rebuilt
/// from PostgreSQL in one query per table, the changes applied in memory, and the result written set-based
/// (`BatchWriter`); the batch's data, its sync point and its ledger figures commit in one transaction. Where batches
/// end, what sync points they move and when they settle is `ReplayBatcher`'s (pure) policy; this type carries out its
/// actions. A crash anywhere loses nothing and a rerun doubles nothing.
struct Replayer: Sendable {
    /// How batches are checked and committed.
    enum Mode: Sendable {
        /// Each batch is compared with MongoDB before it commits, and repaired (`DocumentRepairer`); documents that
        /// differ and that MongoDB changed after the batch (`laterChanges`) wait for the batch that brings the change.
        case verified(BatchVerifier, laterChanges: any LaterChanges)
        /// No verification: batches are pipelined. While batch N's statements run on the store's session in a task of
        /// their own, batch N+1 is read, its stored states are read on `reader` (which sees what committed before N;
        /// the documents N touches are taken from N's images instead) and its writes are computed; N+1 is written
        /// only once N has committed, and an error of N's ends the run with nothing of N+1 written. The documents
        /// committed batches wrote are kept (`imageCapacity` bytes, `DocumentImages`; 0: none), so a later update
        /// of one needs no read back: this run is the tables' only writer.
        case pipelined(reader: PostgresSession, imageCapacity: Int)
    }

    let store: StateStore
    let plans: [Namespace: TablePlan]
    let batchSize: Int
    let logger: Logger
    let mode: Mode
    /// The ledger run whose steps record each batch (in the batch's transaction).
    let run: LedgerRun?
    /// Entries read, on a terminal.
    var progress: Progress? = nil
    /// SIGTERM/SIGINT: the run stops at the next batch boundary, the batch before it committed.
    var stop: StopRequest? = nil
    /// The ledger keeps this many of a run's newest batch steps (nil: all): a following run never ends, and a long
    /// catch-up would rewrite an ever longer list with each batch (its totals count every batch).
    var keptSteps: Int? = 1000

    private var session: PostgresSession { store.session }

    /// Replays everything `sources` give, merged by ts (one source per replica set; the shards of a cluster). With
    /// `movingSyncPoints`, each batch moves every source's sync point (see `ReplayBatcher`); a file moves none. An
    /// entry that cannot be replayed stops the run before it: the batches before it commit, then the error is thrown.
    func replay(
        _ sources: [any OplogEntrySource], movingSyncPoints: Bool, starts: ReplayStarts = ReplayStarts(),
        transactions: TransactionState? = nil
    ) async throws -> ReplaySummary {
        try await replay(
            MergedOplogSources(sources, chunk: batchSize), movingSyncPoints: movingSyncPoints, starts: starts,
            transactions: transactions)
    }

    /// Where open transactions are kept between runs (`open_transactions`).
    struct TransactionState: Sendable {
        /// Per source of the stream, the name its transactions are kept under (`file` for a file).
        var names: [String]
        /// Those an earlier run left open, by name.
        var carried: [String: [OpenTransaction]]
    }

    /// Replays `stream` to its end; with `follow`, without end: a batch also commits `follow.commitAfter` after its
    /// first entry was read, and only a signal (or an error) ends the run, at a batch boundary. `starts`: from where
    /// each collection's entries apply (see `ReplayStarts`).
    func replay(
        _ stream: some OplogStream, movingSyncPoints: Bool, follow: FollowSettings? = nil,
        starts: ReplayStarts = ReplayStarts(), transactions: TransactionState? = nil
    ) async throws -> ReplaySummary {
        var stream = stream
        stream.progress = progress
        var remembered: [DocumentKey: BSONValue] = [:]
        if case .verified = mode, movingSyncPoints {
            // Those a committed batch left to verify, kept in the state schema so that a killed run forgets none.
            let pending = try await store.pendingVerifications()
            for (namespace, id) in pending where plans[namespace] != nil {
                remembered[try DocumentKey(namespace, id)] = id
            }
            // Those of collections no longer synced go: a collection synced again later starts from its init load.
            let unsynced = pending.filter { plans[$0.namespace] == nil }
            if !unsynced.isEmpty { try await store.updatePendingVerifications(adding: [], removing: unsynced) }
        }
        var pipelined = false
        if case .pipelined = mode { pipelined = true }
        let settings = ReplayBatcher.Settings(
            batchSize: batchSize, follow: follow, movingSyncPoints: movingSyncPoints, verified: !pipelined,
            pipelined: pipelined, overlapsVerified: true, starts: starts, transactionNames: transactions?.names)
        var batcher = ReplayBatcher(
            names: stream.names, synced: Set(plans.keys), settings: settings, remembered: remembered.count, now: .now)
        try batcher.carry(transactions?.carried ?? [:])
        var execution = Execution(
            replayer: self, stream: stream,
            batcher: batcher, remembered: remembered)
        return try await execution.run()
    }

    /// One replay's state while it runs: the batcher's policy, the documents remembered as differing, the batch still
    /// committing and the images kept.
    private struct Execution<Stream: OplogStream> {
        let replayer: Replayer
        var stream: Stream
        var batcher: ReplayBatcher
        var remembered: [DocumentKey: BSONValue]
        var summary: ReplaySummary
        /// The batch whose statements run in a task of their own while the next one is read and computed.
        var committing: (task: Task<BatchResult, any Error>, prepared: PreparedBatch)?
        /// What committed batches left (pipelined runs only: the tables' only writer, no repairs).
        var images: DocumentImages?
        let clock = ContinuousClock()

        init(replayer: Replayer, stream: Stream, batcher: ReplayBatcher, remembered: [DocumentKey: BSONValue]) {
            self.replayer = replayer
            self.stream = stream
            self.batcher = batcher
            self.remembered = remembered
            summary = ReplaySummary(source: stream.names.joined(separator: ", "))
            if case .pipelined(_, let capacity) = replayer.mode { images = DocumentImages(capacity: capacity) }
        }

        mutating func run() async throws -> ReplaySummary {
            let started = clock.now
            do {
                reading: while true {
                    guard let (source, document) = try await stream.next() else {
                        // Following, nothing new within the await time: the run has caught up (or a source ended for
                        // good). A catch-up's stream ran dry: its end.
                        let action = batcher.caughtUp(
                            now: clock.now, signal: replayer.stop?.received, sourceEnded: stream.ended)
                        if case .stop = action { break reading }
                        try await perform(action)
                        continue reading
                    }
                    let entry: OplogEntry
                    do {
                        entry = try OplogEntry(document)
                    } catch {
                        try await perform(batcher.unreadableEntry())
                        throw error
                    }
                    // What ends before the entry commits first; asked again after each commit (a signal may have come
                    // while it committed).
                    while true {
                        let action = batcher.entryRead(
                            at: entry.ts, now: clock.now, signal: replayer.stop?.received, sourceEnded: stream.ended)
                        if case .none = action { break }
                        if case .stop = action { break reading }
                        try await perform(action)
                    }
                    var token: BSONDocument?
                    if case .document(let found)? = document[ChangeEvent.resumeTokenKey] { token = found }
                    do {
                        try batcher.add(entry, from: source, resumeToken: token, now: clock.now)
                    } catch let refusal as ReplayBatcher.Refusal {
                        try await perform(refusal.before)
                        guard try await readBack(refusal.error, from: source) else {
                            throw refusal.error  // its description names the entry's ts, ns and op
                        }
                        do {
                            try batcher.add(entry, from: source, resumeToken: token, now: clock.now)
                        } catch let again as ReplayBatcher.Refusal {
                            try await perform(again.before)
                            throw again.error
                        }
                    }
                }
                var last = batcher.finish(signal: replayer.stop?.received)
                while case .awaitCommitting = last {
                    try await perform(last)
                    last = batcher.finish(signal: replayer.stop?.received)
                }
                try await perform(last)
                try await finishCommitting()
            } catch {
                // The batch still committing ends first; an error of its own is the one reported.
                try await finishCommitting()
                throw error
            }
            replayer.progress?.finish()
            let read = batcher.read
            summary.entriesRead = read.entries
            summary.inserts = read.inserts
            summary.updates = read.updates
            summary.deletes = read.deletes
            summary.drops = read.drops
            summary.skipped = read.skipped
            summary.interruptedBy = batcher.interruptedBy
            summary.openTransactions = batcher.openTransactions
            for open in summary.openTransactions {
                replayer.logger.warning(
                    "a transaction was left open: its entries wait for its end in the next run",
                    metadata: [
                        "transaction": "\(open.transaction)",
                        LogKey.oplogTimestamp: "\(BSONTimestamp(packed: open.firstTS))",
                    ])
            }
            summary.seconds = (clock.now - started).seconds
            return summary
        }

        /// A transaction's entry refused for lacking its earlier entries (they lie before the replay's start): reads
        /// them back from the source's oplog when it still holds them, so the transaction applies whole. False when
        /// the refusal is of another kind, or the entries cannot be read back (a file; an oplog that lost them).
        private mutating func readBack(_ refusal: OplogError, from source: Int) async throws -> Bool {
            guard refusal.kind == .transactionPartMissing, let missing = refusal.missingPart,
                let parts = try await stream.transactionParts(source: source, endingAt: missing)
            else { return false }
            var entries: [OplogEntry] = []
            for part in parts { entries.append(try OplogEntry(part)) }
            try batcher.readBack(entries, from: source)
            replayer.logger.info(
                "a transaction begun before the replay's start was read back from the oplog",
                metadata: [
                    LogKey.oplogTimestamp: "\(entries.first?.ts.description ?? "-")", "entries": "\(entries.count)",
                ])
            return true
        }

        private mutating func perform(_ action: ReplayBatcher.Action) async throws {
            switch action {
            case .none, .stop:
                return
            case .heartbeat:
                try await replayer.run?.heartbeat()
            case .awaitCommitting:
                try await finishCommitting()
                batcher.committingDone(remembered: remembered.count)
            case .commit(let commit):
                try await execute(commit)
                batcher.committed(remembered: remembered.count, now: clock.now)
            }
        }

        /// A batch has committed: its figures join the summary.
        private mutating func committed(_ result: BatchResult) async {
            summary.add(result)
            await TestHooks.pause(at: "batch-committed") { [stop = replayer.stop] in stop?.received != nil }
        }

        /// Waits for the committing batch: its figures join the summary, its error ends the run.
        private mutating func finishCommitting() async throws {
            guard let (task, prepared) = committing else { return }
            committing = nil
            let result = try await task.value
            images?.add(prepared.write)
            if let left = result.remembered { remembered = left }
            await committed(result)
        }

        /// Computes the batch (while the batch before it commits, pipelined), then writes it once that one has:
        /// verified in its transaction, or in a task of its own that may go on committing. A verified batch is
        /// computed only once the batch before it committed (its repairs change stored states), but its lookups run
        /// beside that commit.
        private mutating func execute(_ commit: ReplayBatcher.Commit) async throws {
            // MongoDB's documents for the batch's verification are asked now, while the batch is computed and its rows
            // written: the same documents verification would ask for after the rows (those the batch touches, and the
            // remembered ones when it settles), answered no earlier than the batch's last entry was read. Those the
            // batch still committing leaves remembered are asked by the verification itself.
            var lookup: Task<BatchVerifier.Lookup, any Error>?
            if case .verified(let verifier, _) = replayer.mode, commit.end != nil {
                var ids = commit.changes.touchedIDs
                if commit.settle { for (key, id) in remembered { ids[key.namespace, default: []].append(id) } }
                lookup = Task { [ids] in try await verifier.lookUp(ids) }
            }
            do {
                try await execute(commit, lookup: lookup)
            } catch {
                lookup?.cancel()
                throw error
            }
        }

        private mutating func execute(_ commit: ReplayBatcher.Commit, lookup: Task<BatchVerifier.Lookup, any Error>?)
            async throws
        {
            var commit = commit
            if case .verified = replayer.mode {
                try await finishCommitting()
                // A signal while the batch before committed stops the run after it, as it did before this batch could
                // be read meanwhile: the next run reads it again.
                if commit.readWhileCommitting, let signal = replayer.stop?.received {
                    lookup?.cancel()
                    batcher.dropLastCut(signal: signal)
                    return
                }
            }
            let prepared = try await replayer.prepare(
                commit.changes, entries: commit.entries, end: commit.end, after: committing?.prepared,
                images: &images)
            // A sync point moves only past reads the sources vouch for; one left behind is safe (replay is idempotent).
            // Asked once the batch is computed: a source's check may be running meanwhile (`ServerOplogSource`).
            if commit.confirmsReads, !(try await stream.confirmReads(force: commit.settle)) {
                commit.positions = ReplayBatcher.Positions()
            }
            try await finishCommitting()
            switch replayer.mode {
            case .verified(let verifier, let laterChanges):
                let task = Task { [replayer, remembered, commit] in
                    var remembered = remembered
                    var result = try await replayer.write(
                        prepared, positions: commit.positions, openTransactions: commit.openTransactions
                    ) {
                        guard let end = commit.end else { return VerifyFigures() }
                        let before = remembered
                        let checked = try await replayer.verify(
                            prepared.outcomes, end: end, settle: commit.settle, with: verifier,
                            laterChanges: laterChanges, lookedUp: try await lookup?.value ?? BatchVerifier.Lookup(),
                            remembered: &remembered)
                        try await replayer.store.updatePendingVerifications(
                            adding: remembered.filter { before[$0.key] == nil }.map { ($0.key.namespace, $0.value) },
                            removing: before.filter { remembered[$0.key] == nil }.map { ($0.key.namespace, $0.value) }
                        )
                        return checked
                    }
                    result.remembered = remembered
                    return result
                }
                committing = (task, prepared)
                if !commit.staysCommitting { try await finishCommitting() }
            case .pipelined:
                let task = Task { [replayer, positions = commit.positions, open = commit.openTransactions] in
                    try await replayer.write(prepared, positions: positions, openTransactions: open) { VerifyFigures() }
                }
                committing = (task, prepared)
                if !commit.staysCommitting { try await finishCommitting() }
            }
        }
    }

    /// A batch computed before anything of it is written: what each touched document becomes, and the writes.
    struct PreparedBatch: Sendable {
        var outcomes: [DocumentOutcome]
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
        /// Verified: the documents still differing after the batch, to check again (`verify`).
        var remembered: [DocumentKey: BSONValue]? = nil
    }

    /// Reads the stored state of the documents `batch` updates (pipelined: on the reader), applies the batch's
    /// changes to it and computes its writes. `committing`: a batch that may not have committed yet, whose images
    /// stand in for the stored state of the documents it touches: as if both were one batch.
    private var storedStateSession: PostgresSession {
        if case .pipelined(let reader, _) = mode { reader } else { session }
    }

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
            let read = try await StoredDocuments.rows(ofIDs: keys, plan: plan, session: storedStateSession)
            for ((key, id), rows) in zip(unread, read) {
                guard let rows else { continue }
                let document: BSONDocument
                do {
                    document = try rebuilder.rebuild(rows)
                } catch {
                    guard case .verified = mode else { throw error }
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
        // A document inserted, replaced or deleted needs no stored state; an image a batch of this run left lets its
        // rows be diffed all the same, so that a replacement updates the rows it changes in place.
        for (namespace, ids) in batch.idsWithKnownStart where images != nil {
            for id in ids {
                let key = try DocumentKey(namespace, id)
                if let image = committing?.write.images[key] ?? images?.image(for: key) {
                    storedRows[key] = .image(image)
                }
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
            emptied: batch.emptied, outcomes: outcomes, stored: storedRows, plans: plans, keepingImages: images != nil)
        return PreparedBatch(
            outcomes: outcomes, write: write, entries: entries, end: end, seconds: (clock.now - started).seconds,
            readBack: readBack, fromCache: fromCache)
    }

    /// Writes a prepared batch, moves the sync points, keeps the transactions left open and records its ledger step,
    /// in one transaction; `verification` runs inside it, after the rows are written.
    private func write(
        _ batch: PreparedBatch, positions: ReplayBatcher.Positions, openTransactions: [String: [OpenTransaction]],
        verification: () async throws -> VerifyFigures
    ) async throws -> BatchResult {
        let clock = ContinuousClock(), started = clock.now
        let purpose = "commit a batch of \(batch.entries) oplog entries"
        let result = try await session.withAsyncTransaction(purpose: purpose) {
            let written = try await BatchWriter(session: session, plans: plans).write(batch.write)
            await TestHooks.pauseUntilResumed(at: "batch-written")  // mid-batch: rows written, nothing committed
            let checked = try await verification()
            if !positions.syncPoints.isEmpty {
                try await store.moveSyncPoints(positions.syncPoints, resumeTokens: positions.resumeTokens)
            }
            if !positions.advancedStarts.isEmpty { try await store.advanceCollectionStarts(positions.advancedStarts) }
            if !openTransactions.isEmpty { try await store.keepOpenTransactions(openTransactions) }
            try await run?.addStep(
                "batch",
                figures: [
                    "entries": Double(batch.entries), "documents_written": Double(written.documentsWritten),
                    "documents_removed": Double(written.documentsRemoved), "rows": Double(written.rows),
                    "documents_verified": Double(checked.verified), "documents_repaired": Double(checked.repaired),
                    "seconds": batch.seconds + (clock.now - started).seconds,
                ], keepingLast: keptSteps)
            return BatchResult(
                written: written, toVerify: batch.outcomes.count { !$0.exact }, readBack: batch.readBack,
                fromCache: batch.fromCache, verification: checked, syncPoints: positions.syncPoints)
        }
        logger.debug(
            "batch committed",
            metadata: [
                "entries": "\(batch.entries)", "documents": "\(batch.outcomes.count)",
                LogKey.oplogTimestamp: "\(batch.end.map { "\($0)" } ?? "-")",
            ])
        return result
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
    /// remembered document too, and repairs what differs (`DocumentRepairer`), asking `laterChanges` once which
    /// differing documents MongoDB changed after `end`: those stay remembered for the batch that brings the change
    /// (the next run, or the tail's next batches).
    private func verify(
        _ outcomes: [DocumentOutcome], end: BSONTimestamp, settle: Bool, with verifier: BatchVerifier,
        laterChanges: any LaterChanges, lookedUp: BatchVerifier.Lookup, remembered: inout [DocumentKey: BSONValue]
    ) async throws -> VerifyFigures {
        let started = ContinuousClock.now
        var figures = VerifyFigures(mongoSeconds: lookedUp.seconds)
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
        figures.verified = seen.count
        let differences = try await verifier.differences(
            ids, session: session, mongoSeconds: &figures.mongoSeconds, lookedUp: lookedUp)
        if settle {
            let repair = try await DocumentRepairer(verifier: verifier, logger: logger).repair(
                differences, session: session,
                laterChanges: { try await laterChanges.documentsChanged(after: end, ids: $0) },
                mongoSeconds: &figures.mongoSeconds)
            remembered.merge(repair.pending) { _, new in new }
            figures.repaired = repair.repaired.count
        } else {
            for difference in differences {
                remembered[try DocumentKey(difference.namespace, difference.id)] = difference.id
            }
        }
        // Its lookups count as verification's time even where they ran beside the batch's own work.
        figures.seconds = (ContinuousClock.now - started).seconds + lookedUp.seconds
        return figures
    }
}
