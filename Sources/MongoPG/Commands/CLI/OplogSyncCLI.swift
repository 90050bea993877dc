import ArgumentParser

/// `oplog-sync`: the oplog replayed into the tables; the work is `OplogSyncCommand`'s (`ResyncCommand`'s with
/// `--resync`).
public struct OplogSyncCLI: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: Tool.oplogSync.rawValue,
        abstract:
            "Replays the MongoDB oplog into PostgreSQL as SQL, verifies each batch and commits data and checkpoint together.",
        discussion: """
            EXAMPLES:
              oplog-sync --config sync.ini
              oplog-sync --config sync.ini --follow
              oplog-sync --config sync.ini --from-file oplog.bson --no-verify
              oplog-sync --config sync.ini --resync
              oplog-sync --config sync.ini --resync --collection shop.orders

            \(ExitStatus.helpText)
            """,
        version: ToolVersion.current)

    @OptionGroup var common: CommonOptions

    @Option(help: "Replay entries from a file in the format mongodump --oplog writes.") var fromFile: String?
    @Flag(
        help: """
            Keep tailing instead of stopping at the end of the oplog: a batch commits at batch_size entries or \
            [sync] follow_commit_seconds after its first entry; SIGTERM or SIGINT stops at a batch boundary (exit 0).
            """)
    var follow = false
    @Flag(help: "Skip reading each batch back for verification.") var noVerify = false
    @Flag(
        help: """
            Instead of replaying: converge the tables in place to what MongoDB holds (only differing documents are \
            written; views and grants stay), then move each source's sync point to where the resync started. The way \
            back after the oplog rolled past the sync point.
            """)
    var resync = false
    @Option(
        help: """
            With --resync: only this collection, DB.COLL (repeatable; default: every configured collection). A source \
            whose history is lost needs all its collections named.
            """)
    var collection: [Namespace] = []

    public init() {}

    public func run() async throws {
        try await common.runTool(.oplogSync) { logger in
            if resync {
                guard !follow, fromFile == nil, !noVerify else {
                    throw GeneralError(.usage, "--resync cannot be combined with --follow, --from-file or --no-verify")
                }
                return try await ResyncCommand(collections: collection).run(common: common, logger: logger)
            }
            guard collection.isEmpty else { throw GeneralError(.usage, "--collection is an option of --resync") }
            return try await OplogSyncCommand(fromFile: fromFile, follow: follow, verify: !noVerify)
                .run(common: common, logger: logger)
        }
    }
}
