/// One run of `etlstatus verify` on one collection, as the state schema keeps it.
public struct VerificationRecord: Sendable, Equatable, Codable {
    public var collection: String
    /// `sample` or `all`.
    public var mode: String
    /// The ledger run that made it.
    public var runID: Int64?
    /// When it ended (UTC, ISO 8601); nil before it is recorded.
    public var finishedAt: String?
    public var documentsChecked: Int64
    public var different: Int64
    public var missing: Int64
    public var extra: Int64
    public var unstorable: Int64
    /// Differences explained by changes MongoDB made after the sync point: a later oplog-sync brings them.
    public var pending: Int64
    /// Documents whose rows were replaced with MongoDB's versions (`--repair`; pending ones included).
    public var repaired: Int64
    /// Documents that still differ from MongoDB after the run (pending ones not counted).
    public var divergent: Int64
    /// How old the record was when read, by the server's clock; nil before it is recorded.
    public var ageSeconds: Double?

    public init(
        collection: String, mode: String, runID: Int64? = nil, finishedAt: String? = nil, documentsChecked: Int64,
        different: Int64, missing: Int64, extra: Int64, unstorable: Int64, pending: Int64, repaired: Int64,
        divergent: Int64, ageSeconds: Double? = nil
    ) {
        self.collection = collection
        self.mode = mode
        self.runID = runID
        self.finishedAt = finishedAt
        self.documentsChecked = documentsChecked
        self.different = different
        self.missing = missing
        self.extra = extra
        self.unstorable = unstorable
        self.pending = pending
        self.repaired = repaired
        self.divergent = divergent
        self.ageSeconds = ageSeconds
    }
}
