import CMongoC

/// What a change stream watches: every database of the deployment (`watch` on the client, which needs `find` and
/// `changeStream` on every database), or one database (`watch` on it, which needs them on that database only).
public enum ChangeStreamScope: Sendable, Hashable, CustomStringConvertible {
    case cluster
    case database(String)

    public var description: String {
        switch self {
        case .cluster: "cluster"
        case .database(let name): "database \(name)"
        }
    }
}

/// Where a change stream starts and how it reads; mapped onto libmongoc's `watch` options.
public struct ChangeStreamOptions: Sendable {
    /// `resumeAfter`: a token stored from an earlier run (an event's `_id` or a post-batch resume token).
    public var resumeAfter: BSONDocument?
    /// `startAtOperationTime`, used when there is no token: events at or after this cluster time.
    public var startAtOperationTime: BSONTimestamp?
    /// `fullDocument: "updateLookup"`: update events carry the document as it is when the event is read.
    public var updateLookup: Bool
    public var batchSize: Int32
    /// How long one `getMore` waits on the server for a new event before it answers with none.
    public var maxAwaitMilliseconds: Int64

    public init(
        resumeAfter: BSONDocument? = nil, startAtOperationTime: BSONTimestamp? = nil, updateLookup: Bool = false,
        batchSize: Int32 = 1000, maxAwaitMilliseconds: Int64 = 1000
    ) {
        self.resumeAfter = resumeAfter
        self.startAtOperationTime = startAtOperationTime
        self.updateLookup = updateLookup
        self.batchSize = batchSize
        self.maxAwaitMilliseconds = maxAwaitMilliseconds
    }

    var document: BSONDocument {
        var document: BSONDocument = [
            "batchSize": .int32(batchSize), "maxAwaitTimeMS": .int64(maxAwaitMilliseconds),
        ]
        if let resumeAfter {
            document["resumeAfter"] = .document(resumeAfter)
        } else if let startAtOperationTime {
            document["startAtOperationTime"] = .timestamp(startAtOperationTime)
        }
        if updateLookup { document["fullDocument"] = .string("updateLookup") }
        return document
    }
}

/// One change stream and the connection it reads on, on a thread of its own (libmongoc blocks, as `MongoSession`
/// explains). libmongoc keeps the stream's position: the `_id` of the last event handed out, or the server's
/// post-batch resume token once a batch is used up, and resumes once by itself after a transient error.
public actor MongoChangeStream {
    private let executor: BlockingSerialExecutor
    private let client: MongoClient
    private var stream: ChangeStreamHandle?
    private let scope: ChangeStreamScope

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens the stream: libmongoc runs the `aggregate` at once, so a refused start (privileges, a resume token whose
    /// history is gone: code 286) throws here. `pipeline` is appended after `$changeStream`.
    public init(
        uri: String, name: String, scope: ChangeStreamScope, pipeline: [BSONDocument], options: ChangeStreamOptions
    )
        async throws
    {
        executor = BlockingSerialExecutor(label: "mongo.changestream.\(name)")
        client = try MongoClient(uri: uri, appName: "mongo-pg-sync")
        self.scope = scope
        // Every stored property is set: an async actor initialiser runs on the actor's executor from here on, so the
        // blocking aggregate below stays off the cooperative pool.
        try open(pipeline: pipeline, options: options)
    }

    private func open(pipeline: [BSONDocument], options: ChangeStreamOptions) throws(MongoError) {
        stream = try ChangeStreamHandle(client: client, scope: scope, pipeline: pipeline, options: options.document)
    }

    /// Up to `maximum` events, in stream order. `caughtUp` is true when the server answered a `getMore` with no event
    /// (on mongod after waiting `maxAwaitMilliseconds` at the end of its oplog; SecantusDB also answers so after
    /// scanning a slice of it): `ChangeStreamPosition.caughtUp` tells whether the stream reached a position.
    public func next(maximum: Int) throws(MongoError) -> (events: [RawDocument], caughtUp: Bool) {
        guard let stream else { return ([], true) }
        var events: [RawDocument] = []
        while events.count < maximum {
            guard let event = try stream.next() else { return (events, true) }
            events.append(event)
        }
        return (events, false)
    }

    /// The stream's position: the `_id` of the last event handed out, or the post-batch resume token when the
    /// server's last batch was used up (it moves past events the pipeline filtered out). Nil before the first batch
    /// on a server that sends no post-batch token.
    public func resumeToken() -> BSONDocument? { stream?.resumeToken }

    /// Closes the stream (its server cursor is killed).
    public func close() { stream = nil }
}

/// One `mongoc_change_stream_t`; it keeps its client alive.
final class ChangeStreamHandle {
    private let raw: OpaquePointer
    private let client: MongoClient
    private let place: String

    init(client: MongoClient, scope: ChangeStreamScope, pipeline: [BSONDocument], options: BSONDocument)
        throws(MongoError)
    {
        let place: String
        switch scope {
        case .cluster: place = "the cluster"
        case .database(let name): place = name
        }
        let operation = "open a change stream"
        let made: OpaquePointer?
        do {
            let pipelineDocument = try LibBSONDocument(copying: ["pipeline": .array(pipeline.map { .document($0) })])
            let optionsDocument = try LibBSONDocument(copying: options)
            switch scope {
            case .cluster:
                made = mongoc_client_watch(client.raw, pipelineDocument.raw, optionsDocument.raw)
            case .database(let name):
                // The stream copies the database's name and settings; the handle is not needed after.
                let database = mongoc_client_get_database(client.raw, name)
                defer { mongoc_database_destroy(database) }
                made = mongoc_database_watch(database, pipelineDocument.raw, optionsDocument.raw)
            }
        } catch {
            throw MongoError(kind: .protocolError, operation: operation, namespace: place, message: error.description)
        }
        guard let made else { fatalError("libmongoc returned no change stream (out of memory)") }
        raw = made
        self.client = client
        self.place = place
        // libmongoc sends the aggregate when the stream is created and keeps its error for the caller. Every property
        // is set, so throwing now runs `deinit`, which destroys the stream.
        if let error = error(operation: operation) { throw error }
    }

    deinit { mongoc_change_stream_destroy(raw) }

    /// The next event, or nil when a `getMore` brought none within the await time.
    func next() throws(MongoError) -> RawDocument? {
        var document: OpaquePointer? = nil
        if mongoc_change_stream_next(raw, &document), let document {
            return RawDocument(bytes: LibBSONDocument.bytes(of: document))
        }
        if let error = error(operation: "read a change stream") { throw error }
        return nil
    }

    var resumeToken: BSONDocument? {
        guard let token = mongoc_change_stream_get_resume_token(raw) else { return nil }
        return try? BSONDecoder.decode(LibBSONDocument.bytes(of: token))
    }

    /// The stream's error, when it has one: the server's code when the server answered.
    private func error(operation: String) -> MongoError? {
        var error = bson_error_t()
        var reply: OpaquePointer? = nil
        guard mongoc_change_stream_error_document(raw, &error, &reply) else { return nil }
        return MongoError(&error, operation: operation, namespace: place)
    }
}
