import ArgumentParser
import Foundation
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

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case initLoadStart = "init-load-start", initLoadFinish = "init-load-finish", initLoadStatus = "init-load-status"
        case lag, check, runs, verify, metrics
    }

    @OptionGroup var common: CommonOptions
    @Argument(help: "What to report or record.") var action: Action
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
            let config = try common.loadConfig()
            let commands = InitLoadCommands(config: config, logger: logger)
            let arguments = Array(CommandLine.arguments.dropFirst())
            switch action {
            case .initLoadStart:
                let started = try await commands.start(arguments: arguments)
                try common.printResult(started, line: started.line)
                return .ok
            case .initLoadFinish:
                let finished = try await commands.finish(ok: outcome == "ok", arguments: arguments)
                try common.printResult(finished, line: finished.line)
                return .ok
            case .initLoadStatus:
                let status = try await commands.status()
                for reason in status.reasons { FileHandle.standardError.write(Data("etlstatus: init load needed: \(reason)\n".utf8)) }
                try common.printResult(status, line: status.needed ? "init load needed" : "init load \(status.initLoadID ?? 0) ok")
                return status.needed ? .initLoadNeeded : .ok
            case .lag, .check, .runs, .verify, .metrics:
                throw notImplemented("etlstatus \(action.rawValue)", issue: "oplog sync and monitoring")
            }
        }
    }
}
