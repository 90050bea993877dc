import ArgumentParser
import Foundation
import Logging

/// `etlstatus`'s entry functions, one per subcommand: each loads the configuration, calls one library function,
/// prints its answer on stdout (an aligned table or line, or one JSON object with `--json`) and returns the exit
/// status. Errors are thrown to `CommonOptions.runTool`, except `check`'s, which speaks 0-3.
public struct ETLStatusCommand: Sendable {
    public let common: CommonOptions
    public let logger: Logger

    public init(common: CommonOptions, logger: Logger) {
        self.common = common
        self.logger = logger
    }

    private func context() throws -> ToolContext { ToolContext(config: try common.loadConfig(), logger: logger) }

    /// `collections`: a load of only those; nil: of everything.
    public func initLoadStart(force: Bool = false, collections: [Namespace]? = nil) async throws -> ExitStatus {
        let started = try await InitLoadCommands(context: try context()).start(force: force, collections: collections)
        try common.printResult(started, line: started.line)
        return .ok
    }

    public func initLoadFinish(ok: Bool) async throws -> ExitStatus {
        let finished = try await InitLoadCommands(context: try context()).finish(ok: ok)
        try common.printResult(finished, line: finished.line)
        return .ok
    }

    /// 0 when loaded and in reach of the oplog, 1 (init load needed) with each reason on stderr.
    public func initLoadStatus() async throws -> ExitStatus {
        let status = try await InitLoadCommands(context: try context()).status()
        for reason in status.reasons {
            FileHandle.standardError.write(Data("\(Tool.etlstatus): init load needed: \(reason)\n".utf8))
        }
        for collection in status.notConfigured {
            FileHandle.standardError.write(
                Data(
                    "\(Tool.etlstatus): \(collection) is no longer in [collections]: its tables are left as they are\n"
                        .utf8))
        }
        try common.printResult(
            status, line: status.needed ? "init load needed" : "init load \(status.initLoadID ?? 0) ok")
        return status.needed ? .initLoadNeeded : .ok
    }

    /// 1 when a source's position fell off its oplog (or it has none), 65 when a position cannot be one the tools
    /// wrote (later than the source's newest), each reason on stderr.
    public func lag() async throws -> ExitStatus {
        let report = try await StatusReports(context: try context()).lag()
        for lag in report.sources {
            if let reason = lag.fallenOffReason ?? lag.problem.map({ "\(lag.source): \($0)" }) {
                FileHandle.standardError.write(Data("\(Tool.etlstatus): init load needed: \(reason)\n".utf8))
            }
            if let implausible = lag.implausiblePosition {
                FileHandle.standardError.write(Data("\(Tool.etlstatus): \(implausible)\n".utf8))
            }
        }
        try common.printResult(report, line: report.table)
        if report.sources.contains(where: { $0.implausiblePosition != nil }) { return .dataError }
        return report.fallenOff ? .initLoadNeeded : .ok
    }

    /// Monitoring's answer: prints the status line (or JSON) and returns 0-3. Never throws: a configuration that
    /// cannot be read or a server out of reach is UNKNOWN.
    public func check(_ thresholds: CheckThresholds) async -> CheckStatus {
        let report: CheckReport
        do {
            report = await StatusReports(context: try context()).check(thresholds)
        } catch {
            report = .unknown(String(describing: error))
        }
        do {
            try common.printResult(report, line: report.line)
        } catch {
            print(CheckReport.unknown("cannot print the answer: \(error)").line)
            return .unknown
        }
        return report.status
    }

    public func freshness(last: Int, table: String?) async throws -> ExitStatus {
        let history = try await StatusReports(context: try context()).freshness(last: last, table: table)
        try common.printResult(history, line: history.table)
        return .ok
    }

    public func runs(_ filter: RunFilter) async throws -> ExitStatus {
        let history = try await StatusReports(context: try context()).runs(filter)
        try common.printResult(history, line: history.table)
        return .ok
    }

    /// Prints `<id> <end time>` of the tool's newest successful run; 1 when there is none.
    public func lastSuccessfulRun(tool: String) async throws -> ExitStatus {
        let run = try await StatusReports(context: try context()).lastSuccessfulRun(tool: tool)
        try common.printResult(run, line: "\(run.id) \(run.finishedAt ?? "-")")
        return .ok
    }

    /// Prometheus text on stdout (with `--json`, the samples as JSON), or into `textfile` atomically (then
    /// nothing is printed).
    public func metrics(textfile: String?) async throws -> ExitStatus {
        let metrics = try await StatusReports(context: try context()).metrics()
        if let textfile {
            try TextFile.writeAtomically(metrics.text, to: textfile)
        } else if common.json {
            try common.printResult(["samples": metrics.samples], line: "")
        } else {
            FileHandle.standardOutput.write(Data(metrics.text.utf8))
        }
        return .ok
    }

    /// One configured value; 78 for an unknown key or one holding a password.
    public func configValue(_ key: String) throws -> ExitStatus {
        let value = try common.loadConfig().value(forKey: key)
        try common.printResult(["key": key, "value": value], line: value)
        return .ok
    }

    /// The divergent documents and a summary per collection; 3 when a document still differs from MongoDB.
    public func verify(_ request: VerifyRequest) async throws -> ExitStatus {
        let context = try context()
        let report = try await Verification(context: context, laterChanges: try context.config.laterChangesSources())
            .run(request)
        try common.printResult(report, line: report.text)
        return report.divergent ? .divergent : .ok
    }
}
