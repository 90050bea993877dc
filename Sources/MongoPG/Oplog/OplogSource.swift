/// Where replay reads entries from, in oplog order: a replica set's `local.oplog.rs`, or a file of the format
/// `mongodump --oplog` writes.
protocol OplogSource {
    /// A name for messages and the ledger: the `[oplog:<name>]` source, or the file.
    var name: String { get }
    /// The next entries (at most `maximum`); empty when the source has no more to give in this run.
    mutating func next(maximum: Int) async throws -> [BSONDocument]
}

/// The entries of an oplog file (`oplog.bson` from `mongodump --oplog`: BSON documents one after another), in order.
struct FileOplogSource: OplogSource {
    let name: String
    private let reader: DocumentFileReader

    init(path: String) throws {
        name = path
        reader = try DocumentFileReader(path: path, format: .bson)
    }

    mutating func next(maximum: Int) async throws -> [BSONDocument] {
        var documents: [BSONDocument] = []
        while documents.count < maximum, let bytes = try reader.next() { documents.append(try BSONDecoder.decode(bytes)) }
        return documents
    }
}

/// The entries of a replica set's oplog from a position (inclusive: the entry at a sync point is read again and
/// applies harmlessly) up to the position that was newest when the run started: a run from crontab catches up and
/// ends, it does not chase writes that keep coming. One tailing cursor for the whole run (the `ts` query may scan).
struct ServerOplogSource: OplogSource {
    let name: String
    private let session: MongoSession
    private let cursor: MongoCursorID
    /// The newest position when the run started; entries after it are left to the next run.
    let end: BSONTimestamp
    private var finished = false

    init(name: String, uri: String, from start: BSONTimestamp, batchSize: Int) async throws {
        self.name = name
        session = try MongoSession(uri: uri, name: "oplog-\(name)")
        guard let newest = try await session.newestOplogTimestamp() else {
            throw GeneralError(
                .configError,
                "oplog source \(name) has no oplog entries: oplog-sync needs a replica set member with local.oplog.rs")
        }
        end = newest
        cursor = try await session.tailOplog(from: start, batchSize: Int32(clamping: batchSize))
    }

    mutating func next(maximum: Int) async throws -> [BSONDocument] {
        guard !finished else { return [] }
        let batch = try await session.nextBatch(cursor, maximum: maximum)
        var documents: [BSONDocument] = []
        documents.reserveCapacity(batch.count)
        for raw in batch {
            let document = try raw.decode()
            if case .timestamp(let ts)? = document["ts"], ts > end {
                finished = true
                break
            }
            documents.append(document)
        }
        if batch.isEmpty || finished {
            finished = true
            await session.close(cursor)
        }
        return documents
    }
}
