/// Later changes read from change streams, for sources whose user may not read the oplog: each scope's stream from
/// just after a position to where it has nothing more.
public struct ChangeStreamLaterChanges: LaterChanges {
    public var uri: String
    /// One stream per scope.
    public var scopes: [ChangeStreamScope]
    /// The synced collections: a stream's events are kept only for them.
    public var collections: [Namespace]

    public init(uri: String, scopes: [ChangeStreamScope], collections: [Namespace]) {
        self.uri = uri
        self.scopes = scopes
        self.collections = collections
    }

    public func changed(after ts: BSONTimestamp, among ids: [BSONValue]) async throws -> ChangedAfter {
        var changed = ChangedAfter()
        for scope in scopes {
            changed.formUnion(
                try await Self.documentsChanged(uri: uri, scope: scope, collections: collections, after: ts, ids: ids))
        }
        return changed
    }

    /// Reads a change stream from just after `ts` to where it has nothing more, keeping the events of `ids` and
    /// those that empty a collection (filtered in the server).
    private static func documentsChanged(
        uri: String, scope: ChangeStreamScope, collections: [Namespace], after ts: BSONTimestamp, ids: [BSONValue]
    ) async throws -> ChangedAfter {
        let synced = collections.filter { namespace in
            if case .database(let database) = scope { namespace.database == database } else { true }
        }
        guard !synced.isEmpty else { return ChangedAfter() }
        let next =
            ts.increment == .max
            ? BSONTimestamp(seconds: ts.seconds + 1, increment: 0)
            : BSONTimestamp(seconds: ts.seconds, increment: ts.increment + 1)
        let stream = try await MongoChangeStream(
            uri: uri, name: "verify", scope: scope,
            pipeline: [
                ChangeEventConverter.matchStage(for: synced),
                [
                    "$match": .document([
                        "$or": .array([
                            .document(["documentKey._id": .document(["$in": .array(ids)])]),
                            .document([
                                "operationType": .document([
                                    "$in": .array(["drop", "dropDatabase", "rename", "invalidate"].map { .string($0) })
                                ])
                            ]),
                        ])
                    ])
                ],
            ],
            options: ChangeStreamOptions(startAtOperationTime: next, maxAwaitMilliseconds: 200))
        // Up to the newest safe position now: everything MongoDB changed since `ts` that verification could meet.
        let end = try await MongoSession(uri: uri, name: "verify-end").safeOplogPosition()
        var changed = ChangedAfter()
        var previousEmpty: BSONDocument?
        reading: while true {
            let read = try await stream.next(maximum: 1000)
            for raw in read.events {
                let event = try ChangeEvent(BSONDecoder.decode(raw.bytes, wrapperLevels: OplogEntry.wrapperLevels))
                switch (event.operationType, event.database, event.collection) {
                case ("invalidate", _, _):
                    // The stream's collections are gone or renamed (the events before it said how): nothing follows.
                    changed.collections.formUnion(synced)
                    break reading
                case ("dropDatabase", let database?, _):
                    changed.databases.insert(database)
                case ("drop", let database?, let collection?):
                    changed.collections.insert(Namespace(database: database, collection: collection))
                case ("rename", let database?, let collection?):
                    // Both sides: the source loses its documents, the target (dropTarget) gets another collection's.
                    changed.collections.insert(Namespace(database: database, collection: collection))
                    if let target = event.renamedTo { changed.collections.insert(target) }
                case (_, let database?, let collection?):
                    if let id = event.documentKey?["_id"] {
                        changed.documents.insert(
                            try DocumentKey(Namespace(database: database, collection: collection), id))
                    }
                default:
                    continue
                }
            }
            if read.caughtUp {
                let token = await stream.resumeToken()
                if ChangeStreamPosition.caughtUp(token: token, previousEmpty: previousEmpty, end: end) { break }
                previousEmpty = token
            }
        }
        await stream.close()
        return changed
    }
}
