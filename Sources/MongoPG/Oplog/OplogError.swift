/// An oplog entry this release cannot replay, or one that is malformed. Carries what an operator needs to find
/// it: the entry's ts, namespace and op.
public struct OplogError: ToolError {
    public enum Kind: Sendable, Equatable {
        /// An entry of a form the replayer does not know (an unknown op or command): the run stops before it.
        case unknownForm
        /// An entry that breaks the format (a missing `_id`, a diff with an unexpected section, ...).
        case malformed
        /// A `renameCollection` into or out of a synced namespace: the tables cannot follow, an init load must.
        case renameOfSyncedCollection
        /// The oplog no longer reaches back to where replay must start: what it lost can only come from an init load.
        case historyLost
        /// An entry of a transaction whose earlier entries were not read (neither carried from an earlier run nor in
        /// the input): applying it would apply part of the transaction.
        case transactionPartMissing
    }
    public var kind: Kind
    public var message: String
    public var ts: BSONTimestamp?
    public var namespace: String?
    public var op: String?
    /// `transactionPartMissing`: the ts of the missing entry the refused one names (its `prevOpTime`), from where a
    /// live oplog can be read back.
    public var missingPart: BSONTimestamp?

    public init(_ kind: Kind, _ message: String, ts: BSONTimestamp? = nil, namespace: String? = nil, op: String? = nil)
    {
        self.kind = kind
        self.message = message
        self.ts = ts
        self.namespace = namespace
        self.op = op
    }

    /// The same error, placed at an entry.
    func at(_ ts: BSONTimestamp, namespace: String, op: String) -> OplogError {
        var placed = self
        placed.ts = placed.ts ?? ts
        placed.namespace = placed.namespace ?? namespace
        placed.op = placed.op ?? op
        return placed
    }

    public var description: String {
        let place = [ts.map { "ts \($0)" }, namespace.map { "ns \($0)" }, op.map { "op \($0)" }].compactMap { $0 }
        return "oplog entry\(place.isEmpty ? "" : " (" + place.joined(separator: ", ") + ")"): \(message)"
            + (kind == .historyLost ? Self.resyncHint : "")
    }

    /// The way back from lost history without a full reload, named wherever a position is lost.
    static let resyncHint = "; or converge the tables in place with oplog-sync --resync"

    public var exitStatus: ExitStatus {
        switch kind {
        case .unknownForm, .malformed, .transactionPartMissing: .dataError
        case .renameOfSyncedCollection, .historyLost: .initLoadNeeded
        }
    }
}
