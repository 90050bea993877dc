/// A document `etlstatus verify` found not to be what MongoDB holds.
public struct VerificationFinding: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable, CaseIterable {
        /// Stored, but its rows give another document back (`path` says where they part).
        case different
        /// In MongoDB, not in PostgreSQL.
        case missing
        /// In PostgreSQL, not in MongoDB.
        case extra
        /// In MongoDB, but no row can hold it (its `_id` does not fit the schema): the load refused it.
        case unstorable
        /// Differs because MongoDB changed it after the sync point: the next oplog-sync brings it; no divergence.
        case pending
    }

    public var kind: Kind
    /// The `_id`, in relaxed Extended JSON.
    public var id: String
    /// The first differing path (`different`) or the reason (`unstorable`).
    public var path: String?
    /// The `_id` itself, for repair and for the oplog query.
    let idValue: BSONValue
    /// MongoDB's document as the merge read it (nil: none, or not kept): a convergence writes it without a lookup.
    var mongoDocument: BSONDocument? = nil
    /// The rows PostgreSQL held of it as the merge read them (nil: not kept), so that a repair writes only what changes.
    var storedRows: DocumentRows? = nil

    enum CodingKeys: String, CodingKey { case kind, id, path }

    init(_ kind: Kind, id: BSONValue, path: String? = nil) {
        self.kind = kind
        self.id = id.description
        self.path = path
        idValue = id
    }
}

/// Compares one collection in MongoDB with the same documents rebuilt from PostgreSQL through the catalog: a random
/// sample of both sides, or everything, streamed from both in `_id` order and merged, so memory stays flat in the
/// collection's size. Runs on `session` inside the read-only snapshot the caller opened; MongoDB is read live, so a
/// finding may be a change not yet synced (the caller asks the oplog which).
struct CollectionVerifier {
    let mongo: MongoSession
    let plan: TablePlan
    let session: PostgresSession
    /// Documents read and compared per round trip on either side.
    var chunk = 1000

    /// What a verification counted and found: every finding counted, the first `listLimit` kept (a collection
    /// that differs everywhere needs an init load, not a list held in memory).
    struct Tally: Sendable {
        static let listLimit = 10_000
        var checked = 0
        var counts: [VerificationFinding.Kind: Int] = [:]
        var findings: [VerificationFinding] = []

        mutating func add(_ finding: VerificationFinding) {
            counts[finding.kind, default: 0] += 1
            if findings.count < Self.listLimit { findings.append(finding) }
        }
    }

    /// A MongoDB document, normalised by the relational model's lossy rules, and as it was.
    struct MongoItem {
        var key: SQLValue
        var match: [UInt8]
        var id: BSONValue
        var document: BSONDocument
        var original: BSONDocument
    }

    /// A stored document, rebuilt from its rows: a document, or why its rows cannot be one.
    struct StoredItem {
        var key: SQLValue
        var match: [UInt8]
        var id: BSONValue
        var document: Result<BSONDocument, SchemaError>
    }

    /// `size` random documents of MongoDB and `size` random root rows of PostgreSQL, each looked up on the other side.
    func sample(size: Int) async throws -> Tally {
        var matcher = DocumentMatcher()
        let cursor = try await mongo.sample(plan.namespace, size: size)
        var seen = Set<[UInt8]>()
        while true {
            let batch = try await mongo.nextBatch(cursor)
            if batch.isEmpty { break }
            // $sample may give one document twice.
            for item in try mongoItems(batch, into: &matcher) where seen.insert(item.match).inserted {
                matcher.offer(item)
            }
        }
        let root = plan.tables[0]
        let keys = try await session.query(
            "SELECT \(Identifier.quoted(root.columns[0].name)) FROM \(plan.qualifiedName(root)) ORDER BY random() "
                + "LIMIT \(size)", parameters: [], purpose: "sample \(plan.namespace)'s stored documents")
        for stored in try await storedItems(keyTexts: keys.rows.map { $0[0] }) where !seen.contains(stored.match) {
            matcher.offer(stored)
        }
        try await confirm(&matcher)
        return matcher.tally
    }

    /// Every document of both sides, merged in `_id` order (see `KeyOrder`). `found`, when given, is handed the
    /// findings as they are made, about `chunk` at a time (the tally counts them too, and keeps the first ones).
    func all(found: (([VerificationFinding]) async throws -> Void)? = nil) async throws -> Tally {
        var matcher = DocumentMatcher()
        matcher.keepsFresh = found != nil
        let mongoCursor = try await mongo.find(
            plan.namespace, options: FindOptions(sort: ["_id": .int32(1)], batchSize: Int32(chunk)))
        let root = plan.tables[0]
        let keyColumn = Identifier.quoted(root.columns[0].name)
        let cursorName = "verify_keys"
        try await session.execute(
            """
            DECLARE \(cursorName) NO SCROLL CURSOR FOR SELECT \(keyColumn) FROM \(plan.qualifiedName(root))
            ORDER BY \(KeyOrder.orderBy(keyColumn, type: root.columns[0].sqlType))
            """, purpose: "open a cursor over \(plan.namespace)'s stored _ids")
        var mongoItems: ArraySlice<MongoItem> = [], storedItems: ArraySlice<StoredItem> = []
        var mongoDone = false, storedDone = false
        merging: while true {
            if mongoItems.isEmpty, !mongoDone {
                let batch = try await mongo.nextBatch(mongoCursor, maximum: chunk)
                mongoDone = batch.isEmpty
                mongoItems = try self.mongoItems(batch, into: &matcher)[...]
            }
            if storedItems.isEmpty, !storedDone {
                let keys = try await session.query(
                    "FETCH \(chunk) FROM \(cursorName)", parameters: [], purpose: "read \(plan.namespace)'s _ids")
                storedDone = keys.isEmpty
                storedItems = try await self.storedItems(keyTexts: keys.rows.map { $0[0] })[...]
            }
            // A side with nothing in hand that may still bring documents is read again before anything is paired.
            if mongoItems.isEmpty && !mongoDone || storedItems.isEmpty && !storedDone { continue }
            guard matcher.offerNext(&mongoItems, &storedItems) else { break merging }
            if matcher.waiting.mongoOnly.count >= chunk || matcher.waiting.storedOnly.count >= chunk {
                try await confirm(&matcher)
            }
            if let found, matcher.fresh.count >= chunk { try await found(matcher.takeFresh()) }
        }
        try await session.execute("CLOSE \(cursorName)", purpose: "close the cursor over the stored _ids")
        try await confirm(&matcher)
        if let found, !matcher.fresh.isEmpty { try await found(matcher.takeFresh()) }
        return matcher.tally
    }

    /// Decodes and normalises MongoDB's documents; one that cannot be stored at all is a finding of its own.
    private func mongoItems(_ batch: [RawDocument], into matcher: inout DocumentMatcher) throws -> [MongoItem] {
        var items: [MongoItem] = []
        items.reserveCapacity(batch.count)
        for raw in batch {
            let document = try raw.decode()
            let id = document["_id"] ?? .null
            do {
                let normalised = try normalise(document, plan: plan)
                items.append(
                    MongoItem(
                        key: try plan.keyValue(ofID: id), match: try Self.match(normalised["_id"] ?? .null), id: id,
                        document: normalised, original: document))
            } catch let error as SchemaError {
                matcher.record(VerificationFinding(.unstorable, id: id, path: error.message))
            }
        }
        return items
    }

    /// The stored documents of the key texts PostgreSQL returned, rebuilt, in the same order.
    private func storedItems(keyTexts: [String?]) async throws -> [StoredItem] {
        let type = plan.tables[0].columns[0].sqlType
        return try await storedItems(
            keys: try keyTexts.map { try CopyTextDecoder.value(text: $0, type) })
    }

    /// The stored documents of `keys`, rebuilt, in the same order; keys no table holds are left out.
    private func storedItems(keys: [SQLValue]) async throws -> [StoredItem] {
        let rebuilder = DocumentRebuilder(plan: plan)
        var items: [StoredItem] = []
        for (key, rows) in zip(keys, try await StoredDocuments.rows(ofIDs: keys, plan: plan, session: session)) {
            guard let rows else { continue }
            let id = try rebuilder.id(ofKey: key)
            let document = Result { () throws(SchemaError) in try rebuilder.rebuild(rows) }
            items.append(StoredItem(key: key, match: try Self.match(id), id: id, document: document))
        }
        return items
    }

    /// Looks each unmatched document up on the other side: found, it is compared (and skipped when its own stream
    /// brings it later); not found, it is missing or extra.
    private func confirm(_ matcher: inout DocumentMatcher) async throws {
        let mongoOnly = Array(matcher.waiting.mongoOnly.values)
        matcher.waiting.mongoOnly = [:]
        if !mongoOnly.isEmpty {
            let found = try await storedItems(keys: mongoOnly.map(\.key))
            var storedByMatch = Dictionary(found.map { ($0.match, $0) }, uniquingKeysWith: { first, _ in first })
            for item in mongoOnly {
                if let stored = storedByMatch.removeValue(forKey: item.match) {
                    matcher.waiting.skipStored.insert(stored.match)
                    matcher.compare(item, stored)
                } else {
                    matcher.record(VerificationFinding(.missing, id: item.id), mongoDocument: item.original)
                }
            }
        }
        let storedOnly = Array(matcher.waiting.storedOnly.values)
        matcher.waiting.storedOnly = [:]
        if !storedOnly.isEmpty {
            var scratch = DocumentMatcher()
            let found = try mongoItems(
                try await mongo.documents(plan.namespace, ids: storedOnly.map(\.id)), into: &scratch)
            var mongoByMatch = Dictionary(found.map { ($0.match, $0) }, uniquingKeysWith: { first, _ in first })
            // MongoDB holds these, but no row can hold them now: not extra (their rows must not go), unstorable.
            let unstorable = Set(try scratch.tally.findings.map { try Self.match($0.idValue) })
            for stored in storedOnly {
                if let item = mongoByMatch.removeValue(forKey: stored.match) {
                    matcher.waiting.skipMongo.insert(item.match)
                    matcher.compare(item, stored)
                } else if unstorable.contains(stored.match) {
                    matcher.record(
                        scratch.tally.findings.first { (try? Self.match($0.idValue)) == stored.match }
                            ?? VerificationFinding(.unstorable, id: stored.id))
                } else {
                    matcher.record(VerificationFinding(.extra, id: stored.id))
                }
            }
        }
    }

    /// What pairs a document across the sides: its normalised `_id`'s BSON bytes (an int `_id` is a long on both
    /// sides once normalised to a long schema).
    static func match(_ id: BSONValue) throws -> [UInt8] { try BSONEncoder.encode(["_id": id]) }
}

/// Pairs documents offered from either side by their `_id`, compares each pair, and keeps the unpaired ones for a
/// lookup. Pure.
struct DocumentMatcher {
    var tally = CollectionVerifier.Tally()
    /// Findings made since `takeFresh` last took them, when `keepsFresh`.
    private(set) var fresh: [VerificationFinding] = []
    var keepsFresh = false
    /// Documents waiting for their partner or a lookup.
    var waiting = KeyPairing<CollectionVerifier.MongoItem, CollectionVerifier.StoredItem>()

    mutating func offer(_ item: CollectionVerifier.MongoItem) {
        if let stored = waiting.partner(of: item) { compare(item, stored) }
    }

    mutating func offer(_ stored: CollectionVerifier.StoredItem) {
        if let item = waiting.partner(of: stored) { compare(item, stored) }
    }

    mutating func compare(_ item: CollectionVerifier.MongoItem, _ stored: CollectionVerifier.StoredItem) {
        tally.checked += 1
        switch stored.document {
        case .success(let document):
            if let path = DocumentDifference.firstPath(item.document, document) {
                add(VerificationFinding(.different, id: item.id, path: path), mongoDocument: item.original)
            }
        case .failure(let damage):
            // Rows that cannot be a document (a gap in a child table's idx, a damaged cell) differ at their path.
            add(
                VerificationFinding(.different, id: item.id, path: damage.path ?? "(rows: \(damage.message))"),
                mongoDocument: item.original)
        }
    }

    mutating func record(_ finding: VerificationFinding, mongoDocument: BSONDocument? = nil) {
        tally.checked += 1
        add(finding, mongoDocument: mongoDocument)
    }

    mutating func takeFresh() -> [VerificationFinding] {
        defer { fresh = [] }
        return fresh
    }

    /// Counts `finding`; the fresh ones handed on keep MongoDB's document too (the tally's kept list does not: it
    /// may hold thousands).
    private mutating func add(_ finding: VerificationFinding, mongoDocument: BSONDocument? = nil) {
        tally.add(finding)
        guard keepsFresh else { return }
        var finding = finding
        finding.mongoDocument = mongoDocument
        fresh.append(finding)
    }
}
