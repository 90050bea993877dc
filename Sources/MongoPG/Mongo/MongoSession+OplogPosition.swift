extension MongoSession {
    /// The oplog position to replay from for changes made after this call: the replica set's majority commit point,
    /// `hello`'s `lastWrite.majorityOpTime.ts`, or `replSetGetStatus`'s `optimes.lastCommittedOpTime.ts` on servers
    /// whose `hello` has no `lastWrite`. One small command, whatever the oplog's size.
    ///
    /// Safe: writes commit out of `ts` order, so an entry below the newest one may still be committing (an oplog
    /// hole) and a position past it would lose that write. Secondaries read the oplog only up to its first hole
    /// and the commit point is what a majority has replicated, so every write at or below it is committed and
    /// visible; a later position could skip one, an earlier one is harmless (replay is idempotent). The position
    /// need not be an oplog entry: SecantusDB's clock moves without writing one.
    ///
    /// Throws `.notReplicaSet` (exit 78) for a standalone server or a mongos, which have no oplog to replay, and
    /// `.protocolError` when a replica set member reports no commit point.
    /// `source` names the oplog source in errors.
    public func safeOplogPosition(source: String? = nil) throws(MongoError) -> BSONTimestamp {
        let operation = "find the oplog position" + (source.map { " of oplog source \($0)" } ?? "")
        let hello = try hello()
        guard case .string = hello["setName"] else {
            let what = hello["msg"] == .string("isdbgrid") ? "a mongos" : "not a replica set member"
            throw MongoError(
                kind: .notReplicaSet, operation: operation, namespace: Self.oplog.description,
                message: "the server is \(what), so it has no oplog to replay: name a replica set member "
                    + "(each shard's, for a sharded cluster)")
        }
        if case .document(let lastWrite) = hello["lastWrite"],
            let ts = Self.timestamp(inOpTime: lastWrite["majorityOpTime"])
        {
            return ts
        }
        let status = try runCommand(["replSetGetStatus": .int32(1)], database: "admin")
        if case .document(let optimes) = status["optimes"],
            let ts = Self.timestamp(inOpTime: optimes["lastCommittedOpTime"])
        {
            return ts
        }
        throw MongoError(
            kind: .protocolError, operation: operation, namespace: Self.oplog.description,
            message: "the replica set member reports no majority commit point (hello.lastWrite.majorityOpTime, "
                + "replSetGetStatus.optimes.lastCommittedOpTime)")
    }

    /// The position to record as a replay's start (an init load's, a resync's): `safeOplogPosition`, held back to
    /// the first entry of the oldest transaction still open at it. A prepared transaction (or one in progress) has
    /// written entries below the commit point whose commit comes later: a replay from the commit point would meet the
    /// commit without them. The server keeps each session's transaction state, with the optime of its first oplog
    /// entry, in `config.transactions` (`state`, `startOpTime`; session_txn_record.idl). SecantusDB writes a
    /// transaction's entries at commit, all at one ts, so it has none open. A server that refuses the read (a user
    /// without access to `config`) keeps the commit point: replay then reads such a transaction back from the oplog
    /// when it meets its commit (`OplogEntrySource.transactionParts`).
    public func safeStartPosition(source: String? = nil) throws(MongoError) -> BSONTimestamp {
        let safe = try safeOplogPosition(source: source)
        let open = try? findAll(
            Self.transactions,
            filter: [
                "state": .document(["$in": .array([.string("prepared"), .string("inProgress")])]),
                "startOpTime.ts": .document(["$lte": .timestamp(safe)]),
            ])
        let starts = (open ?? []).compactMap { Self.timestamp(inOpTime: $0["startOpTime"]) }
        return ([safe] + starts).min() ?? safe
    }

    /// Each session's transaction state on a replica set member.
    static let transactions = Namespace(database: "config", collection: "transactions")

    /// The `ts` of an optime, `{ts: Timestamp, t: term}`; protocol version 0 optimes are a bare Timestamp.
    private static func timestamp(inOpTime opTime: BSONValue?) -> BSONTimestamp? {
        switch opTime {
        case .document(let document): if case .timestamp(let ts) = document["ts"] { ts } else { nil }
        case .timestamp(let ts): ts
        default: nil
        }
    }
}
