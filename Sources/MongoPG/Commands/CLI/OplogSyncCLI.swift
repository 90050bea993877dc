import ArgumentParser

/// `oplog-sync`: the oplog replayed into the tables; the work is `OplogSyncCommand`'s.
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

    public init() {}

    public func run() async throws {
        try await common.runTool(.oplogSync) { logger in
            try await OplogSyncCommand(fromFile: fromFile, follow: follow, verify: !noVerify)
                .run(common: common, logger: logger)
        }
    }
}
