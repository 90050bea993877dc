import Testing

@testable import MongoPG

/// The choice of how many `_id`s one `$in` asks for, against modelled servers: each answers a query of n ids in a
/// time that the model gives, and the sizer must settle where that time per id is lowest.
@Suite("The `_id` lookup size follows the server's answer times")
struct LookupBatchSizerTests {
    /// Runs `queries` queries against a server answering n ids in `seconds(n)`; answers the sizes asked, in order.
    static func climb(_ sizer: inout LookupBatchSizer, queries: Int, seconds: (Int) -> Double) -> [Int] {
        (0..<queries).map { _ in
            let size = sizer.nextSize()
            sizer.record(size: size, seconds: seconds(size))
            return size
        }
    }

    /// SecantusDB as probed: a fixed cost per query plus a cost per id that grows with the `$in`'s length (1000 ids
    /// at once 1.9 s, 50 at a time 0.2 s for the same thousand).
    static func scanningServer(_ ids: Int) -> Double { 0.003 + 0.000_002 * Double(ids * ids) }

    /// mongod: a fixed cost per query, then each id read from the `_id` index.
    static func indexedServer(_ ids: Int) -> Double { 0.002 + 0.000_01 * Double(ids) }

    /// The modelled servers, with the sizes the climb must settle at.
    enum Server: String, CaseIterable, Sendable {
        /// The modelled optimum: 0.003 / n + 0.000002 n is lowest at n = 39; never 1000.
        case scanning
        case indexed

        func seconds(_ ids: Int) -> Double {
            self == .scanning ? LookupBatchSizerTests.scanningServer(ids) : LookupBatchSizerTests.indexedServer(ids)
        }

        var settledSizes: [Int] { self == .scanning ? [32, 64] : [LookupBatchSizer.sizes.last!] }
    }

    @Test("it settles where the server answers cheapest per id, never at a fixed size", arguments: Server.allCases)
    func settles(on server: Server) {
        var sizer = LookupBatchSizer()
        _ = Self.climb(&sizer, queries: 60, seconds: server.seconds)
        #expect(server.settledSizes.contains(sizer.settledSize), "\(server): settled at \(sizer.settledSize)")
    }

    @Test("when the server changes, probes move the size to the new optimum")
    func followsAChange() {
        var sizer = LookupBatchSizer()
        _ = Self.climb(&sizer, queries: 60, seconds: Self.indexedServer)
        _ = Self.climb(&sizer, queries: 400, seconds: Self.scanningServer)
        #expect([32, 64].contains(sizer.settledSize), "settled at \(sizer.settledSize)")
    }

    @Test("once settled, only one query in `probeEvery` tries another size")
    func probesAreRare() {
        var sizer = LookupBatchSizer()
        _ = Self.climb(&sizer, queries: 60, seconds: Self.scanningServer)
        let settled = sizer.settledSize
        let asked = Self.climb(&sizer, queries: 64, seconds: Self.scanningServer)
        #expect(asked.count { $0 != settled } <= 64 / LookupBatchSizer.probeEvery)
    }

    @Test("a size never asked for is not recorded, and the start is rounded down onto the ladder")
    func ignoresForeignSizes() {
        var sizer = LookupBatchSizer(initialSize: 100)
        #expect(sizer.settledSize == 64)
        sizer.record(size: 1000, seconds: 0.0001)
        #expect(sizer.settledSize == 64)
    }
}
