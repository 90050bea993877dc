import Foundation

/// One run of the run ledger as `etlstatus runs` shows it.
public struct RunRecord: Sendable, Equatable, Codable {
    public var id: Int64
    public var tool: String
    public var host: String
    public var pid: Int32
    public var arguments: String
    public var startedAt: String
    public var finishedAt: String?
    public var status: RunStatus
    public var exitCode: Int32?
    public var message: String?
    /// The run's totals: rows, documents, entries applied, ...
    public var figures: [String: Double]
    /// From start to end, or to now while running.
    public var durationSeconds: Double
    /// Since the end; while running, since its newest sign of life (its newest step or heartbeat), else its start.
    public var ageSeconds: Double

    public init(
        id: Int64, tool: String, host: String, pid: Int32, arguments: String, startedAt: String, finishedAt: String?,
        status: RunStatus, exitCode: Int32?, message: String?, figures: [String: Double], durationSeconds: Double,
        ageSeconds: Double
    ) {
        self.id = id
        self.tool = tool
        self.host = host
        self.pid = pid
        self.arguments = arguments
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.exitCode = exitCode
        self.message = message
        self.figures = figures
        self.durationSeconds = durationSeconds
        self.ageSeconds = ageSeconds
    }

    /// The run as it really stands: one recorded as running by a process of `hostName` that `isAlive` says is gone
    /// shows as `died` (a killed process never closes its row). A run of another host cannot be checked from here.
    public func resolvingDied(hostName: String, isAlive: (Int32) -> Bool) -> RunRecord {
        guard status == .running, host == hostName, !isAlive(pid) else { return self }
        var run = self
        run.status = .died
        return run
    }

    /// An `oplog-sync --follow` run, which never ends by itself.
    public var isFollowing: Bool { arguments.split(separator: " ").contains("--follow") }

    /// Whether process `pid` of this host exists (`kill(pid, 0)`; EPERM means it exists under another user).
    public static func processIsAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    public static var hostName: String { ProcessInfo.processInfo.hostName }
}

/// Which ledger rows `etlstatus runs` lists.
public struct RunFilter: Sendable, Equatable {
    public var last: Int
    public var tool: String?
    /// Only runs that did not end well: failed or died.
    public var failed: Bool

    public init(last: Int = 20, tool: String? = nil, failed: Bool = false) {
        self.last = last
        self.tool = tool
        self.failed = failed
    }
}
