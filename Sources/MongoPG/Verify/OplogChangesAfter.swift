extension MongoSession {
    /// Which of the documents `ids` names MongoDB changed after `ts`: their oplog entries (or the operations inside
    /// an `applyOps`) come later, so a later batch brings them and a difference found now is no divergence; and the
    /// collections dropped or renamed away since (see `ChangedAfter`). One query on this server's oplog per
    /// `perQuery` ids.
    public func documentsChanged(after ts: BSONTimestamp, ids: [BSONValue], perQuery: Int = 10_000) throws
        -> ChangedAfter
    {
        var changed = ChangedAfter()
        let step = max(1, perQuery)
        for start in stride(from: 0, to: ids.count, by: step) {
            changed.formUnion(try documentsChanged(after: ts, chunk: Array(ids[start..<min(start + step, ids.count)])))
        }
        return changed
    }

    private func documentsChanged(after ts: BSONTimestamp, chunk: [BSONValue]) throws -> ChangedAfter {
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
