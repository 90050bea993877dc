/// Verification of one replay batch against MongoDB, inside the batch's transaction: the documents the batch touched
/// (and those remembered as needing it) are rebuilt from the rows about to commit and compared with MongoDB's, both
/// normalised; one query per table and one MongoDB query per batch, never one per document.
struct BatchVerifier {
    /// Reads and verification: `[mongo] uri`.
    let mongo: MongoSession
    let plans: [Namespace: TablePlan]

    /// A document whose rows do not give MongoDB's document back.
    struct Difference: Sendable {
        var namespace: Namespace
        var id: BSONValue
        /// The first path that differs, for the log.
        var path: String
        /// MongoDB's document now; nil when MongoDB has none.
        var mongoDocument: BSONDocument?
        /// The rows PostgreSQL held when the difference was found, when known: a repair then writes only the rows
        /// that change (a new column's value rewrites the root row alone, never the child tables).
        var storedRows: DocumentRows? = nil
    }

    /// MongoDB's documents for some `_id`s, asked before they are needed (while the batch's rows are written).
    struct Lookup: Sendable {
        var documents: [DocumentKey: BSONDocument] = [:]
        /// Every document asked, found or not.
        var asked: Set<DocumentKey> = []
        /// The time MongoDB took to answer.
        var seconds = 0.0
    }

    /// MongoDB's documents of `ids` (of synced collections): one lookup per collection, its ids asked as many a
    /// query as the server answers fastest (`MongoSession.documents`).
    func lookUp(_ ids: [Namespace: [BSONValue]]) async throws -> Lookup {
        var lookup = Lookup()
        for (namespace, ids) in ids.sorted(by: { $0.key.description < $1.key.description }) where !ids.isEmpty {
            guard plans[namespace] != nil else { continue }
            let asked = ContinuousClock.now
            let found = try await mongo.documents(namespace, ids: ids)
            lookup.seconds += (ContinuousClock.now - asked).seconds
            for id in ids { lookup.asked.insert(try DocumentKey(namespace, id)) }
            for raw in found {
                let document = try raw.decode()
                lookup.documents[try DocumentKey(namespace, document["_id"] ?? .null)] = document
            }
        }
        return lookup
    }

    /// Every document of `ids` whose rows (read on `session`, so inside its transaction) differ from MongoDB's:
    /// those `lookedUp` asked before, the others asked now. `mongoSeconds` grows by the time MongoDB took to answer
    /// the lookups asked now (the run's summary shows it).
    func differences(
        _ ids: [Namespace: [BSONValue]], session: PostgresSession, mongoSeconds: inout Double,
        lookedUp: Lookup = Lookup()
    ) async throws -> [Difference] {
        var unasked: [Namespace: [BSONValue]] = [:]
        for (namespace, ids) in ids {
            for id in ids where !lookedUp.asked.contains(try DocumentKey(namespace, id)) {
                unasked[namespace, default: []].append(id)
            }
        }
        let late = try await lookUp(unasked)
        mongoSeconds += late.seconds
        let mongoByKey = lookedUp.documents.merging(late.documents) { _, new in new }
        var differences: [Difference] = []
        for (namespace, ids) in ids.sorted(by: { $0.key.description < $1.key.description }) where !ids.isEmpty {
            differences += try await self.differences(
                namespace, ids: ids, from: { mongoByKey[try DocumentKey(namespace, $0)] }, session: session)
        }
        return differences
    }

    /// Every document of `ids` whose rows (read on `session`) do not give back the document `expected` answers for
    /// its `_id` (nil: none): MongoDB's, or the one a repair just wrote.
    func differences(
        _ namespace: Namespace, ids: [BSONValue], from expected: (BSONValue) throws -> BSONDocument?,
        session: PostgresSession
    ) async throws -> [Difference] {
        guard let plan = plans[namespace] else { return [] }
        var differences: [Difference] = []
        let keys = try ids.map { try plan.keyValue(ofID: $0) }
        let rebuilder = DocumentRebuilder(plan: plan)
        let stored = try await StoredDocuments.rows(ofIDs: keys, plan: plan, session: session)
        for (id, rows) in zip(ids, stored) {
            let document = try expected(id)
            let normalised = try document.map { try normalise($0, plan: plan) }
            let path: String?
            do {
                path = DocumentDifference.firstPath(normalised, try rows.map(rebuilder.rebuild))
            } catch {
                // Rows damaged behind the tool's back (a child row without its siblings, a bad cell): a repair
                // replaces them whole.
                path = "(rows that rebuild no document: \(error))"
            }
            if let path {
                differences.append(Difference(namespace: namespace, id: id, path: path, mongoDocument: document))
            }
        }
        return differences
    }
}

extension BatchVerifier {
    /// Every document of `written` whose rows (read on `session`) are not the rows the init load writes for it
    /// (`RowComparison`; no rows for a document that is nil): a convergence's check of what it just wrote, as exact
    /// as rebuilding the documents, and without it.
    func rowDifferences(_ namespace: Namespace, written: [DocumentOutcome], session: PostgresSession) async throws
        -> [Difference]
    {
        guard let plan = plans[namespace] else { return [] }
        let keys = try written.map { try plan.keyValue(ofID: $0.id) }
        let flattener = Flattener(plan: plan)
        var report = FlattenReport()
        var differences: [Difference] = []
        for (outcome, rows) in zip(written, try await StoredDocuments.rows(ofIDs: keys, plan: plan, session: session)) {
            let expected =
                try outcome.document.map { try flattener.flatten($0, report: &report).rows }
                ?? Array(repeating: [], count: plan.tables.count)
            let stored = rows ?? DocumentRows(tableCount: plan.tables.count)
            if let table = RowComparison.firstDifference(stored: stored, flattened: expected, plan: plan) {
                differences.append(
                    Difference(
                        namespace: namespace, id: outcome.id, path: "(rows of \(table))",
                        mongoDocument: outcome.document))
            }
        }
        return differences
    }
}

/// Verification found documents whose rows could not be made to give MongoDB's document back: nothing of the batch
/// was committed.
public struct DivergenceError: ToolError {
    public var documents: [String]
    public var tries: Int

    public var description: String {
        "verification: \(documents.count) document(s) still differ from MongoDB after \(tries) repairs, nothing of "
            + "the batch committed: " + documents.prefix(10).joined(separator: "; ")
    }

    public var exitStatus: ExitStatus { .divergent }
}
