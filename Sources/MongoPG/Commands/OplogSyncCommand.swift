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
        if follow {
            throw GeneralError(.usage, "--follow is not available yet: run oplog-sync from crontab")
        }
        let context = ToolContext(config: try common.loadConfig(), logger: logger)
        let config = context.config
        let stop = StopRequest.listen()
        let summary = try await StateStore.withOpened(context.openStateStore) { store in
            // Before anything is read: a second oplog-sync, or an init load, holds it (75).
            try await store.takeSyncLock(for: "for oplog-sync")
            let server = fromFile == nil ? try await serverSource(config: config, store: store) : nil
            var plans: [Namespace: TablePlan] = [:]
            for collection in config.collections {
                plans[collection] = try await store.catalogPlan(of: collection, settings: config.flattenSettings)
            }
            return try await LedgerRun.recording(
                tool: "oplog-sync", arguments: context.arguments, in: store, totals: { $0.figures }
            ) { run in
                var replayer = Replayer(
                    store: store, plans: plans, batchSize: config.batchSize, logger: logger, run: run,
                    progress: Progress.onTerminal(label: "oplog-sync", unit: "entries"), stop: stop)
                if verify, server != nil {
                    replayer.verifier = BatchVerifier(mongo: try MongoSession(uri: config.mongoURI, name: "verify"), plans: plans)
                }
                guard let (name, uri, start) = server else {
                    var source = try FileOplogSource(path: fromFile ?? "")
                    return try await replayer.replay(&source, syncPointSource: nil)
                }
                var source = try await ServerOplogSource(name: name, uri: uri, from: start, batchSize: config.batchSize)
                logger.info("replaying", metadata: ["source": "\(name)", "from": "\(start)", "to": "\(source.end)"])
                return try await replayer.replay(&source, syncPointSource: name)
            }
        }
        try common.printResult(summary, line: summary.line)
        return .ok
    }

    /// The one oplog source and where its replay starts; an init load that is not done, or a schema file changed
    /// since, is exit 1 with the reasons `etlstatus init-load-status` gives.
    private func serverSource(
        config: SyncConfig, store: StateStore
    ) async throws -> (name: String, uri: String, start: BSONTimestamp) {
        guard config.oplogSources.count == 1, let source = config.oplogSources.first else {
            throw GeneralError(
                .configError,
                "\(config.path): oplog-sync replays one oplog source so far; \(config.oplogSources.count) are "
                    + "configured ([oplog:<name>] sections)")
        }
        let status = try await store.initLoadStatus(schemaHashes: config.schemaHashes)
        guard !status.needed else {
            throw GeneralError(.initLoadNeeded, "init load needed: " + status.reasons.joined(separator: "; "))
        }
        guard let start = try await store.replayStart(initLoadPositions: status.positions)[source.name] else {
            throw GeneralError(
                .initLoadNeeded,
                "init load needed: init load \(status.initLoadID ?? 0) recorded no oplog position for \(source.name)")
        }
        return (source.name, source.uri, start)
    }
}
