import Logging

/// `oplog-sync --resync`: the tables converged in place to what MongoDB holds and the sync points moved to where the
/// resync started (`Resync`), after the oplog rolled past them, or whenever the tables are in doubt.
public struct ResyncCommand: Sendable {
    /// The collections to resync; every configured one when empty.
    public var collections: [Namespace]

    public init(collections: [Namespace]) { self.collections = collections }

    public func run(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        let summary = try await Self.resync(
            collections, context: ToolContext(config: try common.loadConfig(), logger: logger))
        try common.printResult(summary, line: summary.line)
        return .ok
    }

    /// `[sync] on_history_lost = resync`: a plain oplog-sync that found `lost` resyncs every collection, then replays.
    static func resyncing(after lost: OplogError, context: ToolContext) async throws -> ResyncSummary {
        context.logger.warning(
            "a source's history is lost: resyncing every collection in place ([sync] on_history_lost = resync)",
            metadata: [LogKey.error: "\(lost)"])
        return try await resync([], context: context)
    }

    /// One resync under the sync lock, as a run of its own in the ledger, with progress on a terminal.
    private static func resync(_ collections: [Namespace], context: ToolContext) async throws -> ResyncSummary {
        try await StateStore.withOpened(context.openStateStore) { store in
            try await store.takeSyncLock(for: "for \(Tool.oplogSync) --resync")
            return try await LedgerRun.recording(
                tool: Tool.oplogSync.rawValue, arguments: context.arguments, in: store, totals: \.figures
            ) { _ in
                let reader = try await context.postgresSession(name: "resync-reader")
                let progress = Progress.onTerminal(label: "\(Tool.oplogSync) --resync", unit: "documents")
                defer { progress?.finish() }
                return try await Resync(
                    config: context.config, store: store, reader: reader, logger: context.logger, progress: progress
                ).run(collections: collections)
            }
        }
    }
}
