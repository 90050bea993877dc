/// Where replay reads entries from, in oplog order: a replica set's `local.oplog.rs`, or a file of the format
/// `mongodump --oplog` writes.
protocol OplogEntrySource {
    /// A name for messages and the ledger: the `[oplog:<name>]` source, or the file.
    var name: String { get }
    /// The next entries (at most `maximum`); empty when the source has no more to give in this run.
    mutating func next(maximum: Int) async throws -> [BSONDocument]
    /// Called before a batch moves the sync point past what was read: throws (`historyLost`) when the source cannot
    /// vouch that its reads skipped nothing; false when it put the check off (it was checked a moment ago, and
    /// `force` is not set): the batch then commits without moving the sync point, which a later batch moves.
    mutating func confirmReads(force: Bool) async throws -> Bool
    /// The entries of a transaction up to its entry at `ts`, oldest first, read back by following `prevOpTime` to
    /// the transaction's first entry; nil when the source cannot read back (a file holds only what it holds) or no
    /// longer holds one of them.
    mutating func transactionParts(endingAt ts: BSONTimestamp) async throws -> [BSONDocument]?
}

extension OplogEntrySource {
    /// A file holds every entry it ever will.
    mutating func confirmReads(force: Bool) async throws -> Bool { true }

    mutating func transactionParts(endingAt ts: BSONTimestamp) async throws -> [BSONDocument]? { nil }
}

/// The next chunk of a source's entries read (and decoded) ahead: while the replayer applies and commits a batch, the
/// next chunk is read in a task of its own, so the source's answers and their decoding leave the replay's path (on a
/// second core when there is one). Memory holds at most two chunks. A chunk shorter than asked ends the source.
struct ChunkReadAhead {
    /// Reads up to the given number of entries; fewer only at the source's end.
    typealias Read = @Sendable (Int) async throws -> [BSONDocument]
    private let read: Read
    /// The chunk being read ahead, with the size asked for.
    private var ahead: (size: Int, chunk: Task<[BSONDocument], any Error>)?
    /// Entries read but not given yet (only when a call asks for fewer than the chunk read ahead).
    private var pending: [BSONDocument] = []
    private var atEnd = false

    init(_ read: @escaping Read) { self.read = read }

    /// Every entry of the source was read and given out.
    var exhausted: Bool { atEnd && pending.isEmpty }

    /// At most `maximum` entries; empty once the source ended. A failure reading ahead is the failure of this call.
    mutating func next(maximum: Int) async throws -> [BSONDocument] {
        if let ahead {
            self.ahead = nil
            let chunk = try await ahead.chunk.value
            if chunk.count < ahead.size { atEnd = true }
            pending += chunk
        }
        if pending.count < maximum, !atEnd {
            let wanted = maximum - pending.count
            let chunk = try await read(wanted)
            if chunk.count < wanted { atEnd = true }
            pending += chunk
        }
        let documents: [BSONDocument]
        if pending.count <= maximum {
            documents = pending
            pending = []
        } else {
            documents = Array(pending.prefix(maximum))
            pending.removeFirst(maximum)
        }
        if !atEnd, pending.isEmpty {
            ahead = (maximum, Task.detached { [read] in try await read(maximum) })
        }
        return documents
    }
}

/// The entries of an oplog file (`oplog.bson` from `mongodump --oplog`: BSON documents one after another), in order,
/// read and decoded one chunk ahead (`ChunkReadAhead`).
struct FileOplogSource: OplogEntrySource {
    let name: String
    private var chunks: ChunkReadAhead

    /// The file's reader, read by one task at a time: the chunk read ahead starts only once the previous one ended.
    private final class Reader: @unchecked Sendable {
        let file: DocumentFileReader
        init(_ file: DocumentFileReader) { self.file = file }

        func chunk(maximum: Int) throws -> [BSONDocument] {
            var documents: [BSONDocument] = []
            documents.reserveCapacity(maximum)
            while documents.count < maximum, let bytes = try file.next() {
                documents.append(try BSONDecoder.decode(bytes, wrapperLevels: OplogEntry.wrapperLevels))
            }
            return documents
        }
    }

    init(path: String) throws {
        name = path
        let reader = Reader(try DocumentFileReader(path: path, format: .bson))
        chunks = ChunkReadAhead { try reader.chunk(maximum: $0) }
    }

    mutating func next(maximum: Int) async throws -> [BSONDocument] { try await chunks.next(maximum: maximum) }
}

/// The entries of a replica set's oplog from a position (inclusive: the entry at a sync point is read again and
/// applies harmlessly) up to the position that was newest when the run started: a run from crontab catches up and
/// ends, it does not chase writes that keep coming. One plain cursor over that range, as a plain reader reads it
/// (the `ts` query may scan the oplog: it is asked once per run), read and decoded one chunk ahead of the replay
/// (`ChunkReadAhead`); it ends by itself at the range's end, with no wait.
///
/// The oplog's edge costs a query of its own (on SecantusDB a scan of the whole oplog, on mongod an index read), so
/// the checks are as few as the guarantee allows: the first chunk is read when the source opens, and reading the entry
/// at the start proves that the oplog reached back to it; otherwise (a start that is no entry: an init load's
/// position) the first confirmation tells. Reads are confirmed at most once per `confirmInterval` while they go on,
/// and by the first confirmation once the range's last chunk is read, on a connection of its own: asked then, not when
/// the chunk comes in, so it also vouches for the time a verified batch still committing took (the reads of the next
/// batch go on meanwhile, see `ReplayBatcher`); it also covers a range that ended short of its end position. Until a
/// confirmation, batches commit without moving the sync point; one that finds the oplog rolled past throws, so the run
/// ends with exit 1 and its sync point where it was.
struct ServerOplogSource: OplogEntrySource {
    let name: String
    /// For a transaction read back (rare): a session opened then.
    private let uri: String
    /// The checks' own connection: on the cursor's (which `chunks` holds), a check (a scan on SecantusDB) would hold
    /// the reads up.
    private let checkSession: MongoSession
    /// The newest position when the run started; entries after it are left to the next run.
    let end: BSONTimestamp
    private let start: BSONTimestamp
    private var chunks: ChunkReadAhead
    /// The chunk read when the source opened, until it is given.
    private var firstChunk: [BSONDocument]?
    /// The last entry read, and the last one read when the oplog was last found to reach back far enough.
    private var readThrough: BSONTimestamp?
    private var confirmedThrough: BSONTimestamp
    /// The first entry read: the oplog's oldest when history was lost before the range was read.
    private var firstRead: BSONTimestamp?
    /// When the oplog's edge was last checked, and how long that took: each check is one query (an index read on
    /// mongod; on SecantusDB a scan of the whole oplog, 2 s at 100k entries), so a catch-up of many small batches
    /// checks at most once per `confirmInterval`, or twenty times the last check's time when that is longer (so
    /// checks cost at most a twentieth of the run), and at its end.
    private var lastConfirmation: (at: ContinuousClock.Instant, took: Duration)?
    static let confirmInterval: Duration = .seconds(10)

    init(name: String, uri: String, from start: BSONTimestamp, batchSize: Int) async throws {
        self.name = name
        self.uri = uri
        self.start = start
        confirmedThrough = start
        let session = try MongoSession(uri: uri, name: "oplog-\(name)")
        let checkSession = try MongoSession(uri: uri, name: "oplog-\(name)-check")
        self.checkSession = checkSession
        guard let newest = try await session.newestOplogPosition() else {
            throw GeneralError(
                .configError,
                "oplog source \(name) has no oplog entries: \(Tool.oplogSync) needs a replica set member with "
                    + "local.oplog.rs"
            )
        }
        end = newest
        let cursor = try await session.find(
            MongoSession.oplog, filter: ["ts": .document(["$gte": .timestamp(start), "$lte": .timestamp(newest)])],
            options: FindOptions(sort: ["$natural": .int32(1)], batchSize: Int32(clamping: batchSize)))
        chunks = ChunkReadAhead { maximum in
            let batch: [RawDocument]
            do {
                batch = try await session.nextBatch(cursor, maximum: maximum)
            } catch let error as MongoError where error.code == 136 {
                // CappedPositionLost: the oplog rolled under the reader.
                throw OplogError(
                    .historyLost,
                    "the oplog of source \(name) rolled past the reader at \(start): an init load is needed")
            }
            return try batch.map { try BSONDecoder.decode($0.bytes, wrapperLevels: OplogEntry.wrapperLevels) }
        }
        // Read before anything is replayed, so a source out of reach (or refusing the read) stops the run before it
        // starts.
        let first = try await chunks.next(maximum: batchSize)
        firstChunk = first
        if case .timestamp(let last)? = first.last?["ts"] { readThrough = last }
        if case .timestamp(let ts)? = first.first?["ts"] { firstRead = ts }
        if first.isEmpty {
            // Nothing to replay: whether the oplog still reaches back is all there is to tell.
            try await Self.checkReachesBack(checkSession, name: name, start: start)
        }
        // A start that is no entry is checked with the reads after it: the oplog's oldest entry, asked after them,
        // tells both whether it reached back to the start and whether it kept every entry read.
        lastConfirmation = (ContinuousClock.now, .zero)
    }

    /// The oplog only loses entries from its old end: when its oldest entry is later than the start, entries replay
    /// needs are gone ("the oplog moved past me", never "nothing happened").
    static func checkReachesBack(_ session: MongoSession, name: String, start: BSONTimestamp) async throws {
        guard let oldest = try await session.oldestOplogTimestamp(), oldest > start else { return }
        throw OplogError(
            .historyLost,
            "the oplog of source \(name) no longer reaches back to its sync point \(start) (oldest entry \(oldest)): "
                + "an init load is needed")
    }

    /// SecantusDB's cursors do not fail when the oplog rolls under them (mongod's answer `CappedPositionLost`): they go
    /// on after the pruned entries. An oldest entry no later than `last`, an entry read before, proves that every
    /// entry read since was still there when it was read, so none was skipped; a later one is `historyLost`.
    static func checkNotRolledPast(_ session: MongoSession, name: String, last: BSONTimestamp) async throws {
        guard let oldest = try await session.oldestOplogTimestamp(), oldest > last else { return }
        throw OplogError(
            .historyLost,
            "the oplog of source \(name) rolled past the reader: its oldest entry \(oldest) is later than \(last), "
                + "read before, so entries may have gone before they were read: an init load is needed")
    }

    /// `checkNotRolledPast` from the position confirmed before, when entries were read since: one query (a scan on
    /// SecantusDB, an index read on mongod) per batch that moves the sync point; answers the new confirmed position.
    static func confirmReads(
        _ session: MongoSession, name: String, readThrough: BSONTimestamp?, confirmedThrough: BSONTimestamp
    ) async throws -> BSONTimestamp {
        guard let readThrough, readThrough > confirmedThrough else { return confirmedThrough }
        try await checkNotRolledPast(session, name: name, last: confirmedThrough)
        return readThrough
    }

    /// A session of its own: the range's session may be reading ahead, and `checkSession` checking.
    mutating func transactionParts(endingAt ts: BSONTimestamp) async throws -> [BSONDocument]? {
        try await Self.transactionParts(MongoSession(uri: uri, name: "oplog-\(name)-transaction"), endingAt: ts)
    }

    /// Reads a transaction's entries back from the oplog, one `ts` query each (a scan on SecantusDB: only for a
    /// transaction that began before the replay's start), following `prevOpTime` to its first entry.
    static func transactionParts(_ session: MongoSession, endingAt ts: BSONTimestamp) async throws -> [BSONDocument]? {
        var parts: [BSONDocument] = []
        var next: BSONTimestamp? = ts
        while let ts = next {
            guard let found = try await session.findAll(MongoSession.oplog, filter: ["ts": .timestamp(ts)]).first
            else { return nil }
            let entry = try OplogEntry(found)
            // A link back to itself or forward would never end.
            if let previous = entry.previousPart, previous >= ts { return nil }
            parts.append(found)
            next = entry.previousPart
        }
        return parts.reversed()
    }

    /// The check of the reads after `confirmed` (an entry read, or the start), asked after them: the oplog's oldest
    /// entry no later than `confirmed`. A later one is lost history: lost before the range was read when the oldest
    /// entry is the first one read (`firstRead`), or the start itself was never reached; else under the reader.
    private static func check(
        _ session: MongoSession, name: String, confirmed: BSONTimestamp, start: BSONTimestamp,
        firstRead: BSONTimestamp?
    ) async throws {
        guard let oldest = try await session.oldestOplogTimestamp(), oldest > confirmed else { return }
        if confirmed == start, oldest <= (firstRead ?? oldest) {
            try await checkReachesBack(session, name: name, start: start)
        }
        try await checkNotRolledPast(session, name: name, last: confirmed)
    }

    mutating func confirmReads(force: Bool) async throws -> Bool {
        if (readThrough ?? start) <= confirmedThrough { return true }
        let now = ContinuousClock.now
        // Once nothing is left to read, one check vouches for every read. It also tells a range that ended short of
        // `end` (as a rule an entry's ts; on SecantusDB, whose commit point moves with its clock, rarely) because no
        // entry was left from one whose entries the oplog lost.
        let readAll = firstChunk == nil && chunks.exhausted
        if !force, !readAll, let last = lastConfirmation, now - last.at < max(Self.confirmInterval, last.took * 20) {
            return false
        }
        try await Self.check(
            checkSession, name: name, confirmed: confirmedThrough, start: start, firstRead: firstRead)
        confirmedThrough = readThrough ?? confirmedThrough
        lastConfirmation = (now, ContinuousClock.now - now)
        return true
    }

    mutating func next(maximum: Int) async throws -> [BSONDocument] {
        let documents: [BSONDocument]
        if let first = firstChunk {
            firstChunk = first.count > maximum ? Array(first.dropFirst(maximum)) : nil
            documents = firstChunk == nil ? first : Array(first.prefix(maximum))
        } else {
            documents = try await chunks.next(maximum: maximum)
            if case .timestamp(let last)? = documents.last?["ts"] { readThrough = last }
        }
        return documents
    }
}

/// The entries read from each of several sources and not given out yet: one chunk per source, and which source's
/// next entry comes first in ts order. An entry without a ts comes first, so the replayer meets it at once and
/// refuses it. Shared by the catch-up merge (`MergedOplogSources`) and the following one (`FollowedOplogSources`).
struct SourceHeads {
    private var buffers: [[BSONDocument]]
    private var positions: [Int]

    init(count: Int) {
        buffers = Array(repeating: [], count: count)
        positions = Array(repeating: 0, count: count)
    }

    /// The next entry of source `index`, nil when its chunk is used up.
    func head(_ index: Int) -> BSONDocument? {
        positions[index] < buffers[index].count ? buffers[index][positions[index]] : nil
    }

    func headTS(_ index: Int) -> BSONTimestamp? {
        if case .timestamp(let ts)? = head(index)?["ts"] { ts } else { nil }
    }

    /// Replaces source `index`'s used-up chunk.
    mutating func fill(_ index: Int, with chunk: [BSONDocument]) {
        buffers[index] = chunk
        positions[index] = 0
    }

    /// The source whose next entry comes first; nil when no source has one waiting.
    func earliest() -> Int? {
        var best: Int?
        for index in buffers.indices where head(index) != nil {
            guard let current = best else {
                best = index
                continue
            }
            guard let ts = headTS(index) else { return index }
            if let currentTS = headTS(current), ts < currentTS { best = index }
        }
        return best
    }

    mutating func take(_ index: Int) -> (source: Int, document: BSONDocument) {
        defer { positions[index] += 1 }
        return (index, buffers[index][positions[index]])
    }
}

/// The entries of several sources (one replica set each: the shards of a cluster) merged into one stream by ts,
/// each tagged with the index of its source; one source passes through as it is. Reads each source in chunks, so
/// memory holds one chunk per source.
struct MergedOplogSources {
    private var sources: [any OplogEntrySource]
    private var heads: SourceHeads
    private var exhausted: [Bool]
    private let chunk: Int
    /// Told how many entries each refill brought.
    var progress: Progress?

    init(_ sources: [any OplogEntrySource], chunk: Int) {
        self.sources = sources
        heads = SourceHeads(count: sources.count)
        exhausted = Array(repeating: false, count: sources.count)
        self.chunk = max(1, chunk)
    }

    var names: [String] { sources.map(\.name) }

    /// See `OplogEntrySource.confirmReads`: true when every source vouches for its reads.
    mutating func confirmReads(force: Bool) async throws -> Bool {
        var confirmed = true
        for index in sources.indices where try await !sources[index].confirmReads(force: force) { confirmed = false }
        return confirmed
    }

    /// See `OplogStream.transactionParts`.
    mutating func transactionParts(source: Int, endingAt ts: BSONTimestamp) async throws -> [BSONDocument]? {
        try await sources[source].transactionParts(endingAt: ts)
    }

    /// The next entry of the stream, with its source's index; nil once every source is exhausted.
    mutating func next() async throws -> (source: Int, document: BSONDocument)? {
        for index in sources.indices where heads.head(index) == nil && !exhausted[index] {
            let chunk = try await sources[index].next(maximum: chunk)
            heads.fill(index, with: chunk)
            if chunk.isEmpty { exhausted[index] = true } else { progress?.add(chunk.count) }
        }
        guard let best = heads.earliest() else { return nil }
        return heads.take(best)
    }
}
