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
            settings: config.flattenSettings, stateSchema: config.stateSchema, conninfo: config.postgresConninfo,
            password: try config.postgresPassword(), jobs: jobs, arguments: context.arguments)
        request.followReader = followReader
        request.waitSeconds = waitSeconds
        request.collections = config.collections
        let summary = try await CopyLoader(logger: logger).load(request, stop: StopRequest.listen())
        try common.printResult(summary, line: summary.line)
        return .ok
    }
}
