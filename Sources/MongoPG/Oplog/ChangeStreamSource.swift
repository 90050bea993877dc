import Logging

/// Where one change stream of a source starts: the resume token stored with its sync point, or (first run after an
/// init load, or a source that read the oplog until now) a cluster time.
enum ChangeStreamStart: Sendable, Equatable {
    case token(BSONDocument, ts: BSONTimestamp?)
    case time(BSONTimestamp)

    var ts: BSONTimestamp? {
        switch self {
        case .token(_, let ts): ts
        case .time(let ts): ts
        }
    }
}

extension SyncConfig.OplogSource {
    /// The change streams a `changestream` source reads, each with the name its sync point is kept under: the
    /// source's own name for `scope = cluster`, `<name>/<database>` for each database of `collections` with
    /// `scope = database`.
    func changeStreams(for collections: [Namespace]) -> [(name: String, scope: ChangeStreamScope)] {
        switch scope {
        case .cluster:
            return [(name, .cluster)]
        case .database:
            return Set(collections.map(\.database)).sorted().map { ("\(name)/\($0)", .database($0)) }
        }
    }
}

/// The events of one change stream (a `[oplog:<name>]` source in `mode = changestream`), as the oplog entries the
/// replayer reads (`ChangeEventConverter`), from its start up to the source's safe position when the run started
/// (`hello`'s majority commit point, as for an oplog source): a run from crontab catches up and ends. When the
/// stream has handed out everything (a `getMore` with no event), a last no-op entry carries its post-batch resume
/// token, so the sync point of a source whose collections are idle still moves and never falls out of the window.
///
/// The stream filters in the server: its pipeline's `$match` keeps the synced collections' events. A reference
/// type, so the caller can ask after the replay why the stream ended (`invalidation`).
final class ChangeStreamSource: TailedOplogSource {
    let name: String
    /// The newest safe position when the run started; later events are left to the next run.
    let end: BSONTimestamp
    let start: ChangeStreamStart
    /// Set when the stream ended at an `invalidate` event: the events before it were handed out; an init load is
    /// needed (the caller throws once they are committed).
    private(set) var invalidation: OplogError?
    private let stream: MongoChangeStream
    private let session: MongoSession
    private var converter = ChangeEventConverter()
    /// The ts of the last entry handed out.
    private var lastTS: BSONTimestamp?
    /// The token after the last `getMore` that brought no event.
    private var lastEmptyToken: BSONDocument?
    private var finished = false
    private var checkedAfterFirstBatch = false
    /// The source's oplog could be read for the edge check (nil: not asked yet).
    private var oplogReadable: Bool?
    private let logger: Logger
    /// Keeps waiting on the stream after it caught up, with no end position (for a following run): each call then
    /// answers what arrived within the await time, and an empty answer means "nothing new yet", never "done".
    let following: Bool
    /// The token of the last position entry handed out, so a quiet following stream does not repeat it.
    private var lastPositionToken: BSONDocument?
    /// When a following stream last handed out a position entry: a quiet stream moves its sync point (and its
    /// stored token) every `positionInterval`, not with every empty `getMore`, each a commit.
    private var lastPositionAt: ContinuousClock.Instant?
    private let positionInterval: Duration

    /// Checks the start and opens the stream. A stored token whose history is gone (code 286), a start older than a
    /// readable oplog's oldest entry, and a refused token are exit 1 naming the source; missing privileges are 69
    /// naming them.
    init(
        source: SyncConfig.OplogSource, name: String, scope: ChangeStreamScope, collections: [Namespace],
        start: ChangeStreamStart, batchSize: Int, logger: Logger, following: FollowSettings? = nil
    ) async throws {
        self.name = name
        self.start = start
        self.logger = logger
        self.following = following != nil
        positionInterval = following?.quietInterval ?? .zero
        session = try MongoSession(uri: source.uri, name: "changestream-\(name)")
        end = try await session.safeOplogPosition(source: name)
        let synced = collections.filter { namespace in
            if case .database(let database) = scope { namespace.database == database } else { true }
        }
        var options = ChangeStreamOptions(
            updateLookup: source.updateLookup, batchSize: Int32(clamping: batchSize),
            maxAwaitMilliseconds: following.map { Int64($0.wait / .milliseconds(1)) } ?? 1000)
        switch start {
        case .token(let token, _): options.resumeAfter = token
        case .time(let ts): options.startAtOperationTime = ts
        }
        do {
            stream = try await MongoChangeStream(
                uri: source.uri, name: name, scope: scope, pipeline: [ChangeEventConverter.matchStage(for: synced)],
                options: options)
        } catch let error as MongoError {
            throw Self.explained(error, source: source, name: name, scope: scope, start: start)
        }
        if case .time(let ts) = start { try await checkReachesBack(ts) }
    }

    /// The oplog only loses entries from its old end: a start older than its oldest entry means events are gone.
    /// mongod refuses such a `startAtOperationTime` itself (286); SecantusDB starts at its oldest entry instead, so
    /// the oplog is asked when the source's user may read it. When it may not, the server's own check is all there
    /// is, and the log says so.
    private func checkReachesBack(_ start: BSONTimestamp) async throws {
        guard oplogReadable != false else { return }
        let oldest: BSONTimestamp?
        do {
            oldest = try await session.oldestOplogTimestamp()
            oplogReadable = true
        } catch let error as MongoError where error.kind == .authentication {
            oplogReadable = false
            logger.info(
                """
                the change stream source's user may not read local.oplog.rs: the server alone checks that the stream \
                reaches back to its start
                """, metadata: ["source": "\(name)"])
            return
        }
        guard let oldest, oldest > start else { return }
        throw OplogError(
            .historyLost,
            "the oplog of change stream source \(name) no longer reaches back to its start \(start) (oldest entry "
                + "\(oldest)): the events since are gone; an init load is needed")
    }

    /// Server answers that mean the stream cannot start where it must: the history is gone.
    static let historyLostCodes: Set<UInt32> = [
        286,  // ChangeStreamHistoryLost: the token's (or the start's) entry fell off the oplog
        280,  // ChangeStreamFatalError: the token's event is no longer in the stream
        260,  // InvalidResumeToken: a token that cannot be resumed (from an invalidate, or malformed)
        136,  // CappedPositionLost: the oplog rolled under the stream
    ]

    /// FailedToParse: the server's answer to a resume token that is no token (no `_data`, not hex, not one of its).
    static let failedToParse: UInt32 = 9

    /// A MongoDB error with what it means for this source: lost history (exit 1), or missing privileges (69).
    static func explained(
        _ error: MongoError, source: SyncConfig.OplogSource, name: String, scope: ChangeStreamScope,
        start: ChangeStreamStart
    ) -> any Error {
        if let code = error.code, historyLostCodes.contains(code) {
            let from: String
            switch start {
            case .token(_, let ts): from = "its stored resume token" + (ts.map { " (sync point \($0))" } ?? "")
            case .time(let ts): from = "its start \(ts)"
            }
            return OplogError(
                .historyLost,
                "the change stream of source \(name) cannot resume from \(from): \(error.message) [code \(code)]; "
                    + "the events since are gone from the server's history: an init load is needed")
        }
        if case .token(_, let ts) = start, error.code == failedToParse {
            // A token the server cannot read is not lost history but damaged state (edited by hand, restored from
            // another cluster); the way back is the same (`OplogError.resyncHint`).
            return OplogError(
                .historyLost,
                "the change stream of source \(name) cannot resume from its stored resume token"
                    + (ts.map { " (sync point \($0))" } ?? "") + ": the server refuses it: \(error.message) "
                    + "[code \(failedToParse)]; the token in the state schema is damaged: an init load is needed")
        }
        if error.kind == .authentication {
            var explained = error
            let needs: String
            switch scope {
            case .cluster: needs = "the find and changeStream actions on every database (cluster-wide watch)"
            case .database(let database): needs = "the find and changeStream actions on database \(database)"
            }
            explained.message =
                "change stream source \(name) needs \(needs); or set scope = database in [oplog:\(source.name)]: "
                + error.message
            return explained
        }
        return error
    }

    func next(maximum: Int) async throws -> [BSONDocument] {
        guard !finished else { return [] }
        var entries: [BSONDocument] = []
        while entries.count < maximum {
            let read: (events: [RawDocument], caughtUp: Bool)
            do {
                read = try await stream.next(maximum: maximum - entries.count)
            } catch {
                if let code = error.code, Self.historyLostCodes.contains(code) {
                    throw OplogError(
                        .historyLost,
                        "the change stream of source \(name) lost its place in the server's history while reading: "
                            + "\(error.message) [code \(code)]; an init load is needed")
                }
                throw error
            }
            for raw in read.events {
                let event = try ChangeEvent(
                    BSONDecoder.decode(raw.bytes, wrapperLevels: OplogEntry.wrapperLevels))
                if event.operationType == "invalidate" {
                    invalidation = OplogError(
                        .historyLost,
                        "the change stream of source \(name) was invalidated at \(event.clusterTime) (its database "
                            + "was dropped or renamed): the changes before it are committed; an init load is needed",
                        ts: event.clusterTime, op: "invalidate")
                    return try await finish(entries)
                }
                let (ts, entry) = try converter.entry(for: event)
                if ts > end, !following { return try await finish(entries) }
                entries.append(entry)
                lastTS = ts
            }
            if read.caughtUp {
                let token = await stream.resumeToken()
                let previous = lastEmptyToken
                lastEmptyToken = token
                if !following, !ChangeStreamPosition.caughtUp(token: token, previousEmpty: previous, end: end) {
                    continue  // the server answered after a slice of its history: read on
                }
                if let token, token != lastPositionToken, !following || positionDue() {
                    // Every event up to `end` has been handed out: the position is `end`, at the stream's token.
                    // Following, every event up to the token's cluster time (when it can be read) has.
                    let position =
                        following
                        ? [lastTS, start.ts, ChangeStreamPosition.clusterTime(of: token)].compactMap { $0 }.max() ?? end
                        : max(end, lastTS ?? end)
                    entries.append(ChangeEventConverter.positionEntry(at: position, token: token))
                    lastPositionToken = token
                    lastPositionAt = .now
                }
                if following {
                    try await checkAfterFirstBatch()
                    return entries
                }
                return try await finish(entries)
            }
        }
        try await checkAfterFirstBatch()
        return entries
    }

    /// Following: a quiet stream's first position entry goes out at once, later ones `positionInterval` apart.
    private func positionDue() -> Bool {
        guard let lastPositionAt else { return true }
        return ContinuousClock.now - lastPositionAt >= positionInterval
    }

    /// `hello`'s majority commit point, as for an oplog source (the watermark that merges several followed sources):
    /// one command, which needs no privilege on the oplog.
    func safePosition() async throws -> BSONTimestamp { try await session.safeOplogPosition(source: name) }

    /// A stream that ended at an `invalidate` event gives nothing more: a following run stops and commits.
    var ended: Bool { invalidation != nil }

    /// A start that is a cluster time is checked again once the first batch is read (the oplog may have rolled
    /// between the check and the stream's start), as an oplog source does.
    private func checkAfterFirstBatch() async throws {
        guard !checkedAfterFirstBatch else { return }
        checkedAfterFirstBatch = true
        if case .time(let ts) = start { try await checkReachesBack(ts) }
    }

    private func finish(_ entries: [BSONDocument]) async throws -> [BSONDocument] {
        finished = true
        try await checkAfterFirstBatch()
        await stream.close()
        return entries
    }
}

extension ChangeStreamSource {
    /// Opens the change streams of a `changestream` source: each from the resume token stored with its sync point,
    /// else from its sync point's (or the source's, or the init load's) position as a cluster time.
    static func opening(
        _ source: SyncConfig.OplogSource, collections: [Namespace], starts: [String: BSONTimestamp],
        tokens: [String: BSONDocument], batchSize: Int, logger: Logger, following: FollowSettings? = nil
    ) async throws -> [ChangeStreamSource] {
        var streams: [ChangeStreamSource] = []
        for (name, scope) in source.changeStreams(for: collections) {
            let ts = starts[name] ?? starts[source.name]
            let start: ChangeStreamStart
            if let token = tokens[name] {
                start = .token(token, ts: ts)
            } else if let ts {
                start = .time(ts)
            } else {
                throw GeneralError(
                    .initLoadNeeded, "init load needed: no position recorded for source \(name)" + OplogError.resyncHint
                )
            }
            let stream = try await ChangeStreamSource(
                source: source, name: name, scope: scope, collections: collections, start: start,
                batchSize: batchSize, logger: logger, following: following)
            var metadata: Logger.Metadata = [
                "source": "\(name)", "scope": "\(scope)",
                "from": "\(start.ts.map { "\($0)" } ?? "-")\(tokens[name] != nil ? " (resume token)" : "")",
            ]
            if following == nil { metadata["to"] = "\(stream.end)" }
            logger.info(
                following == nil ? "replaying a change stream" : "following a change stream", metadata: metadata)
            streams.append(stream)
        }
        return streams
    }
}

extension ServerOplogSource {
    /// Runs `open`, naming the privilege an oplog source lacks when the server refuses the oplog's read (69).
    static func explainingPrivileges<Result>(_ name: String, _ open: () async throws -> Result) async throws -> Result {
        do {
            return try await open()
        } catch var error as MongoError where error.kind == .authentication && error.code == 13 {
            error.message =
                "oplog source \(name) needs the find action on local.oplog.rs (mode = oplog); a user allowed only "
                + "change streams can set mode = changestream in [oplog:\(name)]: " + error.message
            throw error
        }
    }
}

extension SyncConfig {
    /// How batch verification learns of later changes: through change streams when any source reads them (its user
    /// may not read the oplog), else the oplog of `[mongo] uri` (`mongo`, verification's session).
    func batchLaterChanges(mongo: MongoSession) -> any LaterChanges {
        let streaming = oplogSources.filter { $0.mode == .changeStream }
        guard let first = streaming.first else { return OplogLaterChanges(oplog: mongo) }
        let scopes =
            first.scope == .cluster
            ? [ChangeStreamScope.cluster] : Set(collections.map(\.database)).sorted().map { .database($0) }
        return ChangeStreamLaterChanges(uri: mongoURI, scopes: scopes, collections: collections)
    }

    /// Where `etlstatus verify` learns of each source's later changes: its oplog, or for a change stream source each
    /// of its streams, starting from that stream's sync point (or its source's).
    public func laterChangesSources() throws -> [LaterChangesSource] {
        var sources: [LaterChangesSource] = []
        for source in oplogSources {
            if source.mode == .changeStream {
                for (name, scope) in source.changeStreams(for: collections) {
                    sources.append(
                        LaterChangesSource(
                            positionNames: [name, source.name],
                            changes: ChangeStreamLaterChanges(
                                uri: source.uri, scopes: [scope], collections: collections)))
                }
            } else {
                let oplog = try MongoSession(uri: source.uri, name: "oplog \(source.name)")
                sources.append(
                    LaterChangesSource(positionNames: [source.name], changes: OplogLaterChanges(oplog: oplog)))
            }
        }
        return sources
    }
}
