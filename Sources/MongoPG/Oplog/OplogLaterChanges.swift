/// Later changes read from a server's oplog: the entries after a position naming the documents (also inside an
/// `applyOps`), and the commands that change collections wholesale since (see `ChangedAfter`).
public struct OplogLaterChanges: LaterChanges {
    /// A session on the server whose oplog is read (a shard's, or `[mongo] uri`'s).
    public let oplog: MongoSession

    public init(oplog: MongoSession) { self.oplog = oplog }

    public func changed(after ts: BSONTimestamp, among ids: [BSONValue]) async throws -> ChangedAfter {
        try await oplog.documentsChanged(after: ts, chunk: ids)
    }
}

extension MongoSession {
    /// One query on this server's oplog for the documents of `chunk` (see `OplogLaterChanges`).
    fileprivate func documentsChanged(after ts: BSONTimestamp, chunk: [BSONValue]) throws -> ChangedAfter {
        let ids = BSONValue.array(chunk)
        let exists: BSONValue = .document(["$exists": .bool(true)])
        let filter: BSONDocument = [
            "ts": .document(["$gt": .timestamp(ts)]),
            "$or": .array([
                .document(["o._id": .document(["$in": ids])]), .document(["o2._id": .document(["$in": ids])]),
                .document(["o.applyOps.o._id": .document(["$in": ids])]),
                .document(["o.applyOps.o2._id": .document(["$in": ids])]),
                .document(["op": .string("c"), "o.drop": exists]),
                .document(["op": .string("c"), "o.dropDatabase": exists]),
                .document(["op": .string("c"), "o.renameCollection": exists]),
            ]),
        ]
        var changed = ChangedAfter()
        for entry in try findAll(Self.oplog, filter: filter) {
            if case .string("c")? = entry["op"], case .string(let ns)? = entry["ns"], ns.hasSuffix(".$cmd"),
                case .document(let command)? = entry["o"], command["applyOps"] == nil
            {
                changed.addCommand(database: String(ns.dropLast(5)), command)
                continue
            }
            var operations = [entry]
            if case .document(let object)? = entry["o"], case .array(let inner)? = object["applyOps"] {
                operations = inner.compactMap { if case .document(let operation) = $0 { operation } else { nil } }
            }
            for operation in operations {
                guard case .string(let ns)? = operation["ns"], let namespace = Namespace(ns) else { continue }
                for key in ["o", "o2"] {
                    if case .document(let object)? = operation[key], let id = object["_id"] {
                        changed.documents.insert(try DocumentKey(namespace, id))
                    }
                }
            }
        }
        return changed
    }
}
