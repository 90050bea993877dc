import ArgumentParser
import MongoPG

@main
struct ETLStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etlstatus",
        abstract: "The sync's state in PostgreSQL, answered in exit codes.",
        discussion: """
            EXAMPLES:
              etlstatus --config sync.ini init-load-start
              etlstatus --config sync.ini init-load-status; echo $?

            \(ExitStatus.helpText)
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case initLoadStart = "init-load-start", initLoadFinish = "init-load-finish", initLoadStatus = "init-load-status"
        case lag, check, runs, verify, metrics
    }

    @OptionGroup var common: CommonOptions
    @Argument(help: "What to report or record.") var action: Action
    @Argument(help: "ok or error, after init-load-finish.") var outcome: String?
    @Option(help: "The namespace, DB.COLL, for verify.") var collection: Namespace?

    func run() async throws {
        try await common.runTool("etlstatus") { _ in throw notImplemented("etlstatus \(action.rawValue)", issue: "init load") }
    }
}
