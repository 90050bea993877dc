/// How many `_id`s one `$in` lookup asks for, chosen from the answer times measured on this connection's server: mongod
/// answers a large `$in` from its `_id` index (bigger is cheaper per id), SecantusDB answers one by scanning per
/// asked id (1000 ids in one query took 1.1 to 3.4 s, the same ids 25 to 100 at a time 0.2 s), and neither size suits
/// both. A hill climb over sizes doubling from 16 to 4096: the size in use moves to a neighbour whose measured time per
/// id (a moving average) is lower; a neighbour never measured is tried first, and every `probeEvery`-th query tries one
/// again, so the choice follows a server whose load changes. Only queries of the full size asked are measured (a
/// batch's last, shorter query costs more per id). Pure: the caller measures.
struct LookupBatchSizer: Sendable {
    static let sizes = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    static let probeEvery = 16
    /// Seconds per id, a moving average per size; nil: never measured.
    private var costs: [Double?] = Array(repeating: nil, count: sizes.count)
    /// The size in use: the cheapest measured so far among its neighbours.
    private var current: Int
    private var queries = 0

    /// `initialSize`: where the climb starts (rounded down to a size of the ladder).
    init(initialSize: Int = 64) {
        current = Self.sizes.lastIndex { $0 <= initialSize } ?? 0
    }

    /// The number of ids the next query asks for.
    mutating func nextSize() -> Int {
        queries += 1
        let neighbours = [current + 1, current - 1].filter { Self.sizes.indices.contains($0) }
        if let unmeasured = neighbours.first(where: { costs[$0] == nil }) { return Self.sizes[unmeasured] }
        if queries % Self.probeEvery == 0, !neighbours.isEmpty {
            return Self.sizes[neighbours[(queries / Self.probeEvery) % neighbours.count]]
        }
        return Self.sizes[current]
    }

    /// A query of `size` ids (as `nextSize` answered) took `seconds`.
    mutating func record(size: Int, seconds: Double) {
        guard let index = Self.sizes.firstIndex(of: size) else { return }
        let perID = seconds / Double(size)
        costs[index] = costs[index].map { 0.7 * $0 + 0.3 * perID } ?? perID
        let candidates = [current - 1, current, current + 1].filter { Self.sizes.indices.contains($0) }
        current = candidates.min { (costs[$0] ?? .infinity) < (costs[$1] ?? .infinity) } ?? current
    }

    /// The size queries use between probes.
    var settledSize: Int { Self.sizes[current] }
}
