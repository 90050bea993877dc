import Foundation
import Logging

/// The init-load half of `etlstatus`: record the oplog positions before a load, close the load, answer whether
/// one is needed.
public struct InitLoadCommands: Sendable {
    public let context: ToolContext
    var config: SyncConfig { context.config }

    public init(context: ToolContext) { self.context = context }

    public struct Started: Sendable, Codable {
        public var initLoadID: Int64
        /// Per oplog source: `{"t": seconds, "i": increment}`.
        public var positions: [String: BSONTimestamp]
        /// The collections it loads; nil: all of them.
        public var collections: [String]?
        public var line: String {
            "init load \(initLoadID) started\(collections.map { " for " + $0.joined(separator: ", ") } ?? ""); "
                + "oplog positions: "
                + positions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        }
    }

    /// Reads every source's safe start position (`MongoSession.safeStartPosition`, before any document is read),
    /// then opens the init load. A source without one fails the command: a load without a position could never be
    /// caught up.
    ///
    /// An init load still at work is not abandoned: when the running one has a mongo-reader or psql-copy run whose
    /// process is alive (on this host; one of another host cannot be checked and counts as alive), this refuses
    /// with 75 naming it, unless `force`. A psql-copy or oplog-sync holding the sync lock is refused (75) even then:
    /// it is at work on the tables right now.
    public func start(force: Bool = false, collections: [Namespace]? = nil) async throws -> Started {
        for collection in collections ?? [] where !config.collections.contains(collection) {
            throw GeneralError(.usage, "\(collection) is not a configured collection (see [collections])")
        }
        var positions: [String: BSONTimestamp] = [:]
        for source in config.oplogSources {
            let session = try MongoSession(uri: source.uri, name: "oplog-\(source.name)")
            positions[source.name] = try await session.safeStartPosition(source: source.name)
        }
        let id = try await recording("\(Tool.etlstatus) init-load-start") { store, run in
            try await store.takeSyncLock(for: "starting an init load")
            if !force, let running = try await store.runningInitLoad() {
                let host = RunRecord.hostName
                let alive = running.runs.filter { $0.host != host || RunRecord.processIsAlive($0.pid) }
                if !alive.isEmpty {
                    let runs = alive.map {
                        "\($0.tool) run \($0.run) (pid \($0.pid) on \($0.host), since \($0.startedAt))"
                    }
                    throw StateError(
                        .initLoadRunning,
                        "init load \(running.id), started at \(running.startedAt), is still at work: "
                            + runs.joined(separator: ", ") + "; let it finish (or stop it), or start a new one anyway "
                            + "with --force")
                }
            }
            let id = try await store.startInitLoad(run: run.id, positions: positions, collections: collections)
            try await store.releaseSyncLock()
            return id
        }
        return Started(initLoadID: id, positions: positions, collections: collections?.map(\.description))
    }

    public struct Finished: Sendable, Codable {
        public var initLoadID: Int64
        public var status: RunStatus
        public var line: String { "init load \(initLoadID) finished: \(status)" }
    }

    public func finish(ok: Bool) async throws -> Finished {
        let id = try await recording("\(Tool.etlstatus) init-load-finish") { store, _ in
            try await store.finishInitLoad(ok: ok)
        }
        return Finished(initLoadID: id, status: RunStatus(ended: ok))
    }

    /// Whether an init load is needed for the configured collections and their current schema files, and whether
    /// every oplog source still reaches back to its position (its sync point, or the init load's position before
    /// any oplog-sync run). Read-only: monitoring calls it often, so it leaves no ledger row. A source that cannot
    /// be read fails the answer (exit 69): "in sync" cannot be said without it.
    public func status() async throws -> InitLoadStatus {
        let config = config
        return try await StateStore.withOpened(context.openStateStore) { store in
            let (initLoad, positions) = try await StatusReports.positions(of: config, in: store)
            var status = initLoad
            guard status.general.isEmpty else { return status }
            for source in config.oplogSources {
                guard let position = positions[source.name] else {
                    let initLoad = status.initLoadID ?? 0
                    status.reasons.append(
                        "no oplog position for \(source.name): init load \(initLoad) recorded none for it")
                    continue
                }
                let session = try MongoSession(uri: source.uri, name: "oplog-\(source.name)")
                let oldest: BSONTimestamp?
                do {
                    oldest = try await session.oldestOplogTimestamp()
                } catch let error as MongoError where source.mode == .changeStream && error.kind == .authentication {
                    continue  // a change stream user may not read the oplog: oplog-sync learns it from the server
                }
                let sample = OplogWindowSample(newest: nil, oldest: oldest, entries: 0, entriesAfter: 0)
                if let reason = SourceLag(source: source.name, position: position, sample: sample).fallenOffReason {
                    status.reasons.append(reason)
                }
            }
            return status
        }
    }

    /// `body` as one ledger run of `tool` on a state store of its own.
    private func recording<Result: Sendable>(
        _ tool: String, _ body: @escaping (StateStore, LedgerRun) async throws -> Result
    ) async throws -> Result {
        try await StateStore.withOpened(context.openStateStore) { store in
            try await LedgerRun.recording(tool: tool, arguments: context.arguments, in: store) { run in
                try await body(store, run)
            }
        }
    }
}
