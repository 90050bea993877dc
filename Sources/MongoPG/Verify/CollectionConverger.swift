import Logging

/// Brings one collection's tables to what MongoDB holds, in place: a streamed merge of both sides in `_id` order that
/// compares rows, not documents (`RowMerge`: MongoDB's documents flattened as the init load flattens them, against
/// the rows read on `reader`, inside a read-only snapshot it opens), and every document that differs, is missing or
/// is extra rewritten with MongoDB's version on the store's session (`DocumentRepairer`), one transaction per round
/// of findings. Only differing documents are written; the tables keep their identity (no staging, no swap), so
/// users' views, grants and indexes stay, and readers wait at most for one round's commit. The caller holds the sync
/// lock. A run killed anywhere leaves committed rounds that are right and the rest as it was: a rerun finishes.
/// For `oplog-sync --resync` and schema changes applied in place.
struct CollectionConverger {
    let mongo: MongoSession
    let plan: TablePlan
    let store: StateStore
    /// A second session for the merge's snapshot and cursor, while repairs commit on the store's session.
    let reader: PostgresSession
    let logger: Logger
    /// Documents read and compared per round trip on either side.
    var chunk = 1000
    /// Whether to compare digests first (`DigestMerge`: no sorted read, the merge's PostgreSQL reads overlapping
    /// MongoDB's), falling back to the sorted merge beyond its memory bound. For a resync, where most documents are
    /// alike; a schema change, which rewrites every document, merges sorted.
    var comparesDigests = false

    /// What a convergence did.
    struct Figures: Sendable, Equatable, Codable {
        /// Documents compared (either side).
        var compared = 0
        /// Documents found differing, missing or extra.
        var differing = 0
        /// Documents whose rows were rewritten (or deleted): those that still differed when their round committed.
        var written = 0
        /// MongoDB documents no row can hold (their `_id` does not fit the schema): left out, as the load does.
        var unstorable = 0
    }

    /// Converges the collection; `progress` counts documents compared, as they are. Each round's repair commits on
    /// the store's session while the merge reads on: at most one round is in flight.
    func converge(progress: Progress? = nil) async throws -> Figures {
        var figures = Figures()
        let verifier = BatchVerifier(mongo: mongo, plans: [plan.namespace: plan])
        var repairer = DocumentRepairer(verifier: verifier, logger: logger)
        repairer.logLevel = .debug
        repairer.recheck = .written
        var round: Task<Int, Error>?
        do {
            figures.compared = try await merge(repairer, progress: progress, round: &round, figures: &figures)
        } catch {
            // A round still committing holds the store's session inside its transaction: it ends before anyone else
            // uses the session (the run's ledger, on the way out).
            _ = try? await round?.value
            throw error
        }
        figures.written += try await round?.value ?? 0
        return figures
    }

    /// The merge, each round of its findings repaired on a task of its own (`round`: the one in flight).
    private func merge(
        _ repairer: DocumentRepairer, progress: Progress?, round: inout Task<Int, Error>?, figures: inout Figures
    ) async throws -> Int {
        let purpose = "read \(plan.namespace) for convergence"
        let namespace = plan.namespace, session = store.session
        return try await reader.withAsyncTransaction(purpose: purpose, readOnlySnapshot: true) {
            func found(_ findings: [VerificationFinding]) async throws {
                // MongoDB's side as the merge read it: no second lookup before the write (the check after it asks).
                let differences = findings.filter { $0.kind != .unstorable }.map {
                    BatchVerifier.Difference(
                        namespace: namespace, id: $0.idValue, path: $0.path ?? $0.kind.rawValue,
                        mongoDocument: $0.mongoDocument, storedRows: $0.storedRows)
                }
                figures.differing += differences.count
                figures.unstorable += findings.count - differences.count
                guard !differences.isEmpty else { return }
                figures.written += try await round?.value ?? 0
                round = Task { [repairer] in
                    let outcome = try await repairer.repairInTransaction(
                        differences, session: session,
                        purpose: "converge \(differences.count) documents of \(namespace)")
                    try await TestHooks.hold(at: "converge-round")  // a round committed, the merge not finished
                    return outcome.repaired.count
                }
            }
            if comparesDigests,
                let compared = try await DigestMerge(mongo: mongo, plan: plan, session: reader, chunk: chunk).run(
                    found: found, compared: { progress?.add($0) })
            {
                return compared
            }
            if comparesDigests {
                logger.info(
                    "more documents than the digests hold in memory: merging sorted by _id",
                    metadata: [LogKey.namespace: "\(namespace)"])
            }
            return try await RowMerge(mongo: mongo, plan: plan, session: reader, chunk: chunk).run(
                found: found, compared: { progress?.add($0) })
        }
    }
}
