import Logging

/// `oplog-sync`: replays the oplog (or an oplog file) into the tables of the configured collections.
public struct OplogSyncCommand: Sendable {
    public var fromFile: String?
    public var follow: Bool
    public var verify: Bool

    public init(fromFile: String?, follow: Bool, verify: Bool) {
        self.fromFile = fromFile
        self.follow = follow
        self.verify = verify
    }

    public func run(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        if follow, let fromFile {
            throw GeneralError(
                .usage, "--follow tails a server's oplog: it cannot be combined with --from-file \(fromFile)")
        }
        let context = ToolContext(config: try common.loadConfig(), logger: logger)
        let stop = StopRequest.listen()
        var summary: ReplaySummary
        var toLoad: [String]
        do {
            (summary, toLoad) = try await replay(context: context, stop: stop)
        } catch let lost as OplogError
            where lost.kind == .historyLost && context.config.onHistoryLost == .resync && fromFile == nil
        {
            let resync = try await ResyncCommand.resyncing(after: lost, context: context)
            (summary, toLoad) = try await replay(context: context, stop: stop)
            summary.resync = resync
        }
        try common.printResult(summary, line: summary.line)
        // The loaded collections are in sync; the others wait for their load.
        guard toLoad.isEmpty else {
            throw GeneralError(.initLoadNeeded, "init load needed: " + toLoad.joined(separator: "; "))
        }
        return .ok
    }

    /// One replay, and the collections still to load (see `ReplayPosition.toLoad`), as one run in the ledger: every
    /// run that reaches PostgreSQL is recorded, a failed one too (a lock held, a bad file, lost history), so that
    /// `etlstatus check` and `metrics` see a sync that keeps failing.
    private func replay(context: ToolContext, stop: StopRequest) async throws -> (ReplaySummary, [String]) {
        try await StateStore.withOpened(context.openStateStore) { store in
            try await LedgerRun.recording(
                tool: Tool.oplogSync.rawValue, arguments: context.arguments, in: store, totals: { $0.0.figures }
            ) { run in
                do {
                    return try await replay(context: context, store: store, run: run, stop: stop)
                } catch {
                    throw await SyncedTableError.explaining(
                        error, reload: SyncedTableError.reloadSteps,
                        triggers: { try await context.triggers(calling: $0) })
                }
            }
        }
    }

    /// The replay itself, under the sync lock.
    private func replay(context: ToolContext, store: StateStore, run: LedgerRun, stop: StopRequest) async throws
        -> (ReplaySummary, [String])
    {
        let config = context.config, logger = context.logger
        // Before anything is read: a second oplog-sync, or an init load, holds it (75).
        try await store.takeSyncLock(for: "for \(Tool.oplogSync)")
        // Schema files changed since the load, applied in place before the positions are read.
        var schemaChanges: [SchemaChangeReport] = []
        var conflicts: [String: String] = [:]
        if fromFile == nil {
            (schemaChanges, conflicts) = try await SchemaChanges(
                config: config, store: store, logger: logger, openSession: context.postgresSession
            ).apply()
        }
        let position =
            fromFile == nil ? try await replayPosition(config: config, store: store, conflicts: conflicts) : nil
        if let position { try await Self.refuseImplausible(position.starts, config: config, store: store) }
        let toLoad: [String] = (position?.toLoad ?? [:]).sorted { $0.key < $1.key }.map(\.value)
        // Per position name, where reading begins.
        let starts =
            position.map { position in
                Dictionary(
                    uniqueKeysWithValues: config.positionNames.compactMap { name, _ in
                        position.starts.readFrom(name).map { (name, $0) }
                    })
            } ?? [:]
        var plans: [Namespace: TablePlan] = [:]
        for collection in position?.synced ?? config.collections {
            plans[collection] = try await store.catalogPlan(of: collection, settings: config.flattenSettings)
        }
        // Every source is reached before anything is replayed: one out of reach is 69 and moves no sync point.
        var sources: [any OplogEntrySource] = []
        var changeStreams: [ChangeStreamSource] = []
        var tails: [any TailedOplogSource] = []
        let following = follow ? FollowSettings(commitSeconds: config.followCommitSeconds) : nil
        if fromFile == nil {
            // A stream read again from before its sync point (a collection's own start) starts at that time.
            let tokens = try await store.resumeTokens().filter { name, _ in
                starts[name] == position?.starts.base[name]
            }
            for source in config.oplogSources where source.mode == .changeStream {
                changeStreams += try await ChangeStreamSource.opening(
                    source, collections: config.collections, starts: starts, tokens: tokens,
                    batchSize: config.batchSize, logger: logger, following: following)
            }
        }
        if let following {
            tails += changeStreams as [any TailedOplogSource]
            for source in config.oplogSources where source.mode == .oplog {
                let start = starts[source.name]!
                tails.append(
                    try await ServerOplogSource.explainingPrivileges(source.name) {
                        try await TailingOplogSource(
                            name: source.name, uri: source.uri, from: start, batchSize: config.batchSize,
                            wait: following.wait)
                    })
                logger.info("following", metadata: ["source": "\(source.name)", "from": "\(start)"])
            }
        } else if let fromFile {
            sources.append(try FileOplogSource(path: fromFile))
        } else {
            for source in config.oplogSources where source.mode == .oplog {
                let start = starts[source.name]!
                let server = try await ServerOplogSource.explainingPrivileges(source.name) {
                    try await ServerOplogSource(
                        name: source.name, uri: source.uri, from: start, batchSize: config.batchSize)
                }
                logger.info(
                    "replaying", metadata: ["source": "\(source.name)", "from": "\(start)", "to": "\(server.end)"])
                sources.append(server)
            }
            sources += changeStreams as [any OplogEntrySource]
        }
        let mode: Replayer.Mode
        if verify, fromFile == nil {
            let mongo = try MongoSession(uri: config.mongoURI, name: "verify")
            mode = .verified(
                BatchVerifier(mongo: mongo, plans: plans),
                laterChanges: config.batchLaterChanges(mongo: mongo))
        } else {
            // Batches pipelined: the next batch's stored states are read here while one commits. Read only,
            // closed when the session is freed.
            let reader = try await context.postgresSession(name: "read-ahead")
            try await reader.execute(
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                purpose: "make the read-ahead session read only")
            mode = .pipelined(reader: reader, imageCapacity: config.documentCacheMB << 20)
        }
        let replayer = Replayer(
            store: store, plans: plans, batchSize: config.batchSize, logger: logger, mode: mode, run: run,
            progress: Progress.onTerminal(label: Tool.oplogSync.rawValue, unit: "entries"), stop: stop)
        // Transactions an earlier run left open: a file's under one name, so the next file finds them.
        let carried = try await store.openTransactions()
        var summary: ReplaySummary
        if let following {
            let stream = FollowedOplogSources(tails, chunk: config.batchSize)
            summary = try await replayer.replay(
                stream, movingSyncPoints: true, follow: following,
                starts: position?.starts ?? ReplayStarts(),
                transactions: .init(names: stream.names, carried: carried))
        } else {
            let names = fromFile == nil ? sources.map(\.name) : [Self.fileTransactions]
            summary = try await replayer.replay(
                sources, movingSyncPoints: fromFile == nil, starts: position?.starts ?? ReplayStarts(),
                transactions: .init(names: names, carried: carried))
        }
        summary.schemaChanges = schemaChanges
        // An invalidated change stream ended its source after the batches before it committed.
        if let invalidation = changeStreams.compactMap(\.invalidation).first { throw invalidation }
        return (summary, toLoad)
    }

    /// A position no run of the tools wrote (later than its source's newest position, or negative: set by hand)
    /// would read nothing, forever, while `lag` said 0 s: 65 naming it, before anything is read.
    private static func refuseImplausible(_ starts: ReplayStarts, config: SyncConfig, store: StateStore) async throws {
        let syncPoints = try await store.syncPoints()
        var newest: [String: BSONTimestamp] = [:]
        for (name, source) in config.positionNames {
            var recorded = [(syncPoints[name] != nil ? "sync point" : "init load position", starts.base[name])]
            recorded += (starts.collections[name] ?? [:]).sorted { $0.key.description < $1.key.description }
                .map { ("load position of \($0.key)", $0.value) }
            for case (let what, let ts?) in recorded {
                if newest[source.name] == nil {
                    newest[source.name] = try await ServerOplogSource.explainingPrivileges(source.name) {
                        try await MongoSession(uri: source.uri, name: "position-\(source.name)").safeOplogPosition(
                            source: source.name)
                    }
                }
                guard let sourceNewest = newest[source.name],
                    let implausible = OplogPosition.implausibility(
                        of: ts, what: what, source: name, newest: sourceNewest)
                else { continue }
                throw StateError(.damagedState, implausible + OplogPosition.implausibleRemedy)
            }
        }
    }

    /// The name `--from-file` replays keep their open transactions under, whatever the file: a transaction cut at the
    /// end of one file ends in the next.
    static let fileTransactions = "file"

    /// Where a replay from the server begins, and which collections it keeps in sync.
    struct ReplayPosition {
        var starts: ReplayStarts
        /// The configured collections whose tables hold a load (see `InitLoadStatus.synced`).
        var synced: [Namespace]
        /// Those still to load (`DB.COLL`), with why.
        var toLoad: [String: String]
    }

    /// Where each position's replay starts: its sync point, or the position of the newest load of everything, held
    /// back to the earliest own start of a collection (`ReplayStarts`). A load of everything that is not done, or a
    /// schema file changed since, is exit 1 with the reasons `etlstatus init-load-status` gives; so is a position with
    /// nothing recorded. Collections not loaded yet are left out of the replay (the run names them at its end).
    /// `conflicts`: per `DB.COLL`, a schema change no change in place applies; its collection is left out.
    private func replayPosition(config: SyncConfig, store: StateStore, conflicts: [String: String]) async throws
        -> ReplayPosition
    {
        let status = try await store.initLoadStatus(schemaHashes: config.schemaHashes)
        guard status.general.isEmpty else {
            throw GeneralError(.initLoadNeeded, "init load needed: " + status.reasons.joined(separator: "; "))
        }
        let toLoad = status.collections.filter { !$0.value.synced }.compactMapValues(\.reason)
            .merging(conflicts) { _, conflict in conflict }
        guard !status.synced.isEmpty else {
            throw GeneralError(
                .initLoadNeeded,
                "init load needed: " + toLoad.sorted { $0.key < $1.key }.map(\.value).joined(separator: "; "))
        }
        let starts = try await ReplayStarts.recorded(in: store, config: config, status: status)
        for (name, _) in config.positionNames {
            guard starts.readFrom(name) != nil else {
                throw GeneralError(
                    .initLoadNeeded,
                    "init load needed: no oplog position is recorded for \(name) (init load \(status.initLoadID ?? 0))"
                        + OplogError.resyncHint)
            }
        }
        return ReplayPosition(starts: starts, synced: status.synced, toLoad: toLoad)
    }
}
