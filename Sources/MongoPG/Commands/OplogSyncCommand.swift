import Logging

/// `oplog-sync`: replays the oplog into the tables (issue "oplog-sync: replay every oplog form").
public struct OplogSyncCommand: Sendable {
    public var fromFile: String?
    public var follow: Bool
    public var verify: Bool

    public init(fromFile: String?, follow: Bool, verify: Bool) {
        self.fromFile = fromFile
        self.follow = follow
        self.verify = verify
    }

    public func run(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        throw notImplemented("oplog-sync", issue: "oplog replay")
    }
}
