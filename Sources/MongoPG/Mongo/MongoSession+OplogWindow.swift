/// The reads `etlstatus lag`, `check`, `init-load-status` and oplog-sync make on an oplog: its two ends and how many
/// entries lie past a position. The newest end is one command; on SecantusDB the oldest entry and the counts scan.
extension MongoSession {
    /// The newest position of the oplog that replay may read up to: the majority commit point
    /// (`safeOplogPosition`), which costs one command whatever the oplog's size.
    public func newestOplogPosition() throws -> BSONTimestamp? { try safeOplogPosition() }

    /// The oldest entry's `ts`: the oplog reaches back to a position exactly when this is not later than it. Nil for
    /// an empty oplog.
    public func oldestOplogTimestamp() throws -> BSONTimestamp? {
        let oldest = try findAll(
            Self.oplog, options: FindOptions(projection: ["ts": .int32(1)], sort: ["$natural": .int32(1)], limit: 1))
        guard case .timestamp(let ts) = oldest.first?["ts"] else { return nil }
        return ts
    }

    /// How many entries the oplog holds after `position` (its `ts` strictly later), or in all when `position` is nil.
    public func oplogEntryCount(after position: BSONTimestamp? = nil) throws(MongoError) -> Int {
        var command: BSONDocument = ["count": .string(Self.oplog.collection)]
        if let position { command["query"] = .document(["ts": .document(["$gt": .timestamp(position)])]) }
        let reply = try runCommand(command, database: Self.oplog.database)
        guard let count = reply["n"]?.integerValue else {
            throw MongoError(
                kind: .protocolError, operation: "count", namespace: Self.oplog.description,
                message: "the reply holds no count n")
        }
        return Int(count)
    }
}
