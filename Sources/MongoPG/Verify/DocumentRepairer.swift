import Logging

/// The one repair path, for oplog-sync's verified batches and `etlstatus verify --repair`: documents whose rows do
/// not give MongoDB's document back get MongoDB's version written in their place (their rows deleted where MongoDB
/// has none), on the caller's session inside its transaction, and are checked again; after `tries` rounds that still
/// leave a difference, `DivergenceError` (exit 3) and the caller rolls back. A document MongoDB changed after the
/// position the rows stand for is never repaired to a state the oplog has not reached: it is left pending, for the
/// replay that brings its change.
struct DocumentRepairer {
    let verifier: BatchVerifier
    let logger: Logger
    /// Repair rounds before a document that still differs is divergence.
    var tries = 3
    /// Each repaired document is logged at this level: a warning where a repair means something went wrong, debug
    /// where rewriting is the job (a resync, a schema change).
    var logLevel = Logger.Level.warning
    /// What repaired rows are checked against: MongoDB asked again, or the documents just written (a convergence,
    /// whose changes after its start position replay later: the check is that the rows are the ones the load writes
    /// for them, `BatchVerifier.rowDifferences`).
    var recheck = Recheck.mongo

    enum Recheck: Sendable { case mongo, written }

    /// What a repair did.
    struct Outcome: Sendable {
        var repaired: Set<DocumentKey> = []
        /// Documents that differ and that MongoDB changed after the rows' position.
        var pending: [DocumentKey: BSONValue] = [:]
    }

    /// Repairs `differences` (found on `session`, see `BatchVerifier.differences`). `laterChanges` answers which of
    /// the given ids MongoDB changed since the rows' position (asked once, for the first round's documents); nil: none
    /// (the caller excluded them). `mongoSeconds` grows by the time MongoDB took to answer.
    func repair(
        _ differences: [BatchVerifier.Difference], session: PostgresSession,
        laterChanges: (([BSONValue]) async throws -> ChangedAfter)?, mongoSeconds: inout Double
    ) async throws -> Outcome {
        var outcome = Outcome()
        var differences = differences
        var later: ChangedAfter?
        var rounds = 0
        while !differences.isEmpty {
            if later == nil {
                let asked = ContinuousClock.now
                later = try await laterChanges?(differences.map(\.id)) ?? ChangedAfter()
                mongoSeconds += (ContinuousClock.now - asked).seconds
            }
            var repairs: [DocumentOutcome] = []
            // Rows known as they are (the first round's, from a merge that read them) are diffed, not rewritten.
            var stored: [DocumentKey: BatchWrite.Stored] = [:]
            for difference in differences {
                let key = try DocumentKey(difference.namespace, difference.id)
                if later?.contains(key) == true {
                    outcome.pending[key] = difference.id
                    continue
                }
                repairs.append(
                    DocumentOutcome(
                        namespace: difference.namespace, id: difference.id, document: difference.mongoDocument,
                        exact: true))
                outcome.repaired.insert(key)
                if let rows = difference.storedRows { stored[key] = .rows(rows) }
                logger.log(
                    level: logLevel, "repaired a document that differed from MongoDB",
                    metadata: [
                        LogKey.namespace: "\(difference.namespace)", LogKey.documentID: "\(difference.id)",
                        "path": "\(difference.path)",
                    ])
            }
            if repairs.isEmpty { break }
            guard rounds < tries else {
                throw DivergenceError(
                    documents: differences.map { "\($0.namespace) _id \($0.id) at \($0.path)" }, tries: tries)
            }
            rounds += 1
            _ = try await BatchWriter(session: session, plans: verifier.plans).write(
                BatchWrite(
                    emptied: [], outcomes: repairs, stored: stored, plans: verifier.plans, keepingImages: false))
            switch recheck {
            case .mongo:
                differences = try await verifier.differences(
                    Dictionary(grouping: repairs, by: \.namespace).mapValues { $0.map(\.id) }, session: session,
                    mongoSeconds: &mongoSeconds)
            case .written:
                differences = []
                for (namespace, written) in Dictionary(grouping: repairs, by: \.namespace) {
                    differences += try await verifier.rowDifferences(namespace, written: written, session: session)
                }
            }
        }
        return outcome
    }

    /// Checks the documents of `ids` on `session` and repairs those that differ, in a transaction of its own: a
    /// document that still differs after `tries` rounds is `DivergenceError` with nothing committed.
    func repairInTransaction(_ ids: [Namespace: [BSONValue]], session: PostgresSession, purpose: String)
        async throws -> Outcome
    {
        try await session.withAsyncTransaction(purpose: purpose) {
            var mongoSeconds = 0.0
            let differences = try await verifier.differences(ids, session: session, mongoSeconds: &mongoSeconds)
            return try await repair(differences, session: session, laterChanges: nil, mongoSeconds: &mongoSeconds)
        }
    }

    /// Repairs `differences` known already (MongoDB's documents in hand: a merge just read them), in a transaction of
    /// its own, checked again before it commits.
    func repairInTransaction(_ differences: [BatchVerifier.Difference], session: PostgresSession, purpose: String)
        async throws -> Outcome
    {
        try await session.withAsyncTransaction(purpose: purpose) {
            var mongoSeconds = 0.0
            return try await repair(differences, session: session, laterChanges: nil, mongoSeconds: &mongoSeconds)
        }
    }
}
