import Testing

@testable import MongoPG

/// `ReplayStarts`: from where each collection's entries apply, and where reading a position begins.
@Suite("Replay starts of collections")
struct ReplayStartsTests {
    static let customers = Namespace(database: "shop", collection: "customers")
    static let orders = Namespace(database: "shop", collection: "orders")
    static func ts(_ seconds: UInt32) -> BSONTimestamp { BSONTimestamp(seconds: seconds, increment: 1) }

    @Test("a collection's own start earlier than the sync point reads again from it, for that collection alone")
    func earlierStart() {
        let starts = ReplayStarts(base: ["rs0": Self.ts(20)], collections: ["rs0": [Self.orders: Self.ts(10)]])
        #expect(starts.readFrom("rs0") == Self.ts(10))
        let position = starts.position("rs0")
        #expect(position.applies(Self.orders, at: Self.ts(10)))
        #expect(!position.applies(Self.customers, at: Self.ts(15)), "applied before the sync point already")
        #expect(position.applies(Self.customers, at: Self.ts(20)), "the entry at the sync point is read again")
        #expect(!position.applies(Self.orders, at: Self.ts(9)))
    }

    @Test("a collection's own start later than the sync point skips its entries up to it; others apply")
    func laterStart() {
        let starts = ReplayStarts(base: ["rs0": Self.ts(20)], collections: ["rs0": [Self.orders: Self.ts(30)]])
        #expect(starts.readFrom("rs0") == Self.ts(20))
        let position = starts.position("rs0")
        #expect(!position.applies(Self.orders, at: Self.ts(25)), "its load read it already")
        #expect(position.applies(Self.customers, at: Self.ts(25)))
        #expect(position.applies(Self.orders, at: Self.ts(30)))
        #expect(ReplayStarts().position("rs0").applies(Self.orders, at: Self.ts(1)), "nothing recorded: all apply")
        #expect(ReplayStarts().readFrom("rs0") == nil)
    }

    @Test("the batcher counts the changes a collection's tables hold already, and applies the rest")
    func batcherSkips() throws {
        var settings = ReplayBatcherTests.settings(batchSize: 10)
        settings.starts = ReplayStarts(base: ["rs0": Self.ts(1)], collections: ["rs0": [Self.customers: Self.ts(3)]])
        var driver = ReplayBatcherTests.Driver(settings)
        for second in UInt32(1)...4 {
            try driver.read(ReplayBatcherTests.insert(Int32(second), at: Self.ts(second)))
        }
        #expect(driver.batcher.read.inserts == 2 && driver.batcher.read.skipped[ReplayBatcher.alreadyInTables] == 2)
    }

    @Test("read again from a collection's own start, batches leave the sync point where it is and move the start")
    func catchingUp() throws {
        var settings = ReplayBatcherTests.settings(batchSize: 2)
        settings.starts = ReplayStarts(base: ["rs0": Self.ts(3)], collections: ["rs0": [Self.customers: Self.ts(1)]])
        var driver = ReplayBatcherTests.Driver(settings)
        for second in UInt32(1)...5 {
            try driver.read(ReplayBatcherTests.insert(Int32(second), at: Self.ts(second)))
        }
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 2, settle: false, syncPoints: [:], staysCommitting: false),
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(4)], staysCommitting: false),
                .commit(entries: 1, settle: true, syncPoints: ["rs0": Self.ts(5)], staysCommitting: false),
            ])
        #expect(driver.advancedStarts == [["rs0": [Self.customers: Self.ts(2)]], [:], [:]])
    }
}
