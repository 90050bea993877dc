/// Entries of one or several oplog sources in ts order, each tagged with the index of its source.
protocol OplogStream {
    /// The sources' names, in index order.
    var names: [String] { get }
    /// Told how many entries each read brought.
    var progress: Progress? { get set }
    /// The next entry and its source's index. Nil when none can be given: the end of a catch-up, or, while
    /// following, nothing new within the sources' await time (asking again waits for more).
    mutating func next() async throws -> (source: Int, document: BSONDocument)?
    /// Called before a batch moves the sync points past what was read: throws (`historyLost`) when a source cannot
    /// vouch that its reads skipped nothing; false when a source put the check off (see
    /// `OplogEntrySource.confirmReads`): the batch then moves no sync point. `force`: the batch that ends the run.
    mutating func confirmReads(force: Bool) async throws -> Bool
    /// A source will give nothing more, ever (a change stream invalidated): a following run stops at it.
    var ended: Bool { get }
    /// Source `source`'s entries of a transaction up to its entry at `ts` (see
    /// `OplogEntrySource.transactionParts`); nil when they cannot be read back.
    mutating func transactionParts(source: Int, endingAt ts: BSONTimestamp) async throws -> [BSONDocument]?
}

extension MergedOplogSources: OplogStream {
    /// A catch-up ends where its sources run dry.
    var ended: Bool { false }
}

/// How `oplog-sync --follow` tails its sources.
struct FollowSettings: Sendable {
    /// A batch commits this long after its first entry was read, unless `batch_size` entries commit it first.
    var commitAfter: Duration
    /// How long a poll that found nothing waits before it answers: the most a due commit or a signal waits.
    var wait: Duration
    /// While nothing comes, the run tells the ledger it is alive (`check --max-age`) and a change stream moves its
    /// stored token this often: six commit periods, at most 30 s.
    var quietInterval: Duration

    init(commitSeconds: Int) {
        commitAfter = .seconds(commitSeconds)
        wait = min(.seconds(1), .milliseconds(commitSeconds * 500))
        quietInterval = min(.seconds(30), .seconds(6 * commitSeconds))
    }
}

/// A source that is tailed while it keeps growing, and can say how far it has surely been read.
protocol TailedOplogSource: OplogEntrySource {
    /// A position such that every entry at or before it is committed and visible: once a read that started after
    /// this answer comes back empty, no entry up to it is still to come.
    func safePosition() async throws -> BSONTimestamp
    /// See `OplogStream.confirmReads`.
    mutating func confirmReads(force: Bool) async throws -> Bool
    /// See `OplogStream.ended`.
    var ended: Bool { get }
}

extension TailedOplogSource {
    /// An oplog never ends: one rolled past its reader throws instead.
    var ended: Bool { false }
}

/// A replica set's oplog from a position on, without end (`oplog-sync --follow`), read by polling: each poll asks
/// the source's safe position (`hello`'s majority commit point: no write at or below it is still committing) and reads
/// the range from the last entry read up to it with one plain cursor, drained in chunks; a poll that finds nothing
/// waits `FollowSettings.wait` before answering "nothing new yet". Not a tailable cursor: SecantusDB's tailable await
/// cursors on `local.oplog.rs` lose entries written while a `getMore` runs (seen: 2 of 370 and 5 of 369 entries of a
/// steady writer missing, where bounded polls missed none of 760), and a range bounded by the commit point never
/// passes an entry still to come. The cost is one `hello` and one `find` a poll (the `ts` query scans on SecantusDB;
/// on mongod it reads from the oplog's end). The oplog's edge is checked as a catch-up run checks it, and again before
/// each batch moves the sync point (`confirmReads`); `CappedPositionLost` is "init load needed", never "nothing new".
struct TailingOplogSource: TailedOplogSource {
    let name: String
    private let session: MongoSession
    /// The current poll's range, until drained.
    private var cursor: MongoCursorID?
    private let start: BSONTimestamp
    /// The last entry read.
    private var readThrough: BSONTimestamp?
    private var checkedAfterFirstBatch = false
    /// The last entry read when the oplog was last found to reach back far enough (at first, the start).
    private var confirmedThrough: BSONTimestamp
    private let wait: Duration
    private let batchSize: Int

    init(name: String, uri: String, from start: BSONTimestamp, batchSize: Int, wait: Duration) async throws {
        self.name = name
        self.start = start
        confirmedThrough = start
        self.wait = wait
        self.batchSize = batchSize
        session = try MongoSession(uri: uri, name: "oplog-\(name)")
        _ = try await session.safeOplogPosition(source: name)  // reached, and a replica set member with an oplog
        try await ServerOplogSource.checkReachesBack(session, name: name, start: start)
    }

    /// `hello`'s majority commit point: one command, whatever the oplog's size.
    func safePosition() async throws -> BSONTimestamp { try await session.safeOplogPosition(source: name) }

    /// The next entries of the current poll; when it is drained, of a new poll up to the safe position asked now (so
    /// an empty answer means no entry up to a safe position asked during this call is left). Empty after `wait`.
    mutating func next(maximum: Int) async throws -> [BSONDocument] {
        var batch: [RawDocument] = []
        for _ in 0..<2 {
            let fresh = cursor == nil
            if fresh {
                let safe = try await session.safeOplogPosition(source: name)
                var range: BSONDocument = ["$lte": .timestamp(safe)]
                if let readThrough { range["$gt"] = .timestamp(readThrough) } else { range["$gte"] = .timestamp(start) }
                cursor = try await session.find(
                    MongoSession.oplog, filter: ["ts": .document(range)],
                    options: FindOptions(sort: ["$natural": .int32(1)], batchSize: Int32(clamping: batchSize)))
            }
            do {
                batch = try await session.nextBatch(cursor!, maximum: maximum)
            } catch {
                guard error.code == 136 else { throw error }  // CappedPositionLost: the oplog rolled under the reader
                throw OplogError(
                    .historyLost,
                    "the oplog of source \(name) rolled past the reader at \(readThrough ?? start): an init load is "
                        + "needed")
            }
            if !(await session.isOpen(cursor!)) { cursor = nil }  // drained
            if !batch.isEmpty || fresh { break }
        }
        if batch.isEmpty {
            if !checkedAfterFirstBatch, readThrough == nil {
                checkedAfterFirstBatch = true
                try await ServerOplogSource.checkReachesBack(session, name: name, start: start)
            }
            try await Task.sleep(for: wait)
            return []
        }
        var documents: [BSONDocument] = []
        documents.reserveCapacity(batch.count)
        for raw in batch {
            documents.append(try BSONDecoder.decode(raw.bytes, wrapperLevels: OplogEntry.wrapperLevels))
        }
        if !checkedAfterFirstBatch {
            checkedAfterFirstBatch = true
            // Reading the entry at the start proves the oplog reached back to it; otherwise ask again now that the
            // first batch is read (the oplog only loses entries from its old end).
            if documents.first?["ts"] != .timestamp(start) {
                try await ServerOplogSource.checkReachesBack(session, name: name, start: start)
            }
        }
        if case .timestamp(let last)? = documents.last?["ts"] { readThrough = last }
        return documents
    }

    mutating func transactionParts(endingAt ts: BSONTimestamp) async throws -> [BSONDocument]? {
        try await ServerOplogSource.transactionParts(session, endingAt: ts)
    }

    /// See `ServerOplogSource.confirmReads`; a following run's batches are seconds apart, so each one checks.
    mutating func confirmReads(force: Bool) async throws -> Bool {
        confirmedThrough = try await ServerOplogSource.confirmReads(
            session, name: name, readThrough: readThrough, confirmedThrough: confirmedThrough)
        return true
    }
}

/// The entries of several tailed sources (the shards of a cluster) merged by ts while they keep coming. An entry of
/// source A at ts T may go out only once every other source has shown it has nothing earlier left to give: either an
/// entry of its own at or after T is waiting, or its watermark has reached T. A source's watermark is its safe
/// position (`hello`'s majority commit point, read just before a read that came back empty): SecantusDB and an idle
/// mongod shard write no entry for a long while (mongod's periodic no-op comes every 10 s), but their safe position
/// moves with the clock (SecantusDB) or with that no-op (mongod). One source passes through as it is.
struct FollowedOplogSources: OplogStream {
    private var sources: [any TailedOplogSource]
    private var heads: SourceHeads
    private var watermarks: [BSONTimestamp?]
    private let chunk: Int
    var progress: Progress?

    init(_ sources: [any TailedOplogSource], chunk: Int) {
        self.sources = sources
        heads = SourceHeads(count: sources.count)
        watermarks = Array(repeating: nil, count: sources.count)
        self.chunk = max(1, chunk)
    }

    var names: [String] { sources.map(\.name) }

    /// Reads the next chunk of a source whose buffer is used up; with several sources, an empty read raises the
    /// source's watermark to the safe position asked just before it.
    private mutating func refill(_ index: Int) async throws {
        let safe = sources.count > 1 ? try await sources[index].safePosition() : nil
        let chunk = try await sources[index].next(maximum: chunk)
        heads.fill(index, with: chunk)
        if chunk.isEmpty {
            if let safe { watermarks[index] = max(watermarks[index] ?? safe, safe) }
        } else {
            progress?.add(chunk.count)
        }
    }

    mutating func next() async throws -> (source: Int, document: BSONDocument)? {
        for index in sources.indices where heads.head(index) == nil { try await refill(index) }
        while true {
            guard let best = heads.earliest() else { return nil }
            guard let ts = heads.headTS(best) else { return heads.take(best) }
            // Sources with nothing waiting whose watermark is short of ts: asked once more, then the entry waits.
            let blocking = sources.indices.filter { $0 != best && heads.head($0) == nil && !covered($0, through: ts) }
            if blocking.isEmpty { return heads.take(best) }
            var refilled = false
            for index in blocking {
                try await refill(index)
                if heads.head(index) != nil { refilled = true }
            }
            let stillBlocked = blocking.contains { heads.head($0) == nil && !covered($0, through: ts) }
            if !refilled && stillBlocked { return nil }
        }
    }

    /// Whether a source has given every entry it has up to `ts`.
    private func covered(_ index: Int, through ts: BSONTimestamp) -> Bool {
        guard let watermark = watermarks[index] else { return false }
        return watermark >= ts
    }

    mutating func confirmReads(force: Bool) async throws -> Bool {
        for index in sources.indices { _ = try await sources[index].confirmReads(force: force) }
        return true
    }

    var ended: Bool { sources.contains { $0.ended } }

    mutating func transactionParts(source: Int, endingAt ts: BSONTimestamp) async throws -> [BSONDocument]? {
        try await sources[source].transactionParts(endingAt: ts)
    }
}
