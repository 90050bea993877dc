/// From where each collection's entries apply, per position (an oplog source, or one change stream of a source):
/// the position's sync point (or, before the first batch, the position of the load of everything), unless the
/// collection has a start of its own (a load of some collections, a resync of some): its tables hold MongoDB's
/// documents as of then, so its entries before it are skipped, and those after it are replayed even when the sync
/// point is later. Reading begins at the earliest of them. Pure.
public struct ReplayStarts: Sendable, Equatable {
    /// Per position name: entries before it apply to no collection without a start of its own.
    public var base: [String: BSONTimestamp] = [:]
    /// Per position name, the collections with a start of their own.
    public var collections: [String: [Namespace: BSONTimestamp]] = [:]

    public init(base: [String: BSONTimestamp] = [:], collections: [String: [Namespace: BSONTimestamp]] = [:]) {
        self.base = base
        self.collections = collections
    }

    /// Where reading a position begins; nil when nothing was recorded for it.
    public func readFrom(_ name: String) -> BSONTimestamp? {
        ([base[name]] + (collections[name] ?? [:]).values.map { $0 }).compactMap { $0 }.min()
    }

    /// The thresholds of one position, for the batcher.
    func position(_ name: String) -> Position {
        let own = collections[name] ?? [:]
        return Position(
            base: base[name], collections: own, allFrom: ([base[name]] + own.values.map { $0 }).compactMap { $0 }.max())
    }

    /// One position's thresholds.
    struct Position: Sendable {
        var base: BSONTimestamp?
        var collections: [Namespace: BSONTimestamp]
        /// From here on every entry applies (the latest threshold); nil: every entry does.
        var allFrom: BSONTimestamp?

        static let everything = Position(base: nil, collections: [:], allFrom: nil)

        /// Whether an entry at `ts` changes `namespace`'s tables.
        func applies(_ namespace: Namespace, at ts: BSONTimestamp) -> Bool {
            guard let allFrom, ts < allFrom else { return true }
            guard let start = collections[namespace] ?? base else { return true }
            return ts >= start
        }
    }
}
