import MongoPG
import Testing

@Suite("Lag, window and time left of one oplog source (pure)")
struct SourceLagTests {
    static func ts(_ seconds: UInt32, _ increment: UInt32 = 1) -> BSONTimestamp {
        BSONTimestamp(seconds: seconds, increment: increment)
    }

    @Test("lag in seconds and entries, the window, and the time left at the average write rate")
    func figures() {
        // 1 000 entries over 1 000 s; the position has 100 entries after it, 900 at or before it.
        let sample = OplogWindowSample(
            newest: Self.ts(2_000), oldest: Self.ts(1_000), entries: 1_000, entriesAfter: 100)
        let lag = SourceLag(
            source: "rs0", position: OplogPosition(ts: Self.ts(1_900), origin: .syncPoint), sample: sample)
        #expect(lag.lagSeconds == 100)
        #expect(lag.lagEntries == 100)
        #expect(lag.windowSeconds == 1_000)
        #expect(lag.timeLeftSeconds == 900)
        #expect(!lag.fallenOff)
        #expect(lag.fallenOffReason == nil)
    }

    @Test(
        "a position later than the newest (by a second or more), or negative, is named implausible and measures nothing"
    )
    func implausible() {
        let sample = OplogWindowSample(newest: Self.ts(2_000), oldest: Self.ts(1_000), entries: 10, entriesAfter: 0)
        let future = SourceLag(
            source: "rs0", position: OplogPosition(ts: Self.ts(2_000_000_000), origin: .syncPoint), sample: sample)
        let reason = try? #require(future.implausiblePosition)
        #expect(reason?.contains("the sync point of rs0, Timestamp(2000000000, 1), is later than") == true)
        #expect(reason?.contains("oplog-sync --resync") == true)
        #expect(future.lagSeconds == nil && future.timeLeftSeconds == nil && !future.fallenOff)
        #expect(LagReport(sources: [future]).table.contains("BAD POSITION"))

        let negative = SourceLag(
            source: "rs0",
            position: OplogPosition(ts: BSONTimestamp(packed: UInt64(bitPattern: -5)), origin: .syncPoint),
            sample: sample)
        #expect(negative.implausiblePosition?.contains("-5, is not a valid oplog position") == true)
        // The same second as the newest position is not implausible: positions of one second differ by increment.
        let sameSecond = SourceLag(
            source: "rs0", position: OplogPosition(ts: Self.ts(2_000, 9), origin: .syncPoint), sample: sample)
        #expect(sameSecond.implausiblePosition == nil)
        #expect(sameSecond.lagSeconds == 0)
    }

    @Test("a position with no entry after it has no lag, even when the newest position moved on")
    func caughtUp() {
        let sample = OplogWindowSample(newest: Self.ts(2_000), oldest: Self.ts(1_000), entries: 10, entriesAfter: 0)
        let lag = SourceLag(
            source: "rs0", position: OplogPosition(ts: Self.ts(1_500), origin: .initLoad), sample: sample)
        #expect(lag.lagSeconds == 0)
        #expect(lag.timeLeftSeconds == 1_000)
    }

    @Test("a position older than the oldest entry has fallen off; one equal to it has not")
    func fallenOff() {
        let sample = OplogWindowSample(newest: Self.ts(2_000), oldest: Self.ts(1_000, 5), entries: 10, entriesAfter: 10)
        let gone = SourceLag(
            source: "rs1", position: OplogPosition(ts: Self.ts(1_000, 4), origin: .syncPoint), sample: sample)
        #expect(gone.fallenOff)
        #expect(gone.timeLeftSeconds == 0)
        #expect(gone.fallenOffReason?.contains("rs1") == true)
        #expect(gone.fallenOffReason?.contains("sync point Timestamp(1000, 4)") == true)
        let edge = SourceLag(
            source: "rs1", position: OplogPosition(ts: Self.ts(1_000, 5), origin: .syncPoint), sample: sample)
        #expect(!edge.fallenOff)
        #expect(LagReport(sources: [edge]).fallenOff == false)
        #expect(LagReport(sources: [edge, gone]).fallenOff)
    }

    @Test("without a position there is nothing to measure, and the report says an init load is needed")
    func noPosition() {
        let sample = OplogWindowSample(newest: Self.ts(5), oldest: Self.ts(1), entries: 3, entriesAfter: 0)
        let lag = SourceLag(source: "rs0", position: nil, sample: sample)
        #expect(lag.problem != nil)
        #expect(lag.lagSeconds == nil)
        #expect(LagReport(sources: [lag]).fallenOff)
    }

    @Test("a window of zero seconds gives no rate, so no time left")
    func noRate() {
        let sample = OplogWindowSample(newest: Self.ts(7), oldest: Self.ts(7), entries: 1, entriesAfter: 0)
        #expect(
            SourceLag(source: "a", position: OplogPosition(ts: Self.ts(7), origin: .initLoad), sample: sample)
                .timeLeftSeconds == nil)
    }

    @Test("a sync point wins over the init load's position")
    func positions() {
        let positions = OplogPosition.positions(
            sources: ["rs0", "rs1", "rs2"], syncPoints: ["rs0": Self.ts(50)],
            initLoadPositions: ["rs0": Self.ts(10).packed, "rs1": Self.ts(20).packed])
        #expect(positions["rs0"] == OplogPosition(ts: Self.ts(50), origin: .syncPoint))
        #expect(positions["rs1"] == OplogPosition(ts: Self.ts(20), origin: .initLoad))
        #expect(positions["rs2"] == nil)
    }
}
