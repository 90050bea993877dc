import Foundation
import Logging

/// `mongo-reader`: a collection or a dump file into parts, recorded in the run ledger.
public struct MongoReaderCommand: Sendable {
    public var collection: Namespace
    public var csvDirectory: String
    public var inputFile: String?
    /// Parallel readers (server) or flatteners (file); nil: 1 from a server, the cores from a file.
    public var jobs: Int?
    public var partition: Partition?
    /// A table's part is finished and the next begun every `partBytes` or `partSeconds`, whichever comes first.
    public var partBytes: Int
    public var partSeconds: Double

    public init(
        collection: Namespace, csvDirectory: String, inputFile: String?, jobs: Int?, partition: Partition?,
        partBytes: Int = ReadRequest.defaultPartBytes, partSeconds: Double = ReadRequest.defaultPartSeconds
    ) {
        self.collection = collection
        self.csvDirectory = csvDirectory
        self.inputFile = inputFile
        self.jobs = jobs
        self.partition = partition
        self.partBytes = partBytes
        self.partSeconds = partSeconds
    }

    public func run(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        let context = ToolContext(config: try common.loadConfig(), logger: logger)
        let config = context.config
        // Every run goes into the ledger (DESIGN.md: each run of each tool), but reading needs no PostgreSQL: a
        // dump can be turned into parts on a host that cannot reach it. Then the manifest is the only record.
        let ledger = try await LedgerRun.startDetached(
            tool: Tool.mongoReader.rawValue, arguments: context.arguments, logger: logger, open: context.openStateStore)
        var request = ReadRequest(
            namespace: collection, csvDirectory: csvDirectory, schemasDirectory: config.schemasDirectory,
            settings: config.flattenSettings, inputFile: inputFile,
            jobs: jobs ?? (inputFile == nil ? 1 : ProcessInfo.processInfo.activeProcessorCount), partition: partition,
            mongoURI: config.mongoURI, oplogSources: config.oplogSourceURIs, batchSize: config.batchSize)
        request.partBytes = partBytes
        request.partSeconds = partSeconds
        request.collections = config.collections
        let summary: ReadSummary
        do {
            if partition != nil {
                // A partition's split points come from the state schema, so this read needs PostgreSQL throughout.
                summary = try await StateStore.withOpened(context.openStateStore) { store in
                    var shared = request
                    shared.initLoadID = try await store.runningInitLoadID(purpose: "a partitioned read")
                    shared.sharedSplitPoints = sharedSplitPoints(store: store, mongoURI: config.mongoURI)
                    return try await read(shared, logger: logger)
                }
            } else {
                summary = try await read(request, logger: logger)
            }
        } catch {
            try await ledger?.finish(error.exitStatus, message: "\(error)")
            throw error
        }
        try await ledger?.addStep(
            "read",
            figures: [
                "documents": Double(summary.documents), "rows": Double(summary.rows.values.reduce(0, +)),
                "bytes": Double(summary.bytes), "seconds": summary.seconds,
            ])
        try await ledger?.finish(.ok)
        try common.printResult(summary, line: summary.line)
        return .ok
    }

    private func read(_ request: ReadRequest, logger: Logger) async throws -> ReadSummary {
        let reader = CollectionReader(logger: logger, progress: Progress.onTerminal(label: collection.description))
        return try await reader.read(request)
    }

    /// The split points every worker of a partitioned read shares, computed by the first one to ask.
    private func sharedSplitPoints(
        store: StateStore, mongoURI: String
    ) -> @Sendable (Int) async throws -> [BSONValue] {
        let namespace = collection
        return { slices in
            try await store.sharedSplitPoints(collection: namespace, slices: slices) {
                try await MongoSession(uri: mongoURI, name: "split").splitPoints(namespace, parts: slices)
            }
        }
    }
}
