/// A convergence's comparison of one collection without sorting either side: every table's rows read first (no
/// `ORDER BY`) into one digest per stored document (`StoredDigests`), while MongoDB gathers the answer to a plain
/// `find` (SecantusDB builds a query's whole answer before its first batch: the two waits overlap); then MongoDB's
/// documents, in the order they come as the init load reads them, flattened with the plan and their rows' digest
/// compared with the stored one. Only documents whose digests differ have their rows read (by key, in the snapshot)
/// and compared row by row (`RowComparison`), so a finding is as exact as `RowMerge`'s (a document no digest holds is
/// looked up by key before it is called missing); the digests left when MongoDB is done are documents it lacks, each
/// looked up there before it is called extra. Memory: one digest entry per stored document (about 200 bytes), at
/// most `limit`; beyond it `run` gives up before reporting anything and the caller merges sorted instead. Runs on
/// `session` inside the read-only snapshot the caller opened.
struct DigestMerge {
    let mongo: MongoSession
    let plan: TablePlan
    let session: PostgresSession
    /// Documents read per MongoDB round trip, and compared per lookup of rows.
    var chunk = 1000
    /// Stored documents the digests may hold.
    var limit = TestHooks.digestLimit ?? 1_000_000
    /// Rows read per PostgreSQL round trip.
    var rowsPerFetch = 5000
    /// MongoDB batches flattened and digested at once.
    var batchesInFlight = 2

    /// A batch of MongoDB's documents flattened (`RowMerge.mongoItems`), each with its rows' digest (nil: no row can
    /// hold it), and the findings of those whose `_id` fits no key.
    struct DigestedBatch: Sendable {
        var items: [(item: RowMerge.MongoItem, digest: RowDigest?)]
        var findings: [VerificationFinding]
    }

    static func digested(_ batch: [RawDocument], merge: RowMerge) throws -> DigestedBatch {
        var flattening = Flattening(plan: merge.plan)
        var matcher = RowMatcher()
        let items = try merge.mongoItems(batch, flattening: &flattening, into: &matcher)
        return DigestedBatch(
            items: items.map { ($0, $0.rows.map { RowDigest(tables: $0) }) }, findings: matcher.takeFindings())
    }

    /// Compares every document of both sides, as `RowMerge.run` does (`found`, `compared`, the documents compared
    /// returned); nil when the tables hold more than `limit` documents, with nothing reported.
    func run(
        found: ([VerificationFinding]) async throws -> Void, compared: (Int) -> Void = { _ in }
    ) async throws -> Int? {
        // PostgreSQL's estimate first: a collection plainly too large is not read twice over.
        let estimate = try await session.query(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass",
            parameters: [plan.qualifiedName(plan.tables[0])], purpose: "estimate \(plan.tables[0].name)'s rows")
        guard (estimate.scalar.flatMap { Int($0) } ?? 0) <= limit else { return nil }
        let cursor = try await mongo.find(plan.namespace, options: FindOptions(batchSize: Int32(chunk)))
        let mongo = self.mongo, chunk = self.chunk
        func nextMongo() -> Task<[RawDocument], Error> {
            Task { try await mongo.nextBatch(cursor, maximum: chunk) }
        }
        // Asked before PostgreSQL is read: the server gathers its answer meanwhile.
        var pendingMongo: Task<[RawDocument], Error>? = nextMongo()
        guard var digests = try await storedDigests() else {
            _ = try? await pendingMongo?.value  // the MongoDB session is free again for the caller's sorted merge
            await mongo.close(cursor)
            return nil
        }
        let merge = RowMerge(mongo: mongo, plan: plan, session: session, chunk: chunk)
        var matcher = RowMatcher()
        var unsettled: [RowMerge.MongoItem] = []
        var reported = 0
        // Batches are flattened and digested on tasks of their own, several at once, and taken in the order they came.
        var digesting: [Task<DigestedBatch, Error>] = []
        while true {
            while digesting.count < batchesInFlight, let pending = pendingMongo {
                let batch = try await pending.value
                pendingMongo = batch.isEmpty ? nil : nextMongo()
                if !batch.isEmpty { digesting.append(Task { try Self.digested(batch, merge: merge) }) }
            }
            guard !digesting.isEmpty else { break }
            let batch = try await digesting.removeFirst().value
            for finding in batch.findings { matcher.record(finding) }
            for (item, digest) in batch.items {
                if let stored = digests.take(item.match), let digest, digest == stored.digest {
                    matcher.same()
                } else {
                    unsettled.append(item)
                }
            }
            if unsettled.count >= chunk { try await settle(&unsettled, digests: &digests, matcher: &matcher) }
            if matcher.compared - reported >= chunk {
                compared(matcher.compared - reported)
                reported = matcher.compared
            }
            if matcher.findings.count >= chunk { try await found(matcher.takeFindings()) }
        }
        try await settle(&unsettled, digests: &digests, matcher: &matcher)
        // What is left, MongoDB did not bring: extra, unless a lookup finds it there.
        let left = Array(digests.entries.values)
        var flattening = Flattening(plan: plan)
        for start in stride(from: 0, to: left.count, by: chunk) {
            let keys = left[start..<min(start + chunk, left.count)].map(\.key)
            let rows = try await StoredDocuments.rows(ofIDs: keys, plan: plan, session: session)
            let stored = zip(keys, rows).map { key, rows in
                (key: key, match: RowComparison.match(key), rows: rows ?? DocumentRows(tableCount: plan.tables.count))
            }
            _ = try await merge.lookUpInMongo(stored, flattening: &flattening, into: &matcher)
            if matcher.findings.count >= chunk { try await found(matcher.takeFindings()) }
        }
        compared(matcher.compared - reported)
        if !matcher.findings.isEmpty { try await found(matcher.takeFindings()) }
        return matcher.compared
    }

    /// Reads the rows of MongoDB's documents whose digests differ or were not found, by key, and compares them row
    /// by row; a document no table holds is missing. Rows found under a key spelt otherwise than the digests' are
    /// taken out of them, as `RowMerge` skips a document a lookup paired.
    private func settle(
        _ unsettled: inout [RowMerge.MongoItem], digests: inout StoredDigests, matcher: inout RowMatcher
    ) async throws {
        guard !unsettled.isEmpty else { return }
        let items = unsettled
        unsettled = []
        let found = try await StoredDocuments.rows(ofIDs: items.map(\.key), plan: plan, session: session)
        for (item, rows) in zip(items, found) {
            guard let rows else {
                matcher.missing(item)
                continue
            }
            for key in rows.tables.compactMap({ $0.first?.first }) { _ = digests.take(RowComparison.match(key)) }
            matcher.compare(item, rows, plan: plan)
        }
    }

    /// Every table's rows, digested per document; nil once more than `limit` documents are met.
    private func storedDigests() async throws -> StoredDigests? {
        var digests = StoredDigests(limit: limit)
        for (index, table) in plan.tables.enumerated() {
            let columns = table.columns.map { Identifier.quoted($0.name) }.joined(separator: ", ")
            var cursor = try await FetchAheadCursor(
                session: session, name: "converge_digest_\(index)",
                query: "SELECT \(columns) FROM \(plan.qualifiedName(table))", rowsPerFetch: rowsPerFetch,
                what: "\(table.name)'s rows")
            while let rows = try await cursor.next() {
                for row in rows.rows {
                    guard digests.add(try RowMerge.typed(row, table: table), table: index) else {
                        try await cursor.close()
                        return nil
                    }
                }
            }
            try await cursor.close()
        }
        return digests
    }
}
