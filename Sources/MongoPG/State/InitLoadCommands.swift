import Foundation
import Logging

/// The init-load half of `etlstatus`: record the oplog positions before a load, close the load, answer whether
/// one is needed.
public struct InitLoadCommands: Sendable {
    public let config: SyncConfig
    public let logger: Logger

    public init(config: SyncConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public struct Started: Sendable, Codable {
        public var initLoadID: Int64
        /// Per oplog source: `{"t": seconds, "i": increment}`.
        public var positions: [String: BSONTimestamp]
        public var line: String {
            "init load \(initLoadID) started; oplog positions: "
                + positions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        }
    }

    /// Reads every source's safe oplog position (`MongoSession.safeOplogPosition`, before any document is read),
    /// then opens the init load. A source without one fails the command: a load without a position could never be
    /// caught up.
    public func start(arguments: [String]) async throws -> Started {
        var positions: [String: BSONTimestamp] = [:]
        for source in config.oplogSources {
            let session = try MongoSession(uri: source.uri, name: "oplog-\(source.name)")
            positions[source.name] = try await session.safeOplogPosition(source: source.name)
        }
        let store = try await config.stateStore(logger: logger)
        let id = try await store.recordingRun(tool: "etlstatus init-load-start", arguments: arguments) { run in
            try await store.startInitLoad(run: run, positions: positions)
        }
        return Started(initLoadID: id, positions: positions)
    }

    public struct Finished: Sendable, Codable {
        public var initLoadID: Int64
        public var status: String
        public var line: String { "init load \(initLoadID) finished: \(status)" }
    }

    public func finish(ok: Bool, arguments: [String]) async throws -> Finished {
        let store = try await config.stateStore(logger: logger)
        let id = try await store.recordingRun(tool: "etlstatus init-load-finish", arguments: arguments) { _ in
            try await store.finishInitLoad(ok: ok)
        }
        return Finished(initLoadID: id, status: ok ? "ok" : "error")
    }

    /// Whether an init load is needed for the configured collections and their current schema files. Read-only:
    /// monitoring calls it often, so it leaves no ledger row.
    public func status() async throws -> InitLoadStatus {
        let store = try await config.stateStore(logger: logger)
        return try await store.initLoadStatus(schemaHashes: config.schemaHashes)
    }
}
