import ArgumentParser
import MongoPG

@main
struct ETLStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etlstatus",
        abstract: "The sync's state in PostgreSQL, answered in exit codes.",
        discussion: """
            init-load-start    records the newest oplog position of every oplog source, before any document is read
            init-load-finish   ok|error: closes the running init load
            init-load-status   exits 0 when a finished, successful init load covers every configured collection and
                               no schema file changed since; 1 (init load needed) otherwise, the reason on stderr

            EXAMPLES:
              etlstatus --config sync.ini init-load-start
              etlstatus --config sync.ini init-load-finish ok
              etlstatus --config sync.ini init-load-status; echo $?

            \(ExitStatus.helpText)
            """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "What to report or record.") var action: StatusAction
    @Argument(help: "ok or error, after init-load-finish.") var outcome: String?
    @Option(help: "The namespace, DB.COLL, for verify.") var collection: Namespace?

    func validate() throws {
        if action == .initLoadFinish, outcome != "ok", outcome != "error" {
            throw ValidationError("init-load-finish takes ok or error")
        }
        if action != .initLoadFinish, let outcome { throw ValidationError("unexpected argument '\(outcome)'") }
    }

    func run() async throws {
        try await common.runTool("etlstatus") { logger in
            try await ETLStatusCommand(action: action, outcome: outcome, collection: collection)
                .run(common: common, logger: logger)
        }
    }
}
