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
        do {
            summary = try await replay(context: context, stop: stop)
        } catch let lost as OplogError
            where lost.kind == .historyLost && context.config.onHistoryLost == .resync && fromFile == nil
        {
            let resync = try await ResyncCommand.resyncing(after: lost, context: context)
            summary = try await replay(context: context, stop: stop)
            summary.resync = resync
        }
        try common.printResult(summary, line: summary.line)
        return .ok
    }

    private func replay(context: ToolContext, stop: StopRequest) async throws -> ReplaySummary {
        let config = context.config, logger = context.logger
        return try await StateStore.withOpened(context.openStateStore) { store in
            // Before anything is read: a second oplog-sync, or an init load, holds it (75).
            try await store.takeSyncLock(for: "for \(Tool.oplogSync)")
            let starts = fromFile == nil ? try await replayStarts(config: config, store: store) : [:]
            var plans: [Namespace: TablePlan] = [:]
            for collection in config.collections {
                plans[collection] = try await store.catalogPlan(of: collection, settings: config.flattenSettings)
            }
            // Every source is reached before anything is replayed: one out of reach is 69 and moves no sync point.
            var sources: [any OplogEntrySource] = []
            var changeStreams: [ChangeStreamSource] = []
            var tails: [any TailedOplogSource] = []
            let following = follow ? FollowSettings(commitSeconds: config.followCommitSeconds) : nil
            if fromFile == nil {
                let tokens = try await store.resumeTokens()
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
            return try await LedgerRun.recording(
                tool: Tool.oplogSync.rawValue, arguments: context.arguments, in: store, totals: { $0.figures }
            ) { run in
                let mode: Replayer.Mode
                if verify, fromFile == nil {
                    let mongo = try MongoSession(uri: config.mongoURI, name: "verify")
                    mode = .verified(
                        BatchVerifier(mongo: mongo, plans: plans), laterChanges: config.batchLaterChanges(mongo: mongo))
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
                let summary: ReplaySummary
                if let following {
                    summary = try await replayer.replay(
                        FollowedOplogSources(tails, chunk: config.batchSize), movingSyncPoints: true, follow: following)
                } else {
                    summary = try await replayer.replay(sources, movingSyncPoints: fromFile == nil)
                }
                // An invalidated change stream ended its source after the batches before it committed.
                if let invalidation = changeStreams.compactMap(\.invalidation).first { throw invalidation }
                return summary
            }
        }
    }

    /// Where each oplog source's replay starts: its sync point, or the newest init load's position. An init load that
    /// is not done, or a schema file changed since, is exit 1 with the reasons `etlstatus init-load-status` gives.
    private func replayStarts(config: SyncConfig, store: StateStore) async throws -> [String: BSONTimestamp] {
        let status = try await store.initLoadStatus(schemaHashes: config.schemaHashes)
        guard !status.needed else {
            throw GeneralError(.initLoadNeeded, "init load needed: " + status.reasons.joined(separator: "; "))
        }
        let starts = try await store.replayStart(initLoadPositions: status.positions)
        for source in config.oplogSources where starts[source.name] == nil {
            throw GeneralError(
                .initLoadNeeded,
                "init load needed: init load \(status.initLoadID ?? 0) recorded no oplog position for \(source.name)"
                    + OplogError.resyncHint)
        }
        return starts
    }
}
