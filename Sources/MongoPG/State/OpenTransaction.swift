/// A transaction whose entries were read but not its end (a `partialTxn` chain's last part, or the
/// `commitTransaction` of a prepared one): its operations wait for it. Carried from run to run in the state schema
/// (`open_transactions`), so a transaction cut at the end of a file (or of a run) applies whole when the next
/// replay reads its end. Pure.
public struct OpenTransaction: Sendable, Equatable {
    /// The session (`lsid`) and transaction number that name it.
    public var session: BSONValue
    public var number: Int64
    /// The ts of its first entry read, and of its last one (the next part's `prevOpTime` names it).
    public var firstTS: BSONTimestamp
    public var lastTS: BSONTimestamp
    /// Its last entry was `prepare`: only `commitTransaction` or `abortTransaction` comes next.
    public var prepared: Bool
    /// Entries read of it.
    public var parts: Int
    /// The inner operations of its entries, in order, as the entries hold them.
    public var operations: [BSONDocument]

    public init(
        session: BSONValue, number: Int64, firstTS: BSONTimestamp, lastTS: BSONTimestamp, prepared: Bool = false,
        parts: Int = 1, operations: [BSONDocument] = []
    ) {
        self.session = session
        self.number = number
        self.firstTS = firstTS
        self.lastTS = lastTS
        self.prepared = prepared
        self.parts = parts
        self.operations = operations
    }

    /// How messages and reports name it: MongoDB's own names for the pair.
    public var name: String { Self.name(session: session, number: number) }

    static func name(session: BSONValue, number: Int64) -> String {
        let id: BSONValue = if case .document(let lsid) = session, let id = lsid["id"] { id } else { session }
        return "lsid \(id) txnNumber \(number)"
    }

    /// The form kept in the state schema: one BSON document.
    public var stored: BSONDocument {
        [
            "lsid": session, "txnNumber": .int64(number), "first": .timestamp(firstTS), "last": .timestamp(lastTS),
            "prepared": .bool(prepared), "parts": .int64(Int64(parts)),
            "operations": .array(operations.map { .document($0) }),
        ]
    }

    /// Reads `stored` back; nil when the document is not of that form.
    public init?(stored document: BSONDocument) {
        guard let session = document["lsid"], let number = document["txnNumber"]?.integerValue,
            case .timestamp(let first)? = document["first"], case .timestamp(let last)? = document["last"],
            case .bool(let prepared)? = document["prepared"], let parts = document["parts"]?.integerValue,
            case .array(let values)? = document["operations"]
        else { return nil }
        var operations: [BSONDocument] = []
        for value in values {
            guard case .document(let operation) = value else { return nil }
            operations.append(operation)
        }
        self.init(
            session: session, number: number, firstTS: first, lastTS: last, prepared: prepared, parts: Int(parts),
            operations: operations)
    }
}

/// A transaction left open at the end of a run, in its summary and `--json`: carried to the next run.
public struct OpenTransactionReport: Sendable, Codable, Equatable {
    /// The oplog source it was read from (`file` for `--from-file`).
    public var source: String
    public var transaction: String
    /// Its first and last entry read, as `(t << 32) | i`.
    public var firstTS: UInt64, lastTS: UInt64
    public var parts: Int, operations: Int
    public var prepared: Bool

    init(source: String, _ transaction: OpenTransaction) {
        self.source = source
        self.transaction = transaction.name
        firstTS = transaction.firstTS.packed
        lastTS = transaction.lastTS.packed
        parts = transaction.parts
        operations = transaction.operations.count
        prepared = transaction.prepared
    }

    var line: String {
        "\(transaction) on \(source) (\(parts) entries from \(BSONTimestamp(packed: firstTS)) to "
            + "\(BSONTimestamp(packed: lastTS)), \(operations) operations\(prepared ? ", prepared" : ""))"
    }
}
