import ArgumentParser
import Foundation
import Logging

/// What `etlstatus` is asked to report or record.
public enum StatusAction: String, CaseIterable, Sendable, ExpressibleByArgument {
    case initLoadStart = "init-load-start", initLoadFinish = "init-load-finish", initLoadStatus = "init-load-status"
    case lag, check, runs, verify, metrics
}

/// `etlstatus`: the sync's state, answered in exit codes.
public struct ETLStatusCommand: Sendable {
    public var action: StatusAction
    /// `ok` or `error`, for `init-load-finish`.
    public var outcome: String?
    public var collection: Namespace?

    public init(action: StatusAction, outcome: String?, collection: Namespace?) {
        self.action = action
        self.outcome = outcome
        self.collection = collection
    }

    public func run(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        let commands = InitLoadCommands(context: ToolContext(config: try common.loadConfig(), logger: logger))
        switch action {
        case .initLoadStart:
            let started = try await commands.start()
            try common.printResult(started, line: started.line)
            return .ok
        case .initLoadFinish:
            let finished = try await commands.finish(ok: outcome == "ok")
            try common.printResult(finished, line: finished.line)
            return .ok
        case .initLoadStatus:
            let status = try await commands.status()
            for reason in status.reasons {
                FileHandle.standardError.write(Data("etlstatus: init load needed: \(reason)\n".utf8))
            }
            try common.printResult(status, line: status.needed ? "init load needed" : "init load \(status.initLoadID ?? 0) ok")
            return status.needed ? .initLoadNeeded : .ok
        case .lag, .check, .runs, .verify, .metrics:
            throw notImplemented("etlstatus \(action.rawValue)", issue: "oplog sync and monitoring")
        }
    }
}
