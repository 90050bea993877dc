import Foundation
import Logging

/// What `oplog-sync --resync` did.
public struct ResyncSummary: Sendable, Codable, Equatable {
    /// The collections converged.
    public var collections: [String] = []
    /// Documents compared (either side), found differing (or missing, or extra), and rewritten with MongoDB's version.
    public var documentsCompared = 0, documentsDiffering = 0, documentsWritten = 0
    /// MongoDB documents no row can hold: left out, as the load does.
    public var documentsUnstorable = 0
    public var seconds = 0.0
    /// The sync point each source moved to, as `(t << 32) | i`; empty when every source's history was intact and
    /// only some collections were named (they replay from the sync points as they were).
    public var syncPoints: [String: UInt64] = [:]

    public init() {}

    public var line: String {
        "resync: \(collections.count) collections, \(documentsCompared) documents compared, \(documentsDiffering) "
            + "differing, \(documentsWritten) written (repaired)"
            + (documentsUnstorable > 0 ? ", \(documentsUnstorable) unstorable" : "")
            + ", \(String(format: "%.2f", seconds)) s"
            + syncPoints.sorted { $0.key < $1.key }.map { "; sync point \($0.key) \(BSONTimestamp(packed: $0.value))" }
            .joined()
    }

    /// The run ledger's figures.
    public var figures: [String: Double] {
        [
            "collections": Double(collections.count), "documents_compared": Double(documentsCompared),
            "documents_differing": Double(documentsDiffering), "documents_written": Double(documentsWritten),
            "documents_unstorable": Double(documentsUnstorable), "seconds": seconds,
        ]
    }

    mutating func add(_ figures: CollectionConverger.Figures) {
        documentsCompared += figures.compared
        documentsDiffering += figures.differing
        documentsWritten += figures.written
        documentsUnstorable += figures.unstorable
    }
}

/// Brings the tables back to MongoDB after the oplog (or a change stream's history) lost entries replay needed, in
/// place: every source's safe position is recorded first, then each collection converges (`CollectionConverger`:
/// only differing documents are written, the tables keep their identity), then one transaction moves the sync points
/// to those positions, drops the change streams' resume tokens (a stream with none starts at its position) and
/// forgets the resynced collections' documents left to verify. The next replay starts there and brings the changes
/// made during the resync, as after an init load. A run killed anywhere leaves the sync points where they were, so a
/// rerun starts over and finishes. The caller holds the sync lock.
struct Resync {
    let config: SyncConfig
    let store: StateStore
    /// A second session for the convergence's snapshot reads.
    let reader: PostgresSession
    let logger: Logger
    var progress: Progress? = nil

    /// A sync point's name (an oplog source, or one change stream of a source) and the collections replayed from it.
    struct Stream {
        var name: String
        var source: SyncConfig.OplogSource
        var scope: ChangeStreamScope?
        var collections: [Namespace]
    }

    var streams: [Stream] {
        config.oplogSources.flatMap { source -> [Stream] in
            guard source.mode == .changeStream else {
                return [Stream(name: source.name, source: source, collections: config.collections)]
            }
            return source.changeStreams(for: config.collections).map { name, scope in
                let collections = config.collections.filter { config.positionNames(for: $0)[source.name] == name }
                return Stream(name: name, source: source, scope: scope, collections: collections)
            }
        }
    }

    /// Resyncs `named` (every configured collection when empty). Naming only some collections needs every source
    /// that lost its history to have all its collections named; the sync points of the sources that kept it stay.
    func run(collections named: [Namespace]) async throws -> ResyncSummary {
        let started = ContinuousClock.now
        let status = try await store.initLoadStatus(schemaHashes: config.schemaHashes)
        // Only tables that hold a load converge; a collection not loaded yet needs its load.
        guard status.general.isEmpty, !status.synced.isEmpty else {
            throw GeneralError(.initLoadNeeded, "init load needed: " + status.reasons.joined(separator: "; "))
        }
        for collection in named where !config.collections.contains(collection) {
            throw GeneralError(.usage, "--collection \(collection) is not in [collections] of the configuration")
        }
        let unloaded = named.filter { !status.synced.contains($0) }
        guard unloaded.isEmpty else {
            throw GeneralError(
                .initLoadNeeded,
                "init load needed: "
                    + unloaded.compactMap { status.collections[$0.description]?.reason }
                    .joined(separator: "; "))
        }
        let collections = named.isEmpty ? status.synced : status.synced.filter { named.contains($0) }
        let streams = self.streams
        var moving = streams
        if !named.isEmpty {
            // Where replay would read each stream from: its sync point, held back to collections' own starts.
            let starts = try await ReplayStarts.recorded(in: store, config: config, status: status)
            moving = try await lostHistory(of: streams, starts: starts)
            let required = Set(moving.flatMap(\.collections))
            let missing = config.collections.filter { required.contains($0) && !collections.contains($0) }
            if !missing.isEmpty {
                throw GeneralError(
                    .initLoadNeeded,
                    "the history of " + moving.map(\.name).joined(separator: ", ") + " is lost: every collection "
                        + "synced from it must be resynced; name also "
                        + missing.map { "--collection \($0)" }.joined(separator: " ")
                        + ", or run oplog-sync --resync without --collection")
            }
        }
        // First: a position taken after the documents were read could skip a change made in between. Streams that
        // keep their sync point give the named collections a start of their own there.
        var positions: [String: BSONTimestamp] = [:]
        for stream in named.isEmpty ? moving : streams {
            let session = try MongoSession(uri: stream.source.uri, name: "resync-\(stream.name)")
            positions[stream.name] = try await session.safeStartPosition(source: stream.name)
        }
        var summary = ResyncSummary()
        summary.collections = collections.map(\.description)
        let mongo = try MongoSession(uri: config.mongoURI, name: "resync")
        for collection in collections {
            let plan = try await store.catalogPlan(of: collection, settings: config.flattenSettings)
            var converger = CollectionConverger(
                mongo: mongo, plan: plan, store: store, reader: reader, logger: logger)
            converger.comparesDigests = true
            let figures = try await converger.converge(progress: progress)
            logger.info(
                "converged",
                metadata: [
                    "collection": "\(collection)", "compared": "\(figures.compared)",
                    "differing": "\(figures.differing)", "written": "\(figures.written)",
                ])
            if figures.differing * 2 > figures.compared {
                // Rows written stay in proportion to what differs, but a reload reads and writes faster per row.
                logger.warning(
                    "most documents differed: an init load of the collection would likely have been faster",
                    metadata: ["collection": "\(collection)", "differing": "\(figures.differing)"])
            }
            summary.add(figures)
        }
        try await store.session.withAsyncTransaction(
            purpose: "move the sync points to the positions the resync started at"
        ) {
            let movingNames = Set(moving.map(\.name))
            try await store.moveSyncPoints(positions.filter { movingNames.contains($0.key) })
            // Replay from the new positions reads every transaction still open there from its first entry; one kept
            // from before the lapse may have ended in the history lost.
            try await store.keepOpenTransactions(Dictionary(uniqueKeysWithValues: movingNames.map { ($0, []) }))
            try await store.forgetPendingVerifications(of: collections)
            for collection in collections where !named.isEmpty {
                let own = streams.filter { !movingNames.contains($0.name) && $0.collections.contains(collection) }
                try await store.setCollectionStarts(
                    collection, positions: positions.filter { name, _ in own.contains { $0.name == name } })
            }
        }
        summary.syncPoints = positions.filter { name, _ in moving.contains { $0.name == name } }.mapValues(\.packed)
        summary.seconds = (ContinuousClock.now - started).seconds
        return summary
    }

    /// The streams whose history no longer reaches back to where replay must start (as replay itself finds out
    /// when it opens them), or that have no start at all (a source added to the configuration).
    private func lostHistory(of streams: [Stream], starts: ReplayStarts) async throws -> [Stream] {
        // A damaged token (not BSON) cannot be resumed from: its stream starts afresh, as one whose history is lost.
        let (tokens, damaged) = try await store.storedResumeTokens()
        var lost: [Stream] = []
        for stream in streams {
            guard let ts = starts.readFrom(stream.name), !damaged.contains(stream.name) else {
                lost.append(stream)
                continue
            }
            do {
                if let scope = stream.scope {
                    _ = try await ChangeStreamSource(
                        source: stream.source, name: stream.name, scope: scope, collections: config.collections,
                        start: tokens[stream.name].map { .token($0, ts: ts) } ?? .time(ts), batchSize: 1,
                        logger: logger)
                } else {
                    let session = try MongoSession(uri: stream.source.uri, name: "resync-\(stream.name)")
                    try await ServerOplogSource.checkReachesBack(session, name: stream.name, start: ts)
                }
            } catch let error as OplogError where error.kind == .historyLost {
                logger.info("history lost", metadata: ["source": "\(stream.name)", "error": "\(error)"])
                lost.append(stream)
            }
        }
        return lost
    }
}
