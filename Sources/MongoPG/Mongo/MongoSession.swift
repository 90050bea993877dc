import CMongoC

/// Options of a `find`, mapped onto the command's fields.
public struct FindOptions: Sendable {
    public var projection: BSONDocument? = nil
    public var sort: BSONDocument? = nil
    public var batchSize: Int32? = nil
    public var limit: Int64? = nil
    public init(
        projection: BSONDocument? = nil, sort: BSONDocument? = nil, batchSize: Int32? = nil, limit: Int64? = nil
    ) {
        self.projection = projection
        self.sort = sort
        self.batchSize = batchSize
        self.limit = limit
    }

    var document: BSONDocument {
        var document = BSONDocument()
        if let projection { document["projection"] = .document(projection) }
        if let sort { document["sort"] = .document(sort) }
        if let batchSize { document["batchSize"] = .int32(batchSize) }
        if let limit { document["limit"] = .int64(limit) }
        return document
    }
}

/// A cursor opened in a `MongoSession`, named by a number so that no C handle leaves the session.
public struct MongoCursorID: Hashable, Sendable {
    let value: Int
}

/// One MongoDB connection and its cursors, running on a thread of its own: every libmongoc call blocks, and Swift's
/// cooperative pool has only one thread per core. Only `Sendable` values (raw documents, decoded documents) leave it.
public actor MongoSession {
    public static let oplog = Namespace(database: "local", collection: "oplog.rs")

    private let executor: BlockingSerialExecutor
    private let client: MongoClient
    private var cursors: [Int: MongoCursor] = [:]
    private var nextCursorID = 0
    /// How many ids an `_id` lookup asks for, learnt from this server's answers.
    private var lookupSizer = LookupBatchSizer()

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Parses the URI and prepares the client; the first operation connects. A bad URI is a `.invalidURI` error.
    public init(uri: String, name: String = "mongo") throws(MongoError) {
        executor = BlockingSerialExecutor(label: "mongo.\(name)")
        client = try MongoClient(uri: uri, appName: "mongo-pg-sync")
    }

    /// The server's `hello` reply (falls back to `isMaster` for servers older than 4.4.2).
    public func hello() throws(MongoError) -> BSONDocument {
        do {
            return try client.command(["hello": .int32(1)], database: "admin", operation: "hello")
        } catch let error where error.kind == .server {
            return try client.command(["isMaster": .int32(1)], database: "admin", operation: "isMaster")
        }
    }

    /// Runs any command on `database`; the server's error answers become `MongoError`s.
    public func runCommand(_ command: BSONDocument, database: String) throws(MongoError) -> BSONDocument {
        let name = command.first?.key ?? "command"
        return try client.command(command, database: database, operation: name)
    }

    /// Opens a `find` cursor; read it with `nextBatch`, and `close` it when done early.
    public func find(_ namespace: Namespace, filter: BSONDocument = [:], options: FindOptions = FindOptions())
        throws(MongoError) -> MongoCursorID
    {
        try open(namespace, filter: filter, options: options.document, operation: "find")
    }

    /// Up to `maximum` documents from a cursor; an empty array once it is exhausted (the cursor is then closed).
    /// For a tailable cursor an empty array means "nothing new yet"; it is closed only when the server ends it.
    public func nextBatch(_ cursorID: MongoCursorID, maximum: Int = 1000) throws(MongoError) -> [RawDocument] {
        guard let cursor = cursors[cursorID.value] else { return [] }
        var batch: [RawDocument] = []
        batch.reserveCapacity(min(maximum, 1024))
        do {
            while batch.count < maximum, let document = try cursor.next() { batch.append(document) }
        } catch {
            cursors[cursorID.value] = nil
            throw error
        }
        if batch.count < maximum, !cursor.isAlive { cursors[cursorID.value] = nil }
        return batch
    }

    /// Reads a cursor to its end on this session's thread, `maximum` documents a batch, queueing each batch as it
    /// arrives; stops early (closing the cursor, answering false) when the queue's consumer ended it. The session is
    /// busy until then.
    func readAhead(_ cursorID: MongoCursorID, maximum: Int, into queue: ReadAheadQueue) throws(MongoError) -> Bool {
        while true {
            let batch = try nextBatch(cursorID, maximum: maximum)
            if batch.isEmpty { return true }
            guard queue.push(batch) else {
                close(cursorID)
                return false
            }
        }
    }

    /// Opens an aggregation cursor; read it with `nextBatch`.
    public func aggregate(_ namespace: Namespace, pipeline: [BSONDocument]) throws(MongoError) -> MongoCursorID {
        let collection = MongoCollection(client: client, namespace: namespace)
        return register(
            try MongoCursor(collection: collection, pipeline: pipeline.map { .document($0) }, operation: "aggregate"))
    }

    /// A cursor over `size` random documents (`$sample`), or over the whole collection when `size` is nil.
    public func sample(_ namespace: Namespace, size: Int?) throws(MongoError) -> MongoCursorID {
        guard let size else { return try find(namespace, options: FindOptions(batchSize: 1000)) }
        return try aggregate(namespace, pipeline: [["$sample": .document(["size": .int64(Int64(size))])]])
    }

    /// Every document of a cursor, decoded; for small results (split points, counts).
    public func drain(_ cursorID: MongoCursorID) throws -> [BSONDocument] {
        var documents: [BSONDocument] = []
        while true {
            let batch = try nextBatch(cursorID)
            if batch.isEmpty { return documents }
            for raw in batch { documents.append(try raw.decode()) }
        }
    }

    /// `_id` values that cut the collection into `parts` slices of about equal document count (`$bucketAuto`, which
    /// mongod and SecantusDB both answer), sorted; empty for one part or an empty collection.
    public func splitPoints(_ namespace: Namespace, parts: Int) throws -> [BSONValue] {
        guard parts > 1 else { return [] }
        let cursor = try aggregate(
            namespace,
            pipeline: [
                ["$bucketAuto": .document(["groupBy": .string("$_id"), "buckets": .int32(Int32(parts))])]
            ])
        let buckets = try drain(cursor)
        // Each bucket's `_id.min` starts a slice; the first slice starts at the bottom of the bracket.
        return buckets.dropFirst().compactMap { bucket in
            guard case .document(let bounds) = bucket["_id"] else { return nil }
            return bounds["min"]
        }
    }

    /// The number of documents in a collection (from metadata, so it is fast; an estimate under concurrent writes).
    public func estimatedCount(_ namespace: Namespace) throws(MongoError) -> Int {
        let reply = try runCommand(["count": .string(namespace.collection)], database: namespace.database)
        return Int(reply["n"]?.integerValue ?? 0)
    }

    /// Whether a cursor can still produce documents.
    public func isOpen(_ cursorID: MongoCursorID) -> Bool { cursors[cursorID.value] != nil }

    public func close(_ cursorID: MongoCursorID) { cursors[cursorID.value] = nil }

    /// Every document a query matches, decoded. For tests and small reads; stream big ones with `find`.
    public func findAll(_ namespace: Namespace, filter: BSONDocument = [:], options: FindOptions = FindOptions()) throws
        -> [BSONDocument]
    {
        try drain(try find(namespace, filter: filter, options: options))
    }

    /// The documents whose `_id` is in `ids`, raw, in the server's order (missing ones are simply absent). Asked
    /// `perQuery` ids a query, or, when nil, as many as this server answers fastest per id (`LookupBatchSizer`,
    /// measured on this session's own queries); a command stays far below MongoDB's 16 MB whatever the ids' size.
    public func documents(_ namespace: Namespace, ids: [BSONValue], perQuery: Int? = nil) throws(MongoError)
        -> [RawDocument]
    {
        var documents: [RawDocument] = []
        var start = 0
        while start < ids.count {
            let size = max(1, perQuery ?? lookupSizer.nextSize())
            let chunk = Array(ids[start..<min(start + size, ids.count)])
            start += chunk.count
            let asked = ContinuousClock.now
            let cursor = try find(namespace, filter: ["_id": .document(["$in": .array(chunk)])])
            while true {
                let batch = try nextBatch(cursor)
                if batch.isEmpty { break }
                documents.append(contentsOf: batch)
            }
            if perQuery == nil, chunk.count == size {
                lookupSizer.record(size: size, seconds: (ContinuousClock.now - asked).seconds)
            }
        }
        return documents
    }

    /// Inserts documents (ordered) and returns how many the server inserted.
    @discardableResult
    public func insert(_ documents: [BSONDocument], into namespace: Namespace) throws(MongoError) -> Int {
        let reply = try client.command(
            [
                "insert": .string(namespace.collection), "documents": .array(documents.map { .document($0) }),
                "ordered": .bool(true),
            ],
            database: namespace.database, operation: "insert")
        try Self.checkWriteErrors(reply, operation: "insert", namespace: namespace)
        return Int(reply["n"].flatMap(\.integerValue) ?? 0)
    }

    static func checkWriteErrors(_ reply: BSONDocument, operation: String, namespace: Namespace) throws(MongoError) {
        guard case .array(let errors) = reply["writeErrors"], case .document(let first) = errors.first else { return }
        let code = first["code"].flatMap(\.integerValue).map { UInt32(truncatingIfNeeded: $0) }
        let message: String = if case .string(let text) = first["errmsg"] { text } else { "write error" }
        throw MongoError(
            kind: .server, operation: operation, namespace: namespace.description, code: code, message: message)
    }

    private func open(_ namespace: Namespace, filter: BSONDocument, options: BSONDocument, operation: String)
        throws(MongoError) -> MongoCursorID
    {
        let collection = MongoCollection(client: client, namespace: namespace)
        return register(try MongoCursor(collection: collection, filter: filter, options: options, operation: operation))
    }

    private func register(_ cursor: MongoCursor) -> MongoCursorID {
        nextCursorID += 1
        cursors[nextCursorID] = cursor
        return MongoCursorID(value: nextCursorID)
    }
}

extension BSONValue {
    /// The value as an integer when it is one of BSON's integer types, or a double holding a whole number.
    public var integerValue: Int64? {
        switch self {
        case .int32(let value): Int64(value)
        case .int64(let value): value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: Int64(value)
        default: nil
        }
    }
}
