/// One entry of `local.oplog.rs` (reference: mongodb-oplog.md §1), as far as replay needs it. Unknown fields are
/// ignored, as newer servers add them.
public struct OplogEntry: Sendable, Equatable {
    public var ts: BSONTimestamp
    /// `i`, `u`, `d`, `c` or `n`.
    public var op: String
    /// `db.coll`, `db.$cmd` for commands, `""` for most no-ops.
    public var namespace: String
    /// `o`: the document, the update, the document key or the command.
    public var object: BSONDocument
    /// `o2`: the document key of an update.
    public var object2: BSONDocument?
    /// A chunk migration's write, not a user's.
    public var fromMigrate: Bool
    /// `lsid` and `txnNumber`: the session and transaction a write belongs to.
    public var sessionID: BSONValue?
    public var transactionNumber: Int64?
    /// `multiOpType: 1` marks vectored inserts (8.0+), which are not transactions.
    public var multiOpType: Int64?
    /// `prevOpTime.ts`: the ts of the transaction's entry before this one; nil for a transaction's first entry (the
    /// null optime, ts 0) and for entries that carry none (4.0 transactions, non-transaction writes).
    public var previousPart: BSONTimestamp?

    /// The levels an entry adds above the documents it carries: `o.applyOps[i].o`, and a `$v:2` diff's `diff` and
    /// array-diff levels; a document nested as deep as MongoDB allows still decodes inside its entry.
    public static let wrapperLevels = 8

    public init(
        ts: BSONTimestamp, op: String, namespace: String, object: BSONDocument, object2: BSONDocument? = nil,
        fromMigrate: Bool = false, sessionID: BSONValue? = nil, transactionNumber: Int64? = nil,
        multiOpType: Int64? = nil, previousPart: BSONTimestamp? = nil
    ) {
        self.ts = ts
        self.op = op
        self.namespace = namespace
        self.object = object
        self.object2 = object2
        self.fromMigrate = fromMigrate
        self.sessionID = sessionID
        self.transactionNumber = transactionNumber
        self.multiOpType = multiOpType
        self.previousPart = previousPart
    }

    /// Reads an entry; `inheritedTS` is the ts of the `applyOps` entry an inner operation sits in (inner operations
    /// have none of their own).
    public init(_ document: BSONDocument, inheritedTS: BSONTimestamp? = nil) throws(OplogError) {
        let ts: BSONTimestamp
        if case .timestamp(let own)? = document["ts"] {
            ts = own
        } else if let inheritedTS {
            ts = inheritedTS
        } else {
            throw OplogError(.malformed, "an entry without a ts")
        }
        guard case .string(let op)? = document["op"] else {
            throw OplogError(.malformed, "an entry without an op", ts: ts)
        }
        let namespace: String
        switch document["ns"] {
        case .string(let text)?: namespace = text
        case nil where op == "n": namespace = ""
        default: throw OplogError(.malformed, "an entry without an ns", ts: ts, op: op)
        }
        let object: BSONDocument
        switch document["o"] {
        case .document(let value)?: object = value
        case nil where op == "n": object = BSONDocument()
        default:
            throw OplogError(.malformed, "an entry whose o is not a document", ts: ts, namespace: namespace, op: op)
        }
        var object2: BSONDocument?
        if case .document(let value)? = document["o2"] { object2 = value }
        var previousPart: BSONTimestamp?
        if case .document(let opTime)? = document["prevOpTime"], case .timestamp(let previous)? = opTime["ts"],
            previous.packed != 0
        {
            previousPart = previous
        }
        self.init(
            ts: ts, op: op, namespace: namespace, object: object, object2: object2,
            fromMigrate: document["fromMigrate"] == .bool(true), sessionID: document["lsid"],
            transactionNumber: document["txnNumber"]?.integerValue, multiOpType: document["multiOpType"]?.integerValue,
            previousPart: previousPart)
    }
}
