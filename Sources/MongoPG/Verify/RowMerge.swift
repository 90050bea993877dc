/// A convergence's comparison of one collection, at the row level: MongoDB's documents sorted by `_id`, each
/// flattened with the plan (the init load's flattener), merged with the root table read in the same order through a
/// cursor; the child rows of each batch of paired documents read by their keys (one query per child table), and the
/// rows compared (`RowComparison`). No document is rebuilt or normalised. Runs on `session` inside the read-only
/// snapshot the caller opened; MongoDB's next batch and PostgreSQL's next root rows are read while a batch is
/// compared. A document either side holds alone is looked up on the other before it is called missing or extra (the
/// two orders disagree only for keys `KeyOrder` cannot order alike), as `CollectionVerifier.all` does.
struct RowMerge {
    let mongo: MongoSession
    let plan: TablePlan
    let session: PostgresSession
    /// Documents read per round trip on either side, and compared per child-row lookup.
    var chunk = 1000

    /// MongoDB's document with the rows the load writes for it; nil rows: no row can hold it (`reason` says why).
    struct MongoItem {
        var key: SQLValue
        var match: [UInt8]
        var id: BSONValue
        var document: BSONDocument
        var rows: [[[SQLValue]]]?
        var reason = ""
    }

    /// A root row read back, with its key.
    struct StoredItem {
        var key: SQLValue
        var match: [UInt8]
        var root: [SQLValue]
    }

    /// Compares every document of both sides; hands `found` the documents that differ, are missing, extra or
    /// unstorable, about `chunk` at a time, and `compared` the count of documents compared since it was last called.
    /// Returns the documents compared.
    func run(
        found: ([VerificationFinding]) async throws -> Void, compared: (Int) -> Void = { _ in }
    ) async throws -> Int {
        var matcher = RowMatcher()
        let root = plan.tables[0]
        let columns = root.columns.map { Identifier.quoted($0.name) }
        var stored = try await FetchAheadCursor(
            session: session, name: "converge_roots",
            query: "SELECT \(columns.joined(separator: ", ")) FROM \(plan.qualifiedName(root)) "
                + "ORDER BY \(KeyOrder.orderBy(columns[0], type: root.columns[0].sqlType))",
            rowsPerFetch: chunk, what: "\(root.name)'s rows")
        let mongoCursor = try await mongo.find(
            plan.namespace, options: FindOptions(sort: ["_id": .int32(1)], batchSize: Int32(chunk)))
        let mongo = self.mongo, chunk = self.chunk
        func nextMongo() -> Task<[RawDocument], Error> {
            Task { try await mongo.nextBatch(mongoCursor, maximum: chunk) }
        }
        var pendingMongo: Task<[RawDocument], Error>? = nextMongo()
        var flattening = Flattening(plan: plan)
        var mongoItems: ArraySlice<MongoItem> = [], storedItems: ArraySlice<StoredItem> = []
        var reported = 0
        merging: while true {
            if mongoItems.isEmpty, let pending = pendingMongo {
                let batch = try await pending.value
                pendingMongo = batch.isEmpty ? nil : nextMongo()
                mongoItems = try self.mongoItems(batch, flattening: &flattening, into: &matcher)[...]
            }
            if storedItems.isEmpty, stored.hasMore, let rows = try await stored.next() {
                storedItems = try self.storedItems(rows)[...]
            }
            // A side with nothing in hand that may still bring documents is read again before anything is paired.
            if mongoItems.isEmpty && pendingMongo != nil || storedItems.isEmpty && stored.hasMore { continue }
            guard matcher.offerNext(&mongoItems, &storedItems) else { break merging }
            if matcher.pairs.count >= chunk { try await comparePairs(&matcher) }
            if matcher.waiting.mongoOnly.count >= chunk || matcher.waiting.storedOnly.count >= chunk {
                try await confirm(&matcher, flattening: &flattening)
            }
            if matcher.compared - reported >= chunk {
                compared(matcher.compared - reported)
                reported = matcher.compared
            }
            if matcher.findings.count >= chunk { try await found(matcher.takeFindings()) }
        }
        try await stored.close()
        try await comparePairs(&matcher)
        try await confirm(&matcher, flattening: &flattening)
        compared(matcher.compared - reported)
        if !matcher.findings.isEmpty { try await found(matcher.takeFindings()) }
        return matcher.compared
    }

    /// Decodes and flattens MongoDB's documents; one whose `_id` fits no key is a finding of its own.
    func mongoItems(
        _ batch: [RawDocument], flattening: inout Flattening, into matcher: inout RowMatcher
    ) throws -> [MongoItem] {
        var items: [MongoItem] = []
        items.reserveCapacity(batch.count)
        var fields: [String: FlattenReport.FieldCounts] = [:]
        for raw in batch {
            let document = try raw.decode()
            let id = document["_id"] ?? .null
            let key: SQLValue
            do {
                key = try plan.keyValue(ofID: id)
            } catch {
                matcher.record(VerificationFinding(.unstorable, id: id, path: error.message))
                continue
            }
            var item = MongoItem(key: key, match: RowComparison.match(key), id: id, document: document)
            do {
                try flattening.flatten(document, fields: &fields)
                let cells = flattening.cells
                item.rows = plan.tables.indices.map { table in
                    (0..<cells.rowCount(table)).map { cells.completeRow(table, $0) }
                }
            } catch {
                item.reason = error.message
            }
            items.append(item)
        }
        return items
    }

    /// Root rows as PostgreSQL returned them, typed.
    private func storedItems(_ rows: PGRows) throws(SchemaError) -> [StoredItem] {
        var items: [StoredItem] = []
        items.reserveCapacity(rows.count)
        for row in rows.rows {
            let typed = try Self.typed(row, table: plan.tables[0])
            items.append(StoredItem(key: typed[0], match: RowComparison.match(typed[0]), root: typed))
        }
        return items
    }

    /// A row of `table` as PostgreSQL printed it, decoded by column type.
    static func typed(_ row: [String?], table: PlannedTable) throws(SchemaError) -> [SQLValue] {
        var typed: [SQLValue] = []
        typed.reserveCapacity(table.columns.count)
        for (cell, column) in zip(row, table.columns) {
            do {
                typed.append(try CopyTextDecoder.value(text: cell, column.sqlType))
            } catch {
                throw SchemaError(.badRows, "table \(table.name): \(error.message)", documentID: row[0])
            }
        }
        return typed
    }

    /// Reads the child rows of the paired documents and compares them.
    private func comparePairs(_ matcher: inout RowMatcher) async throws {
        let pairs = matcher.pairs
        matcher.pairs = []
        guard !pairs.isEmpty else { return }
        let children =
            plan.tables.count > 1
            ? try await StoredDocuments.rows(
                ofIDs: pairs.map(\.stored.key), plan: plan, session: session, firstTable: 1)
            : Array(repeating: nil, count: pairs.count)
        for ((item, stored), rows) in zip(pairs, children) {
            var rows = rows ?? DocumentRows(tableCount: plan.tables.count)
            rows.tables[0] = [stored.root]
            matcher.compare(item, rows, plan: plan)
        }
    }

    /// Looks each unpaired document up on the other side: found, it is compared (and skipped when its own stream
    /// brings it later); not found, it is missing or extra.
    private func confirm(_ matcher: inout RowMatcher, flattening: inout Flattening) async throws {
        let mongoOnly = Array(matcher.waiting.mongoOnly.values)
        matcher.waiting.mongoOnly = [:]
        if !mongoOnly.isEmpty {
            let found = try await StoredDocuments.rows(ofIDs: mongoOnly.map(\.key), plan: plan, session: session)
            for (item, rows) in zip(mongoOnly, found) {
                if let rows, let storedKey = rows.tables[0].first?.first {
                    matcher.waiting.skipStored.insert(RowComparison.match(storedKey))
                    matcher.compare(item, rows, plan: plan)
                } else if let rows {
                    matcher.compare(item, rows, plan: plan)  // child rows without their root row: different
                } else {
                    matcher.missing(item)
                }
            }
        }
        let storedOnly = Array(matcher.waiting.storedOnly.values)
        matcher.waiting.storedOnly = [:]
        guard !storedOnly.isEmpty else { return }
        let children = try await StoredDocuments.rows(
            ofIDs: storedOnly.map(\.key), plan: plan, session: session, firstTable: 1)
        let stored = zip(storedOnly, children).map { item, rows in
            var rows = rows ?? DocumentRows(tableCount: plan.tables.count)
            rows.tables[0] = [item.root]
            return (key: item.key, match: item.match, rows: rows)
        }
        for match in try await lookUpInMongo(stored, flattening: &flattening, into: &matcher) {
            matcher.waiting.skipMongo.insert(match)
        }
    }

    /// Looks documents only PostgreSQL showed up in MongoDB: found, each is compared with its `rows`; not found, it
    /// is extra (or unstorable: MongoDB holds it, but no row can hold it now). Returns the pairing keys of the
    /// documents MongoDB held.
    func lookUpInMongo(
        _ stored: [(key: SQLValue, match: [UInt8], rows: DocumentRows)], flattening: inout Flattening,
        into matcher: inout RowMatcher
    ) async throws -> [[UInt8]] {
        guard !stored.isEmpty else { return [] }
        let rebuilder = DocumentRebuilder(plan: plan)
        let ids = try stored.map { try rebuilder.id(ofKey: $0.key) }
        var scratch = RowMatcher()
        let found = try mongoItems(
            try await mongo.documents(plan.namespace, ids: ids), flattening: &flattening, into: &scratch)
        var mongoByMatch = Dictionary(found.map { ($0.match, $0) }, uniquingKeysWith: { first, _ in first })
        // MongoDB holds these, but no row can hold them now: not extra (their rows must not go), unstorable.
        let unstorable = Dictionary(
            scratch.takeFindings().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var held: [[UInt8]] = []
        for (document, id) in zip(stored, ids) {
            if let item = mongoByMatch.removeValue(forKey: document.match) {
                held.append(item.match)
                matcher.compare(item, document.rows, plan: plan)
            } else {
                matcher.record(unstorable[id.description] ?? VerificationFinding(.extra, id: id))
            }
        }
        return held
    }
}

/// Pairs documents offered from either side by their key, and compares pairs' rows once their child rows are
/// read; keeps the unpaired ones for a lookup. Pure.
struct RowMatcher {
    private(set) var compared = 0
    /// Findings not yet handed on, with MongoDB's document where one is to be written.
    private(set) var findings: [VerificationFinding] = []
    var pairs: [(item: RowMerge.MongoItem, stored: RowMerge.StoredItem)] = []
    /// Documents waiting for their partner or a lookup.
    var waiting = KeyPairing<RowMerge.MongoItem, RowMerge.StoredItem>()

    mutating func offer(_ item: RowMerge.MongoItem) {
        if let stored = waiting.partner(of: item) { pairs.append((item, stored)) }
    }

    mutating func offer(_ stored: RowMerge.StoredItem) {
        if let item = waiting.partner(of: stored) { pairs.append((item, stored)) }
    }

    /// Compares MongoDB's document with the rows stored under its key. One no row can hold leaves them as they are.
    mutating func compare(_ item: RowMerge.MongoItem, _ stored: DocumentRows, plan: TablePlan) {
        compared += 1
        guard let rows = item.rows else {
            return findings.append(VerificationFinding(.unstorable, id: item.id, path: item.reason))
        }
        if let table = RowComparison.firstDifference(stored: stored, flattened: rows, plan: plan) {
            var finding = VerificationFinding(.different, id: item.id, path: "(rows of \(table))")
            finding.mongoDocument = item.document
            finding.storedRows = stored
            findings.append(finding)
        }
    }

    /// A document whose rows were found the same without reading them again (their digests agree: `DigestMerge`).
    mutating func same() { compared += 1 }

    /// A MongoDB document no table holds.
    mutating func missing(_ item: RowMerge.MongoItem) {
        compared += 1
        guard item.rows != nil else {
            return findings.append(VerificationFinding(.unstorable, id: item.id, path: item.reason))
        }
        var finding = VerificationFinding(.missing, id: item.id)
        finding.mongoDocument = item.document
        finding.storedRows = DocumentRows(tableCount: item.rows?.count ?? 0)
        findings.append(finding)
    }

    /// A finding of a document alone on one side: extra, or one no row can hold.
    mutating func record(_ finding: VerificationFinding) {
        compared += 1
        findings.append(finding)
    }

    mutating func takeFindings() -> [VerificationFinding] {
        defer { findings = [] }
        return findings
    }
}
