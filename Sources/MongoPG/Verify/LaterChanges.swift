/// Where verification learns which documents MongoDB changed after a position: one that differs and was changed
/// since is pending (a later batch brings its change), not divergent. The oplog (`OplogLaterChanges`) or, for
/// sources read through change streams whose user may not read the oplog, change streams
/// (`ChangeStreamLaterChanges`).
public protocol LaterChanges: Sendable {
    /// The documents among `ids` (at most `idsPerQuery` of them), and the collections emptied wholesale, that MongoDB
    /// changed after `ts`.
    func changed(after ts: BSONTimestamp, among ids: [BSONValue]) async throws -> ChangedAfter
}

extension LaterChanges {
    /// The ids one question carries at most: an oplog query's `$in`, a change stream's `$match`, as the lookups.
    public static var idsPerQuery: Int { 10_000 }

    /// The documents among `ids` that MongoDB changed after `ts` (see `ChangedAfter`), asked `idsPerQuery` at a time.
    public func documentsChanged(after ts: BSONTimestamp, ids: [BSONValue]) async throws -> ChangedAfter {
        var changed = ChangedAfter()
        for start in stride(from: 0, to: ids.count, by: Self.idsPerQuery) {
            let chunk = Array(ids[start..<min(start + Self.idsPerQuery, ids.count)])
            changed.formUnion(try await self.changed(after: ts, among: chunk))
        }
        return changed
    }
}

/// The later changes of one position's documents: `etlstatus verify` asks each source about the documents that
/// differ since that source's sync point (a sharded cluster's documents live on one shard each).
public struct LaterChangesSource: Sendable {
    /// The sync points this source's answers start from, the first recorded one taken (a change stream's own
    /// position name, then its source's).
    public var positionNames: [String]
    public var changes: any LaterChanges

    public init(positionNames: [String], changes: any LaterChanges) {
        self.positionNames = positionNames
        self.changes = changes
    }
}
