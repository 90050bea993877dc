/// One change stream event (MongoDB's change events: `_id`, `operationType`, `clusterTime`, `ns`, `documentKey`,
/// `fullDocument`, `updateDescription`, `to`, `lsid`, `txnNumber`), as far as replay needs it. Pure: read from the
/// event's document, turned into the oplog entry form the replayer reads (`oplogEntry`), so both modes share one
/// replay engine, one set of update rules and one set of refusals.
public struct ChangeEvent: Sendable, Equatable {
    /// `_id`: the event's resume token.
    public var token: BSONDocument
    public var operationType: String
    public var clusterTime: BSONTimestamp
    /// `ns.db`, and `ns.coll` (absent for `dropDatabase` and `invalidate`).
    public var database: String?
    public var collection: String?
    /// `to` of a `rename`.
    public var renamedTo: Namespace?
    public var documentKey: BSONDocument?
    /// Nil when absent or null (an update whose document was deleted before the lookup).
    public var fullDocument: BSONDocument?
    public var updateDescription: BSONDocument?
    public var sessionID: BSONValue?
    public var transactionNumber: Int64?

    /// The field of a converted entry that carries the event's resume token to the replayer, which stores it with the
    /// source's sync point; no oplog entry has it.
    public static let resumeTokenKey = "resumeToken"

    public init(_ document: BSONDocument) throws(OplogError) {
        guard case .document(let token)? = document["_id"] else {
            throw OplogError(.malformed, "a change event without its _id (resume token)")
        }
        guard case .string(let type)? = document["operationType"] else {
            throw OplogError(.malformed, "a change event without an operationType")
        }
        guard case .timestamp(let clusterTime)? = document["clusterTime"] else {
            throw OplogError(.malformed, "a change event without a clusterTime", op: type)
        }
        self.token = token
        operationType = type
        self.clusterTime = clusterTime
        if case .document(let ns)? = document["ns"] {
            if case .string(let name)? = ns["db"] { database = name }
            if case .string(let name)? = ns["coll"] { collection = name }
        }
        if case .document(let to)? = document["to"], case .string(let db)? = to["db"],
            case .string(let coll)? = to["coll"]
        {
            renamedTo = Namespace(database: db, collection: coll)
        }
        if case .document(let key)? = document["documentKey"] { documentKey = key }
        if case .document(let full)? = document["fullDocument"] { fullDocument = full }
        if case .document(let description)? = document["updateDescription"] { updateDescription = description }
        sessionID = document["lsid"]
        transactionNumber = document["txnNumber"]?.integerValue
    }

    /// `db.coll`, or `db` alone for events on a database.
    public var namespaceText: String {
        [database, collection].compactMap { $0 }.joined(separator: ".")
    }

    /// Events that change no document: index builds, collection creation and options (`showExpandedEvents`), mapped
    /// onto the oplog command the replayer skips and counts, so a server that sends them stops nothing.
    static let documentNeutralEvents: [String: String] = [
        "create": "create", "createIndexes": "createIndexes", "dropIndexes": "dropIndexes", "modify": "collMod",
        "shardCollection": "collMod", "refineCollectionShardKey": "collMod", "reshardCollection": "collMod",
    ]

    /// The oplog entry that makes the same change (reference: mongodb-oplog.md §1-§3), at `ts` (the event's cluster
    /// time, or its transaction's: see `ChangeEventConverter`), carrying the resume token. An `update` with a full
    /// document (`fullDocument: updateLookup`) becomes a replacement by it; without one, SecantusDB's update form,
    /// which holds the update description as it is (`disambiguatedPaths` included). Unknown event types become a
    /// command of their name, which the replayer refuses (65) before it, as it refuses unknown oplog commands.
    /// `invalidate` has no entry: the caller ends the stream there.
    public func oplogEntry(at ts: BSONTimestamp) throws(OplogError) -> BSONDocument {
        var entry: BSONDocument = ["ts": .timestamp(ts)]
        let commandNamespace = "\(database ?? "").$cmd"
        switch operationType {
        case "insert":
            let document = try required(fullDocument, "fullDocument")
            entry["op"] = .string("i")
            entry["ns"] = .string(namespaceText)
            entry["o"] = .document(document)
            entry["o2"] = .document(try required(documentKey, "documentKey"))
        case "update", "replace":
            let key = try required(documentKey, "documentKey")
            entry["op"] = .string("u")
            entry["ns"] = .string(namespaceText)
            if var document = fullDocument {
                // A replacement is told by its _id; the key's _id is the document's.
                if document["_id"] == nil, let id = key["_id"] {
                    document = BSONDocument([("_id", id)] + document.elements.map { ($0.key, $0.value) })
                }
                entry["o"] = .document(document)
            } else if operationType == "update" {
                let description = try required(updateDescription, "updateDescription")
                entry["o"] = .document(["$v": .int32(2), "diff": .document(Self.diff(description))])
            } else {
                throw malformed("a replace event without its fullDocument")
            }
            entry["o2"] = .document(key)
        case "delete":
            entry["op"] = .string("d")
            entry["ns"] = .string(namespaceText)
            entry["o"] = .document(try required(documentKey, "documentKey"))
        case "drop":
            entry["op"] = .string("c")
            entry["ns"] = .string(commandNamespace)
            entry["o"] = .document(["drop": .string(try required(collection, "ns.coll"))])
        case "dropDatabase":
            entry["op"] = .string("c")
            entry["ns"] = .string(commandNamespace)
            entry["o"] = .document(["dropDatabase": .int32(1)])
        case "rename":
            let to = try required(renamedTo, "to")
            entry["op"] = .string("c")
            entry["ns"] = .string(commandNamespace)
            entry["o"] = .document([
                "renameCollection": .string(namespaceText), "to": .string(to.description),
            ])
        default:
            entry["op"] = .string("c")
            entry["ns"] = .string(commandNamespace)
            let command = Self.documentNeutralEvents[operationType] ?? operationType
            entry["o"] = .document([command: .string(collection ?? "")])
        }
        if let sessionID { entry["lsid"] = sessionID }
        if let transactionNumber { entry["txnNumber"] = .int64(transactionNumber) }
        entry[Self.resumeTokenKey] = .document(token)
        return entry
    }

    /// The update description in the `diff` shape `DocumentUpdate` reads; empty sections are left out.
    private static func diff(_ description: BSONDocument) -> BSONDocument {
        var diff = BSONDocument()
        for key in ["updatedFields", "removedFields", "truncatedArrays", "disambiguatedPaths"] {
            guard let value = description[key] else { continue }
            switch value {
            case .document(let fields) where fields.elements.isEmpty && key == "disambiguatedPaths": continue
            default: diff[key] = value
            }
        }
        if diff.elements.isEmpty { diff["updatedFields"] = .document([:]) }
        return diff
    }

    private func required<Value>(_ value: Value?, _ field: String) throws(OplogError) -> Value {
        guard let value else { throw malformed("a change event \(operationType) without its \(field)") }
        return value
    }

    private func malformed(_ message: String) -> OplogError {
        OplogError(.malformed, message, ts: clusterTime, namespace: namespaceText, op: operationType)
    }
}

/// Turns a change stream's events, in order, into oplog entries, keeping each transaction whole: consecutive events
/// of one transaction (the same `lsid` and `txnNumber`) get the cluster time of its first event, so the replayer,
/// which never ends a batch between entries sharing a ts, commits the transaction in one PostgreSQL transaction, and
/// the resume token stored after it is its last event's. (mongod and SecantusDB give a transaction's events one
/// cluster time already; this keeps it so on any server.) Pure.
public struct ChangeEventConverter: Sendable {
    private var transaction: (key: [UInt8], ts: BSONTimestamp)?

    public init() {}

    /// The entry for `event` and the ts it was given.
    public mutating func entry(for event: ChangeEvent) throws(OplogError) -> (ts: BSONTimestamp, entry: BSONDocument) {
        var ts = event.clusterTime
        if let session = event.sessionID, let number = event.transactionNumber,
            let key = try? BSONEncoder.encode(["lsid": session, "txnNumber": .int64(number)])
        {
            if let open = transaction, open.key == key {
                ts = open.ts
            } else {
                transaction = (key, ts)
            }
        } else {
            transaction = nil
        }
        return (ts, try event.oplogEntry(at: ts))
    }

    /// The entry that only moves a source's position: an `op: "n"` no-op at `ts` carrying `token` (the post-batch
    /// resume token of a stream that caught up), so a source whose collections are idle still moves its sync point.
    public static func positionEntry(at ts: BSONTimestamp, token: BSONDocument) -> BSONDocument {
        [
            "ts": .timestamp(ts), "op": .string("n"), "ns": .string(""),
            "o": .document(["msg": .string("change stream position")]), ChangeEvent.resumeTokenKey: .document(token),
        ]
    }

    /// The `$match` stage that keeps the events of the synced collections (and what may concern them: their
    /// databases' `dropDatabase`, renames into them, `invalidate`), so the server filters, not the client.
    public static func matchStage(for collections: [Namespace]) -> BSONDocument {
        var byDatabase: [String: [String]] = [:]
        for namespace in collections { byDatabase[namespace.database, default: []].append(namespace.collection) }
        var clauses: [BSONValue] = []
        let databases = byDatabase.keys.sorted()
        for database in databases {
            let names = BSONValue.array(byDatabase[database]!.sorted().map { .string($0) })
            clauses.append(.document(["ns.db": .string(database), "ns.coll": .document(["$in": names])]))
            clauses.append(.document(["to.db": .string(database), "to.coll": .document(["$in": names])]))
        }
        clauses.append(
            .document([
                "operationType": .string("dropDatabase"),
                "ns.db": .document(["$in": .array(databases.map { .string($0) })]),
            ]))
        clauses.append(.document(["operationType": .string("invalidate")]))
        return ["$match": .document(["$or": .array(clauses)])]
    }
}

/// Where a change stream stands, from its resume token, and whether it has handed out everything up to a position.
/// Pure.
public enum ChangeStreamPosition {
    /// The cluster time a resume token stands at, when its format is known: mongod's (`_data` is a KeyString in hex
    /// whose first value is the Timestamp: type byte 130, then 8 bytes big-endian) or SecantusDB's (`_data` is a BSON
    /// document in hex holding the Timestamp as `t`). Nil for any other.
    public static func clusterTime(of token: BSONDocument) -> BSONTimestamp? {
        guard case .string(let hex)? = token["_data"], let bytes = Hex.decode(hex), !bytes.isEmpty else {
            return nil
        }
        if bytes.count >= 5,
            Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24 == bytes.count,
            let document = try? BSONDecoder.decode(bytes), case .timestamp(let ts)? = document["t"]
        {
            return ts
        }
        guard bytes[0] == 130, bytes.count >= 9 else { return nil }
        let packed = bytes[1...8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return BSONTimestamp(packed: packed)
    }

    /// After a `getMore` that brought no event: the stream has handed out every event up to `end` when its token
    /// stands at or past `end`, or when it did not move since the last empty `getMore` (nothing more to scan). An
    /// empty `getMore` alone says neither: SecantusDB answers one after scanning a slice of its oplog, with the token
    /// moved along.
    public static func caughtUp(token: BSONDocument?, previousEmpty: BSONDocument?, end: BSONTimestamp) -> Bool {
        guard let token else { return true }  // a server without tokens: the empty answer is all there is
        if let ts = clusterTime(of: token), ts >= end { return true }
        return token == previousEmpty
    }
}
