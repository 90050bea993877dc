import Foundation

/// The monitoring half of `etlstatus`: each answer is one function, reading the state schema and the oplog sources
/// and returning a value the command prints (a table, or JSON).
public struct StatusReports: Sendable {
    public let context: ToolContext
    var config: SyncConfig { context.config }

    public init(context: ToolContext) { self.context = context }

    /// Every oplog source's lag behind its position. A source that cannot be read fails the answer (exit 69).
    public func lag() async throws -> LagReport {
        try await StateStore.withOpened(context.openStateStore) { store in
            let (_, positions) = try await Self.positions(of: config, in: store)
            var sources: [SourceLag] = []
            for (name, source) in config.positionNames {
                sources.append(try await Self.lag(name, source, position: positions[name]))
            }
            return LagReport(sources: sources)
        }
    }

    /// Measures freshness, reads everything else `check` judges and judges it. Never throws: whatever could not be
    /// read makes the answer UNKNOWN (or one finding UNKNOWN, when it was one oplog source or one table).
    public func check(_ thresholds: CheckThresholds) async -> CheckReport {
        do {
            return CheckReport(judging: try await readings(), by: thresholds)
        } catch {
            return .unknown(String(describing: error))
        }
    }

    /// The gauges of `etlstatus metrics` (freshness is measured and recorded as `check` does).
    public func metrics() async throws -> PrometheusText {
        var lastRuns: [RunRecord] = []
        let inputs = try await readings { store in lastRuns = try await store.lastRunPerTool() }
        let host = RunRecord.hostName
        return StatusMetrics.metrics(
            inputs, lastRuns: lastRuns.map { $0.resolvingDied(hostName: host, isAlive: RunRecord.processIsAlive) })
    }

    /// The recorded freshness checks, newest first.
    public func freshness(last: Int, table: String?) async throws -> FreshnessHistory {
        try await StateStore.withOpened(context.openStateStore) { store in
            FreshnessHistory(checks: try await store.freshnessHistory(last: last, table: table))
        }
    }

    /// Ledger rows, newest first; runs whose process is gone show as `died`.
    public func runs(_ filter: RunFilter) async throws -> RunHistory {
        let host = RunRecord.hostName
        let runs = try await StateStore.withOpened(context.openStateStore) { try await $0.runs(filter) }
            .map { $0.resolvingDied(hostName: host, isAlive: RunRecord.processIsAlive) }
        return RunHistory(runs: filter.failed ? runs.filter { $0.status != .running } : runs)
    }

    /// The newest successful run of `tool`; `StatusError.noSuccessfulRun` (exit 1) when there is none.
    public func lastSuccessfulRun(tool: String) async throws -> RunRecord {
        guard
            let run = try await StateStore.withOpened(
                context.openStateStore, { try await $0.lastSuccessfulRun(tool: tool) })
        else {
            throw StatusError(.noSuccessfulRun, "no successful run of \(tool) in the run ledger")
        }
        return run
    }

    // MARK: Readings

    /// What `check` and `metrics` look at; `extra` reads more on the same store.
    func readings(_ extra: (StateStore) async throws -> Void = { _ in }) async throws -> CheckInputs {
        let config = config
        return try await StateStore.withOpened(context.openStateStore) { store in
            let (initLoad, positions) = try await Self.positions(of: config, in: store)
            var inputs = CheckInputs(initLoad: initLoad, sources: [])
            for (name, source) in config.positionNames {
                do {
                    inputs.sources.append(try await Self.lag(name, source, position: positions[name]))
                } catch {
                    inputs.sourceErrors[name] = String(describing: error)
                }
            }
            let host = RunRecord.hostName
            inputs.recentSyncs = try await store.runs(RunFilter(last: CheckInputs.recentSyncLimit, tool: Self.syncTool))
                .map { $0.resolvingDied(hostName: host, isAlive: RunRecord.processIsAlive) }
            inputs.lastSync = inputs.recentSyncs.first
            inputs.lastSuccessfulSync = try await store.lastSuccessfulRun(tool: Self.syncTool)
            inputs.freshness = try await store.checkFreshness(config.freshness, targetSchema: config.targetSchema)
            inputs.verifications = try await store.lastVerifications()
            inputs.collections = config.collections.map(\.description)
            try await extra(store)
            return inputs
        }
    }

    /// The tool name oplog-sync's runs carry in the ledger.
    static let syncTool = Tool.oplogSync.rawValue

    /// The newest init load's status and each source's position: its sync point, else the init load's position.
    static func positions(
        of config: SyncConfig, in store: StateStore
    ) async throws -> (InitLoadStatus, [String: OplogPosition]) {
        let initLoad = try await store.initLoadStatus(schemaHashes: config.schemaHashes)
        var initLoadPositions = initLoad.positions
        // A change stream of a `scope = database` source starts from its source's position.
        for (name, source) in config.positionNames where initLoadPositions[name] == nil {
            initLoadPositions[name] = initLoad.positions[source.name]
        }
        var positions = OplogPosition.positions(
            sources: config.positionNames.map(\.name), syncPoints: try await store.syncPoints(),
            initLoadPositions: initLoadPositions)
        for starts in try await store.collectionStarts().values {
            for (name, start) in starts where positions[name].map({ start < $0.ts }) ?? true {
                positions[name] = OplogPosition(ts: start, origin: .collectionStart)
            }
        }
        return (initLoad, positions)
    }

    /// One position's lag. A change stream source whose user may not read the oplog gets its lag from `hello` and
    /// its window reported as unknown.
    static func lag(_ name: String, _ source: SyncConfig.OplogSource, position: OplogPosition?) async throws
        -> SourceLag
    {
        do {
            return SourceLag(source: name, position: position, sample: try await sample(source, after: position?.ts))
        } catch let error as MongoError where source.mode == .changeStream && error.kind == .authentication {
            let session = try MongoSession(uri: source.uri, name: "oplog-\(name)")
            return SourceLag(
                source: name, position: position, newest: try await session.newestOplogPosition(),
                windowUnknown: "the source's user may not read local.oplog.rs")
        }
    }

    /// Reads one source's oplog ends and the entries after `position` (scans on SecantusDB; see
    /// `MongoSession+OplogWindow`).
    static func sample(_ source: SyncConfig.OplogSource, after position: BSONTimestamp?) async throws
        -> OplogWindowSample
    {
        let session = try MongoSession(uri: source.uri, name: "oplog-\(source.name)")
        let oldest = try await session.oldestOplogTimestamp()
        let entries = try await session.oplogEntryCount()
        let after = position == nil ? 0 : try await session.oplogEntryCount(after: position)
        let newest = try await session.newestOplogPosition()
        return OplogWindowSample(newest: newest, oldest: oldest, entries: entries, entriesAfter: after)
    }
}
