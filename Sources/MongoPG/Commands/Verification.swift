import Foundation
import Logging

/// What `etlstatus verify` is asked: which collections, a sample or everything, and whether to repair.
public struct VerifyRequest: Sendable {
    /// nil: every configured collection.
    public var collection: Namespace?
    /// Documents sampled on each side; nil: every document (`--all`).
    public var sampleSize: Int?
    public var repair: Bool

    public static let defaultSampleSize = 1000

    public init(collection: Namespace?, sampleSize: Int?, repair: Bool) {
        self.collection = collection
        self.sampleSize = sampleSize
        self.repair = repair
    }
}

/// `etlstatus verify`'s answer: per collection, what was checked and what differs.
public struct VerificationReport: Sendable, Encodable {
    public struct Collection: Sendable, Encodable {
        public var record: VerificationRecord
        /// What was found (the first `CollectionVerifier.Tally.listLimit`), pending documents included.
        public var findings: [VerificationFinding]
    }

    public var runID: Int64?
    public var collections: [Collection]

    /// Whether some document still differs from MongoDB (exit 3).
    public var divergent: Bool { collections.contains { $0.record.divergent > 0 } }

    /// The findings as a table, then one summary line per collection.
    public var text: String {
        var lines: [String] = []
        let rows = collections.flatMap { collection in
            collection.findings.map { [collection.record.collection, $0.kind.rawValue, $0.id, $0.path ?? ""] }
        }
        if !rows.isEmpty {
            lines.append(TextTable(headers: ["COLLECTION", "FINDING", "_ID", "PATH"], rows: rows).text)
        }
        for collection in collections {
            let record = collection.record
            var summary =
                "\(record.collection): \(record.documentsChecked) documents checked (\(record.mode)), "
                + "\(record.different) different, \(record.missing) missing, \(record.extra) extra"
            if record.unstorable > 0 { summary += ", \(record.unstorable) unstorable" }
            if record.pending > 0 { summary += ", \(record.pending) pending (changed in MongoDB since the sync point)" }
            if record.repaired > 0 { summary += "; \(record.repaired) repaired" }
            summary += record.divergent > 0 ? "; \(record.divergent) divergent" : "; in sync"
            lines.append(summary)
        }
        return lines.joined(separator: "\n")
    }

    /// The run's totals for the ledger.
    var figures: [String: Double] {
        let records = collections.map(\.record)
        func total(_ value: (VerificationRecord) -> Int64) -> Double { Double(records.reduce(0) { $0 + value($1) }) }
        return [
            "documents_verified": total(\.documentsChecked), "documents_different": total(\.different),
            "documents_missing": total(\.missing), "documents_extra": total(\.extra),
            "documents_unstorable": total(\.unstorable), "documents_pending": total(\.pending),
            "documents_repaired": total(\.repaired), "documents_divergent": total(\.divergent),
        ]
    }
}

/// `etlstatus verify`: each collection compared with MongoDB through the catalog (`CollectionVerifier`) inside one
/// read-only snapshot of PostgreSQL, whose sync points say which differences are changes not yet synced (MongoDB's
/// oplog lists them after the sync point). `--repair` holds the sync lock for the whole run, so no oplog-sync
/// commits in between, and replaces the divergent documents' rows with MongoDB's versions in one transaction per
/// collection, checked again before it commits. Every run is in the ledger and its results in `verifications`.
public struct Verification: Sendable {
    public let context: ToolContext
    /// Where each source's later changes are learned (`SyncConfig.laterChangesSources`).
    public let laterChanges: [LaterChangesSource]

    public init(context: ToolContext, laterChanges: [LaterChangesSource]) {
        self.context = context
        self.laterChanges = laterChanges
    }

    /// The ledger's name for these runs.
    static let tool = "\(Tool.etlstatus.rawValue) verify"

    public func run(_ request: VerifyRequest) async throws -> VerificationReport {
        let config = context.config
        let collections = request.collection.map { [$0] } ?? config.collections
        for collection in collections where !config.collections.contains(collection) {
            throw GeneralError(.usage, "\(collection) is not a configured collection (see [collections])")
        }
        return try await StateStore.withOpened(context.openStateStore) { store in
            if request.repair { try await store.takeSyncLock(for: "for etlstatus verify --repair") }
            let status = try await store.initLoadStatus(schemaHashes: config.schemaHashes)
            guard !status.needed else {
                throw GeneralError(.initLoadNeeded, "init load needed: " + status.reasons.joined(separator: "; "))
            }
            let mongo = try MongoSession(uri: config.mongoURI, name: "verify")
            let run = try await LedgerRun.start(tool: Self.tool, arguments: context.arguments, in: store)
            do {
                var report = VerificationReport(runID: run.id, collections: [])
                for collection in collections {
                    let plan = try await store.catalogPlan(of: collection, settings: config.flattenSettings)
                    report.collections.append(
                        try await verify(
                            plan, request: request, mongo: mongo, store: store, initLoadPositions: status.positions,
                            runID: run.id))
                }
                try await run.finish(
                    report.divergent ? .divergent : .ok,
                    message: report.divergent ? "documents differ from MongoDB" : nil, figures: report.figures)
                return report
            } catch {
                try? await run.finish(error.exitStatus, message: "\(error)")
                throw error
            }
        }
    }

    private func verify(
        _ plan: TablePlan, request: VerifyRequest, mongo: MongoSession, store: StateStore,
        initLoadPositions: [String: UInt64], runID: Int64
    ) async throws -> VerificationReport.Collection {
        let session = store.session
        let purpose = "verify \(plan.namespace)"
        // One snapshot for the rows and the sync points they are at.
        let (tally, positions) = try await session.withAsyncTransaction(purpose: purpose, readOnlySnapshot: true) {
            let positions = try await store.replayStart(initLoadPositions: initLoadPositions)
            let verifier = CollectionVerifier(mongo: mongo, plan: plan, session: session)
            if let size = request.sampleSize { return (try await verifier.sample(size: size), positions) }
            return (try await verifier.all(), positions)
        }
        let changed = try await changedSinceSyncPoints(tally.findings, positions: positions)
        var counts = tally.counts
        var findings: [VerificationFinding] = []
        for var finding in tally.findings {
            if changed.contains(try DocumentKey(plan.namespace, finding.idValue)) {
                counts[finding.kind, default: 0] -= 1
                counts[.pending, default: 0] += 1
                finding.kind = .pending
            }
            findings.append(finding)
        }
        func count(_ kind: VerificationFinding.Kind) -> Int64 { Int64(counts[kind] ?? 0) }
        var divergent = count(.different) + count(.missing) + count(.extra) + count(.unstorable)
        var repaired = 0
        if request.repair {
            let repairable = findings.filter { $0.kind != .unstorable }
            repaired = try await repair(repairable, plan: plan, mongo: mongo, store: store)
            // Every listed finding but the unstorable ones is repaired now (or the repair threw); those counted beyond
            // the listed ones were not kept and are left for the next run.
            divergent = count(.unstorable) + Int64(tally.counts.values.reduce(0, +) - tally.findings.count)
        }
        let record = VerificationRecord(
            collection: plan.namespace.description, mode: request.sampleSize == nil ? "all" : "sample", runID: runID,
            documentsChecked: Int64(tally.checked), different: count(.different), missing: count(.missing),
            extra: count(.extra), unstorable: count(.unstorable), pending: count(.pending), repaired: Int64(repaired),
            divergent: divergent)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let findingsJSON = String(decoding: try encoder.encode(Array(findings.prefix(100))), as: UTF8.self)
        let recorded = try await store.recordVerification(record, findingsJSON: findingsJSON)
        return VerificationReport.Collection(record: recorded, findings: findings)
    }

    /// The documents among `findings` that MongoDB changed after each source's sync point: one question per source
    /// (a sharded cluster's documents live on one shard each).
    private func changedSinceSyncPoints(
        _ findings: [VerificationFinding], positions: [String: BSONTimestamp]
    ) async throws -> ChangedAfter {
        guard !findings.isEmpty else { return ChangedAfter() }
        var changed = ChangedAfter()
        for source in laterChanges {
            guard let position = source.positionNames.lazy.compactMap({ positions[$0] }).first else { continue }
            changed.formUnion(
                try await source.changes.documentsChanged(after: position, ids: findings.map(\.idValue)))
        }
        return changed
    }

    /// Replaces the rows of `findings`' documents that still differ with MongoDB's versions (deletes them where
    /// MongoDB has none), in one transaction, checked again before it commits (`DocumentRepairer`): a document that
    /// still differs is exit 3 with nothing committed. Answers how many documents were repaired.
    private func repair(
        _ findings: [VerificationFinding], plan: TablePlan, mongo: MongoSession, store: StateStore
    ) async throws -> Int {
        guard !findings.isEmpty else { return 0 }
        let namespace = plan.namespace
        let purpose = "repair \(findings.count) documents of \(namespace)"
        let repairer = DocumentRepairer(
            verifier: BatchVerifier(mongo: mongo, plans: [namespace: plan]), logger: context.logger)
        return try await repairer.repairInTransaction(
            [namespace: findings.map(\.idValue)], session: store.session, purpose: purpose
        ).repaired.count
    }
}
