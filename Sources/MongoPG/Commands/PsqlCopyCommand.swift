import Logging

/// `psql-copy`: the parts of one collection into PostgreSQL, swapped in atomically.
public struct PsqlCopyCommand: Sendable {
    public var collection: Namespace
    public var csvDirectory: String
    /// Parallel COPY sessions.
    public var jobs: Int
    /// Load parts while mongo-reader is still writing them (`--follow-reader`), waiting at most `waitSeconds` for it.
    public var followReader: Bool
    public var waitSeconds: Int

    public init(
        collection: Namespace, csvDirectory: String, jobs: Int, followReader: Bool = false, waitSeconds: Int = 300
    ) {
        self.collection = collection
        self.csvDirectory = csvDirectory
        self.jobs = jobs
        self.followReader = followReader
        self.waitSeconds = waitSeconds
    }

    public func run(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        let context = ToolContext(config: try common.loadConfig(), logger: logger)
        let config = context.config
        var request = LoadRequest(
            namespace: collection, csvDirectory: csvDirectory, schemasDirectory: config.schemasDirectory,
            settings: config.flattenSettings, jobs: jobs)
        request.followReader = followReader
        request.waitSeconds = waitSeconds
        request.collections = config.collections
        request.positionNames = config.positionNames(for: collection)
        request.distribution = config.distribute
        let stop = StopRequest.listen()
        let loader = CopyLoader(logger: logger) { try await context.postgresSession(name: $0) }
        // Files first: PostgreSQL is not touched until the folder is known to be whole (or its reader found).
        let prepared = try await loader.prepare(request)
        let summary = try await StateStore.withOpened(context.openStateStore) { store in
            // The load and the swap run on the state store's session, which holds the lock until the end.
            try await store.takeSyncLock(for: "loading \(collection)")
            let summary = try await LedgerRun.recording(
                tool: Tool.psqlCopy.rawValue, arguments: context.arguments, in: store, totals: \.figures
            ) { run in
                try await loader.load(prepared, store: store, run: run, stop: stop)
            }
            try await store.releaseSyncLock()
            return summary
        }
        withExtendedLifetime(prepared) {}
        try common.printResult(summary, line: summary.line)
        return .ok
    }
}
