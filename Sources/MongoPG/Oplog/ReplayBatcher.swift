/// The batching policy of a replay, with no I/O: where batches end, which sync points and resume tokens a batch may
/// move, when a batch settles the documents left to verify, when a pipelined batch may stay committing while the next
/// one is read, and when a quiet following run tells the ledger it is alive. `Replayer` feeds it what happens (an
/// entry read, the stream running dry, a batch committed), with the time and any signal, and carries out the
/// `Action` it answers; its rules are tested with scripted entries and clocks, no server.
///
/// The rules:
/// - A batch ends before an entry when it holds `batchSize` entries, or, following, when `commitAfter` has passed
///   since its first entry; never between entries sharing one ts (one transaction on SecantusDB).
/// - At such a boundary a signal (SIGTERM, SIGINT) stops the run, the batch before committed; so does, following, a
///   source that ended for good.
/// - A batch's sync point for each source is the ts of the last entry read from it, held back to the first entry of
///   a transaction still open there; a resume token moves only with the entry it belongs to. A batch that only
///   settles moves none; a file replay (`movingSyncPoints` false) never.
/// - A verified batch that ends where the stream ran dry (the end of a catch-up, a following run that caught up or is
///   due) settles: documents still differing are repaired. A full batch settles only while following with
///   `batchSize` documents or more remembered, so memory stays bounded. A following run that caught up with documents
///   left unsettled commits a batch of no entries to settle them.
/// - A pipelined batch stays committing while the next one is read only when it is full and empties no collection; so
///   does a verified one of a catch-up with `overlapsVerified` (the next batch's lookups then run beside its commit).
///   The last batch of a run waits for a verified one that is still committing: whether it settles depends on what
///   that one's verification left differing. A verified batch read while the one before it committed is dropped
///   when a signal came meanwhile (`dropLastCut`): the run stops after the batch before, as it did before the batch
///   was read.
/// - A batch that changed which transactions are open carries them (`Commit.openTransactions`) to the state schema in
///   its transaction, so the next run (the next file's replay too) finds their entries; those open when the run ends
///   are named in its summary and counted as `transaction_left_open`.
struct ReplayBatcher {
    /// How the run is set up.
    struct Settings: Sendable {
        var batchSize: Int
        /// Following (`--follow`): commit on time, stop at an ended source, heartbeats; nil for a catch-up.
        var follow: FollowSettings?
        /// Batches move the sources' sync points (a server's oplog); a file moves none.
        var movingSyncPoints: Bool
        /// Batches are verified against MongoDB (`Replayer.Mode.verified`): they settle.
        var verified: Bool
        /// A batch may stay committing while the next is read (`Replayer.Mode.pipelined`).
        var pipelined: Bool
        /// A verified batch of a catch-up may stay committing while the next is read (not computed: `Replayer` reads
        /// its stored states once the batch before committed).
        var overlapsVerified = false
        /// From where each collection's entries apply, per source (`ReplayStarts`); empty: all of them.
        var starts = ReplayStarts()
        /// Per source, the name its open transactions are kept under in the state schema; nil: none are kept.
        var transactionNames: [String]? = nil
    }

    /// One batch cut from the entries read: what `Replayer` writes, verifies and commits in one transaction.
    struct Commit: Sendable {
        var changes: ChangeSet
        var entries: Int
        /// The ts of the batch's last entry (nil: none read yet in the run).
        var end: BSONTimestamp?
        /// Documents still differing are repaired (see `Replayer`'s verification), and the sources asked to vouch for
        /// their reads even where they would put it off.
        var settle: Bool
        /// Ask the sources to vouch for their reads (`OplogStream.confirmReads`) before moving `syncPoints`: if they
        /// put it off, the batch moves none.
        var confirmsReads = false
        var positions = Positions()
        /// The batch may go on committing while the next one is read and computed.
        var staysCommitting = false
        /// The transactions open after the batch, by `Settings.transactionNames`, for the sources where they changed:
        /// they replace those the state schema keeps, in the batch's transaction.
        var openTransactions: [String: [OpenTransaction]] = [:]
        /// Verified, the batch was read while the one before it committed: a signal meanwhile drops it (`dropLastCut`).
        var readWhileCommitting = false
    }

    /// The positions a batch moves, in its transaction.
    struct Positions: Sendable, Equatable {
        var syncPoints: [String: BSONTimestamp] = [:]
        var resumeTokens: [String: BSONDocument] = [:]
        /// Collections read again from their own start, earlier than the sync point (a load of some collections
        /// while oplog-sync went on): the sync point stays, their starts follow the read.
        var advancedStarts: [String: [Namespace: BSONTimestamp]] = [:]

        var isEmpty: Bool { syncPoints.isEmpty && advancedStarts.isEmpty }
    }

    /// What `Replayer` does next.
    enum Action: Sendable {
        /// Nothing: read on.
        case none
        /// Write and commit the batch (waiting first for one still committing); then report `committed`.
        case commit(Commit)
        /// Wait for the batch still committing.
        case awaitCommitting
        /// Tell the ledger the run is alive.
        case heartbeat
        /// End the run: then ask `finish` for its last batch.
        case stop
    }

    /// Entries read and their changes, for the run's summary.
    struct ReadFigures: Sendable, Equatable {
        var entries = 0
        var inserts = 0, updates = 0, deletes = 0, drops = 0
        var skipped: [String: Int] = [:]
    }

    let settings: Settings
    let names: [String]
    private(set) var read = ReadFigures()
    /// The signal that stopped the run at a boundary before the end of its stream.
    private(set) var interruptedBy: Int32?

    private var changes = ChangeSet()
    private var entriesInBatch = 0
    /// When the batch's first entry was read: `follow.commitAfter` later it is due.
    private var batchOpened: ContinuousClock.Instant?
    /// When the ledger last heard of the run: a batch committed, or a heartbeat.
    private var lastSeen: ContinuousClock.Instant
    private var lastTS: BSONTimestamp?
    /// Transactions are per replica set: each source unwinds its own.
    private var unpackers: [OplogUnpacker]
    /// Per source, the unpacker's `openRevision` the state schema holds.
    private var keptRevision: [Int]
    private var lastRead: [BSONTimestamp?]
    /// A change stream source's entries carry their resume token: stored with the sync point it stands for.
    private var lastToken: [BSONDocument?]
    /// Per source, from where each collection's entries apply.
    private let starts: [ReplayStarts.Position]
    /// Documents verification remembered as differing.
    private var remembered: Int
    /// Some remembered document was left by a batch that did not settle.
    private var unsettled: Bool
    /// Whether the batch cut last settles, for `committed`.
    private var lastCutSettles = false
    /// A pipelined batch may still be committing.
    private(set) var committing = false
    /// What was read before a verified batch that stays committing was cut, and before the batch cut last when it was
    /// read while another committed: a dropped batch leaves the figures and transactions as they were.
    private var beforeNextBatch: ReadState?
    private var beforeLastCut: ReadState?

    private struct ReadState {
        var read: ReadFigures
        var unpackers: [OplogUnpacker]
    }

    /// `remembered`: documents left to verify by an earlier run.
    init(
        names: [String], synced: Set<Namespace>, settings: Settings, remembered: Int = 0,
        now: ContinuousClock.Instant
    ) {
        self.names = names
        self.settings = settings
        unpackers = names.map { OplogUnpacker(synced: synced, readsFrom: settings.starts.readFrom($0)) }
        keptRevision = Array(repeating: 0, count: names.count)
        lastRead = Array(repeating: nil, count: names.count)
        lastToken = Array(repeating: nil, count: names.count)
        starts = names.map { settings.starts.position($0) }
        self.remembered = remembered
        unsettled = remembered > 0
        lastSeen = now
    }

    /// An entry at `ts` was read: what comes before it joins the batch. Ask again after carrying out a commit (a
    /// signal that came while it committed stops the run); `.none` lets the entry be `add`ed.
    mutating func entryRead(at ts: BSONTimestamp, now: ContinuousClock.Instant, signal: Int32?, sourceEnded: Bool)
        -> Action
    {
        guard ts != lastTS else { return .none }
        if entriesInBatch >= settings.batchSize {
            let crowded = settings.follow != nil && remembered >= settings.batchSize
            return cut(settle: crowded, overlapping: true)
        }
        if isDue(now) { return cut(settle: true) }
        if let signal {
            if entriesInBatch > 0 || committing { return cut(settle: false) }
            interruptedBy = signal
            return .stop
        }
        if settings.follow != nil, sourceEnded { return .stop }
        return .none
    }

    /// What an entry that cannot be replayed leaves: its error, and the batch before it to commit first.
    struct Refusal: Error {
        var error: OplogError
        var before: Action
    }

    /// Unwinds `entry` from source `source` into the batch. An entry of an unknown form (or a rename of a synced
    /// collection) joins nothing: the batch before it commits first, unless the entry shares its ts with entries of
    /// the batch (one transaction on SecantusDB), which is never split and waits for a rerun.
    mutating func add(
        _ entry: OplogEntry, from source: Int, resumeToken: BSONDocument?, now: ContinuousClock.Instant
    ) throws {
        let unpacked: OplogUnpacker.Unpacked
        do throws(OplogError) {
            unpacked = try unpackers[source].unpack(entry)
        } catch {
            throw Refusal(error: error, before: error.ts != lastTS ? cut(settle: false) : .none)
        }
        for change in unpacked.changes {
            guard starts[source].applies(change.namespace, at: entry.ts) else {
                read.skipped[Self.alreadyInTables, default: 0] += 1
                continue
            }
            try changes.add(change, at: entry.ts)
            switch change {
            case .insert: read.inserts += 1
            case .update: read.updates += 1
            case .delete: read.deletes += 1
            case .dropCollection: read.drops += 1
            }
        }
        for (kind, count) in unpacked.skips { read.skipped[kind.rawValue, default: 0] += count }
        read.entries += 1
        entriesInBatch += 1
        if batchOpened == nil { batchOpened = now }
        lastTS = entry.ts
        lastRead[source] = entry.ts
        if let resumeToken { lastToken[source] = resumeToken }
    }

    /// The skip kind of a change its collection's tables hold already (before its own start, see `ReplayStarts`).
    static let alreadyInTables = OplogSkip.alreadyInTables.rawValue

    /// Takes the transactions an earlier run left open on each source (by `Settings.transactionNames`).
    mutating func carry(_ transactions: [String: [OpenTransaction]]) throws(OplogError) {
        guard let stateNames = settings.transactionNames else { return }
        for (index, name) in stateNames.enumerated() {
            try unpackers[index].carry(transactions[name] ?? [])
            keptRevision[index] = unpackers[index].openRevision
        }
    }

    /// Takes the earlier entries of a transaction, read back from source `source`'s oplog (oldest first), so that the
    /// entry refused for lacking them can be added again.
    mutating func readBack(_ entries: [OplogEntry], from source: Int) throws(OplogError) {
        for entry in entries {
            let unpacked = try unpackers[source].unpack(entry)
            guard unpacked.changes.isEmpty else {
                throw OplogError(
                    .malformed, "an entry read back as an earlier part of a transaction ends a transaction itself",
                    ts: entry.ts)
            }
        }
    }

    /// The transactions still open, per source name: at the end of a run, left open (and carried, when kept).
    var openTransactions: [OpenTransactionReport] {
        names.indices.flatMap { index in
            unpackers[index].open.map {
                OpenTransactionReport(source: settings.transactionNames?[index] ?? names[index], $0)
            }
        }
    }

    /// An entry could not even be read: the batch before it commits, then the run stops with the error.
    mutating func unreadableEntry() -> Action { cut(settle: false) }

    /// Following, nothing new came within the sources' await time.
    mutating func caughtUp(now: ContinuousClock.Instant, signal: Int32?, sourceEnded: Bool) -> Action {
        guard let follow = settings.follow, signal == nil, !sourceEnded else { return .stop }
        if isDue(now) || (entriesInBatch == 0 && unsettled) { return cut(settle: true) }
        // Not while a batch commits on the session the heartbeat would use (its transaction).
        if !committing, now - lastSeen >= follow.quietInterval {
            lastSeen = now
            return .heartbeat
        }
        return .none
    }

    /// The run ends (its stream ran dry, or `.stop`): its last batch. One that ran dry settles; a run stopped at a
    /// boundary before the end left the rest to the next run. A following run stopped while caught up says so.
    mutating func finish(signal: Int32?) -> Action {
        if settings.verified, committing { return .awaitCommitting }
        let ranDry = interruptedBy == nil
        if ranDry, settings.follow != nil { interruptedBy = signal }
        let leftOpen = unpackers.reduce(0) { $0 + $1.open.reduce(0) { $0 + $1.parts } }
        if leftOpen > 0 { read.skipped[OplogSkip.transactionLeftOpen.rawValue, default: 0] += leftOpen }
        return cut(settle: ranDry)
    }

    /// The batch `.commit` carried committed (or, pipelined, went on committing); verification left `remembered`
    /// documents differing.
    mutating func committed(remembered: Int, now: ContinuousClock.Instant) {
        self.remembered = remembered
        // After a settling batch, the documents still remembered have later entries, which bring them back.
        unsettled = !lastCutSettles && remembered > 0
        lastSeen = now
    }

    /// The batch cut last was read while the verified batch before it committed, and `signal` came meanwhile: it is
    /// dropped (the next run reads its entries again) and the run stops, as if the signal had come before it was read.
    mutating func dropLastCut(signal: Int32) {
        guard let before = beforeLastCut else { return }
        read = before.read
        unpackers = before.unpackers
        beforeLastCut = nil
        committing = false
        interruptedBy = signal
    }

    /// The batch committing was waited for; verified, it left `remembered` documents differing (it settled none: a
    /// batch that settles never stays committing).
    mutating func committingDone(remembered: Int) {
        committing = false
        guard settings.verified else { return }
        self.remembered = remembered
        unsettled = remembered > 0
    }

    private func isDue(_ now: ContinuousClock.Instant) -> Bool {
        guard let follow = settings.follow, let batchOpened else { return false }
        return now - batchOpened >= follow.commitAfter
    }

    /// Ends the batch here. `overlapping`: a pipelined batch may stay committing while the next one is read.
    private mutating func cut(settle: Bool, overlapping: Bool = false) -> Action {
        let settling = settle && unsettled && settings.verified
        guard entriesInBatch > 0 || settling else { return committing ? .awaitCommitting : .none }
        var commit = Commit(changes: changes, entries: entriesInBatch, end: lastTS, settle: settle)
        for (index, name) in (settings.transactionNames ?? []).enumerated()
        where unpackers[index].openRevision != keptRevision[index] {
            commit.openTransactions[name] = unpackers[index].open
            keptRevision[index] = unpackers[index].openRevision
        }
        if entriesInBatch > 0, settings.movingSyncPoints {
            commit.confirmsReads = true
            // The oldest entry of an open transaction is read again after a restart; so is the last entry read.
            for (index, name) in names.enumerated() {
                guard let point = [unpackers[index].oldestOpenTransaction, lastRead[index]].compactMap({ $0 }).min()
                else { continue }
                if let base = starts[index].base, point < base {
                    // Still catching collections up from their own starts: never move the sync point back.
                    for (collection, start) in starts[index].collections where start < point {
                        commit.positions.advancedStarts[name, default: [:]][collection] = point
                    }
                    continue
                }
                commit.positions.syncPoints[name] = point
                if point == lastRead[index], let token = lastToken[index] {
                    commit.positions.resumeTokens[name] = token
                }
            }
        }
        // A verified batch's repairs change rows the next batch's read-ahead would not see; an emptied collection,
        // rows of documents the batch did not touch.
        let overlaps = settings.pipelined || (settings.overlapsVerified && settings.verified && settings.follow == nil)
        commit.staysCommitting = overlapping && overlaps && !settle && changes.emptied.isEmpty
        beforeLastCut = settings.verified && committing ? beforeNextBatch : nil
        commit.readWhileCommitting = beforeLastCut != nil
        beforeNextBatch =
            settings.verified && commit.staysCommitting ? ReadState(read: read, unpackers: unpackers) : nil
        committing = commit.staysCommitting
        lastCutSettles = settle
        changes = ChangeSet()
        entriesInBatch = 0
        batchOpened = nil
        return .commit(commit)
    }
}
