import Testing

@testable import MongoPG

/// `ReplayBatcher`'s policy driven by scripted entries, signals and clocks: no server. Each scene plays a script
/// through a small driver that carries out the batcher's actions the way `Replayer` does and records them.
@Suite("Oplog replay batching policy")
struct ReplayBatcherTests {
    static let customers = Namespace(database: "shop", collection: "customers")
    static let orders = Namespace(database: "shop", collection: "orders")
    static let session =
        #""lsid": {"id": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==", "subType": "04"}}}, "txnNumber": {"$numberLong": "5"}"#

    static func ts(_ seconds: UInt32, _ increment: UInt32 = 1) -> BSONTimestamp {
        BSONTimestamp(seconds: seconds, increment: increment)
    }

    static func insert(_ id: Int32, at ts: BSONTimestamp, into ns: String = "shop.customers") -> OplogEntry {
        try! OplogEntry(
            try! BSONDocument(
                extendedJSON:
                    #"{"ts": {"$timestamp": {"t": \#(ts.seconds), "i": \#(ts.increment)}}, "op": "i", "ns": "\#(ns)", "o": {"_id": \#(id)}}"#
            ))
    }

    static func entry(_ json: String) -> OplogEntry { try! OplogEntry(try! BSONDocument(extendedJSON: json)) }

    /// What the driver saw the batcher ask for.
    enum Event: Equatable {
        /// A batch: its entries, whether it settles, the sync points it may move, whether it stays committing.
        case commit(entries: Int, settle: Bool, syncPoints: [String: BSONTimestamp], staysCommitting: Bool)
        case awaitCommitting, heartbeat, stop
        /// The batch just cut was dropped (`dropLastCut`).
        case dropped
    }

    /// Carries out the batcher's actions as `Replayer` does: asks again after each commit, reports commits back.
    struct Driver {
        var batcher: ReplayBatcher
        var events: [Event] = []
        /// Each commit's own starts moved forward.
        var advancedStarts: [[String: [Namespace: BSONTimestamp]]] = []
        /// Each commit's open transactions to keep.
        var openTransactions: [[String: [OpenTransaction]]] = []
        var now = ContinuousClock.now
        /// Documents verification leaves differing after each commit.
        var rememberedAfterCommit = 0
        var signal: Int32?
        /// A signal that comes while a verified batch commits: it drops the batch read meanwhile.
        var signalWhileCommitting: Int32?
        var sourceEnded = false
        var stopped = false

        init(_ settings: ReplayBatcher.Settings, sources: [String] = ["rs0"], remembered: Int = 0) {
            batcher = ReplayBatcher(
                names: sources, synced: [ReplayBatcherTests.customers], settings: settings, remembered: remembered,
                now: now)
        }

        mutating func perform(_ action: ReplayBatcher.Action) {
            switch action {
            case .none: break
            case .stop: events.append(.stop)
            case .heartbeat: events.append(.heartbeat)
            case .awaitCommitting:
                events.append(.awaitCommitting)
                batcher.committingDone(remembered: rememberedAfterCommit)
            case .commit(let commit):
                events.append(
                    .commit(
                        entries: commit.entries, settle: commit.settle, syncPoints: commit.positions.syncPoints,
                        staysCommitting: commit.staysCommitting))
                advancedStarts.append(commit.positions.advancedStarts)
                openTransactions.append(commit.openTransactions)
                if commit.readWhileCommitting, let late = signalWhileCommitting {
                    events.append(.dropped)
                    batcher.dropLastCut(signal: late)
                    signal = late
                }
                batcher.committed(remembered: rememberedAfterCommit, now: now)
            }
        }

        /// Reads `entry` from source `source`, as the replay loop does.
        mutating func read(_ entry: OplogEntry, from source: Int = 0) throws {
            guard !stopped else { return }
            while true {
                let action = batcher.entryRead(at: entry.ts, now: now, signal: signal, sourceEnded: sourceEnded)
                if case .none = action { break }
                perform(action)
                if case .stop = action {
                    stopped = true
                    return
                }
            }
            try batcher.add(entry, from: source, resumeToken: nil, now: now)
        }

        /// Following, the stream had nothing new.
        mutating func quiet() {
            let action = batcher.caughtUp(now: now, signal: signal, sourceEnded: sourceEnded)
            perform(action)
            if case .stop = action { stopped = true }
        }

        /// The stream ran dry (or a signal stopped it): asked again while a batch must first end its commit.
        mutating func finish() {
            var action = batcher.finish(signal: signal)
            while case .awaitCommitting = action {
                perform(action)
                action = batcher.finish(signal: signal)
            }
            perform(action)
        }
    }

    static func settings(
        batchSize: Int = 3, follow: FollowSettings? = nil, moving: Bool = true, verified: Bool = true,
        pipelined: Bool = false, overlapsVerified: Bool = false
    ) -> ReplayBatcher.Settings {
        .init(
            batchSize: batchSize, follow: follow, movingSyncPoints: moving, verified: verified, pipelined: pipelined,
            overlapsVerified: overlapsVerified)
    }

    @Test("a catch-up cuts a batch every batch_size entries, moves the sync point to the last entry read, settles last")
    func catchUp() throws {
        var driver = Driver(Self.settings())
        for second in UInt32(1)...7 { try driver.read(Self.insert(Int32(second), at: Self.ts(second))) }
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 3, settle: false, syncPoints: ["rs0": Self.ts(3)], staysCommitting: false),
                .commit(entries: 3, settle: false, syncPoints: ["rs0": Self.ts(6)], staysCommitting: false),
                .commit(entries: 1, settle: true, syncPoints: ["rs0": Self.ts(7)], staysCommitting: false),
            ])
        #expect(driver.batcher.read.entries == 7 && driver.batcher.read.inserts == 7)
    }

    @Test("entries sharing a ts stay in one batch, however full")
    func sameTimestamp() throws {
        var driver = Driver(Self.settings(batchSize: 2))
        for id in Int32(1)...5 { try driver.read(Self.insert(id, at: Self.ts(9))) }
        try driver.read(Self.insert(6, at: Self.ts(10)))
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 5, settle: false, syncPoints: ["rs0": Self.ts(9)], staysCommitting: false),
                .commit(entries: 1, settle: true, syncPoints: ["rs0": Self.ts(10)], staysCommitting: false),
            ])
    }

    @Test("an open transaction holds its source's sync point back to its first entry; other sources move on")
    func openTransaction() throws {
        var driver = Driver(Self.settings(batchSize: 2), sources: ["rs0", "rs1"])
        try driver.read(
            Self.entry(
                #"{"ts": {"$timestamp": {"t": 10, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 1}}], "partialTxn": true}}"#
            ))
        try driver.read(Self.insert(2, at: Self.ts(11)), from: 1)
        try driver.read(Self.insert(3, at: Self.ts(12)))
        try driver.read(
            Self.entry(
                #"{"ts": {"$timestamp": {"t": 13, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 4}}], "count": 2}}"#
            ))
        driver.finish()
        #expect(
            driver.events == [
                .commit(
                    entries: 2, settle: false, syncPoints: ["rs0": Self.ts(10), "rs1": Self.ts(11)],
                    staysCommitting: false),
                .commit(
                    entries: 2, settle: true, syncPoints: ["rs0": Self.ts(13), "rs1": Self.ts(11)],
                    staysCommitting: false),
            ])
        #expect(driver.batcher.read.inserts == 4)
    }

    @Test("a refused transaction end commits the batch before it with the sync point at the transaction's first entry")
    func refusedTransactionEnd() throws {
        var driver = Driver(Self.settings(batchSize: 10))
        try driver.read(
            Self.entry(
                #"{"ts": {"$timestamp": {"t": 10, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "u", "ns": "shop.customers", "o": {"$inc": {"a": 1}}, "o2": {"_id": 1}}], "prepare": true}}"#
            ))
        try driver.read(Self.insert(2, at: Self.ts(11)))
        do {
            try driver.read(
                Self.entry(
                    #"{"ts": {"$timestamp": {"t": 12, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"commitTransaction": 1}}"#
                ))
            Issue.record("an unknown update inside the transaction must be refused")
        } catch let refusal as ReplayBatcher.Refusal {
            driver.perform(refusal.before)
            #expect(refusal.error.exitStatus == .dataError)
        }
        #expect(
            driver.events == [
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(10)], staysCommitting: false)
            ])
    }

    @Test("the transactions open are carried with the batch that changed them, and named and counted at the end")
    func carriedTransactions() throws {
        var settings = Self.settings(batchSize: 2, moving: false, verified: false, pipelined: true)
        settings.transactionNames = ["file"]
        var driver = Driver(settings)
        try driver.read(
            Self.entry(
                #"{"ts": {"$timestamp": {"t": 10, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 1}}], "partialTxn": true}}"#
            ))
        try driver.read(Self.insert(2, at: Self.ts(11)))
        try driver.read(Self.insert(3, at: Self.ts(12)))
        try driver.read(Self.insert(4, at: Self.ts(13)))
        driver.finish()
        #expect(driver.openTransactions.map { $0.keys.sorted() } == [["file"], []])
        #expect(driver.openTransactions.first?["file"]?.first?.firstTS == Self.ts(10))
        #expect(driver.batcher.read.skipped["transaction_left_open"] == 1)
        #expect(driver.batcher.openTransactions.map(\.source) == ["file"])
        #expect(driver.batcher.read.inserts == 3)
    }

    @Test("a commit whose prepare lies before the replay's start is refused, and applies whole once that is read back")
    func readBack() throws {
        var settings = Self.settings(batchSize: 10)
        settings.starts = ReplayStarts(base: ["rs0": Self.ts(15)])
        var driver = Driver(settings)
        let prepare = Self.entry(
            #"{"ts": {"$timestamp": {"t": 10, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "prevOpTime": {"ts": {"$timestamp": {"t": 0, "i": 0}}, "t": {"$numberLong": "-1"}}, "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 1}}], "prepare": true}}"#
        )
        let commit = Self.entry(
            #"{"ts": {"$timestamp": {"t": 20, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "prevOpTime": {"ts": {"$timestamp": {"t": 10, "i": 1}}, "t": {"$numberLong": "1"}}, "o": {"commitTransaction": 1}}"#
        )
        try driver.read(Self.insert(2, at: Self.ts(15)))
        do {
            try driver.read(commit)
            Issue.record("a commit without its prepare must be refused")
        } catch let refusal as ReplayBatcher.Refusal {
            #expect(refusal.error.kind == .transactionPartMissing && refusal.error.missingPart == Self.ts(10))
            driver.perform(refusal.before)
            try driver.batcher.readBack([prepare], from: 0)
            try driver.read(commit)
        }
        driver.finish()
        #expect(driver.batcher.read.inserts == 2)
        #expect(
            driver.events == [
                .commit(entries: 1, settle: false, syncPoints: ["rs0": Self.ts(15)], staysCommitting: false),
                .commit(entries: 1, settle: true, syncPoints: ["rs0": Self.ts(20)], staysCommitting: false),
            ])
    }

    @Test("a file replay moves no sync point")
    func fileReplay() throws {
        var driver = Driver(Self.settings(moving: false, verified: false, pipelined: true))
        for second in UInt32(1)...4 { try driver.read(Self.insert(Int32(second), at: Self.ts(second))) }
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 3, settle: false, syncPoints: [:], staysCommitting: true),
                .commit(entries: 1, settle: true, syncPoints: [:], staysCommitting: false),
            ])
    }

    @Test("pipelined, a full batch stays committing unless it empties a collection; a signal waits for it and stops")
    func pipelinedOverlap() throws {
        var driver = Driver(Self.settings(batchSize: 2, verified: false, pipelined: true))
        try driver.read(Self.insert(1, at: Self.ts(1)))
        try driver.read(
            Self.entry(
                #"{"ts": {"$timestamp": {"t": 2, "i": 1}}, "op": "c", "ns": "shop.$cmd", "o": {"drop": "customers"}}"#))
        try driver.read(Self.insert(3, at: Self.ts(3)))
        try driver.read(Self.insert(4, at: Self.ts(4)))
        driver.signal = 15
        try driver.read(Self.insert(5, at: Self.ts(5)))
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(2)], staysCommitting: false),
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(4)], staysCommitting: true),
                .awaitCommitting, .stop,
            ])
        #expect(driver.batcher.interruptedBy == 15 && driver.batcher.read.entries == 4)
    }

    @Test(
        "verified with overlapsVerified, a catch-up's full batch stays committing; the last batch waits for it and settles"
    )
    func verifiedOverlap() throws {
        var driver = Driver(Self.settings(batchSize: 2, overlapsVerified: true))
        for second in UInt32(1)...5 { try driver.read(Self.insert(Int32(second), at: Self.ts(second))) }
        driver.rememberedAfterCommit = 1
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(2)], staysCommitting: true),
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(4)], staysCommitting: true),
                .awaitCommitting,
                .commit(entries: 1, settle: true, syncPoints: ["rs0": Self.ts(5)], staysCommitting: false),
            ])
    }

    @Test(
        "verified with overlapsVerified: a signal waits for the batch committing; following, no batch stays committing")
    func verifiedOverlapStops() throws {
        var driver = Driver(Self.settings(batchSize: 2, overlapsVerified: true))
        for second in UInt32(1)...2 { try driver.read(Self.insert(Int32(second), at: Self.ts(second))) }
        driver.signal = 15
        try driver.read(Self.insert(3, at: Self.ts(3)))
        try driver.read(Self.insert(4, at: Self.ts(4)))
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(2)], staysCommitting: true),
                .awaitCommitting, .stop,
            ])
        #expect(driver.batcher.interruptedBy == 15 && driver.batcher.read.entries == 2)

        var following = Driver(
            Self.settings(batchSize: 2, follow: FollowSettings(commitSeconds: 60), overlapsVerified: true))
        for second in UInt32(1)...3 { try following.read(Self.insert(Int32(second), at: Self.ts(second))) }
        #expect(
            following.events == [
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(2)], staysCommitting: false)
            ])
    }

    @Test("verified with overlapsVerified: a signal while a batch commits drops the batch read meanwhile, and stops")
    func verifiedOverlapDrops() throws {
        var driver = Driver(Self.settings(batchSize: 2, overlapsVerified: true))
        driver.signalWhileCommitting = 15
        try driver.read(
            Self.entry(
                #"{"ts": {"$timestamp": {"t": 1, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 1}}], "partialTxn": true}}"#
            ))
        try driver.read(Self.insert(2, at: Self.ts(2)))
        try driver.read(
            Self.entry(
                #"{"ts": {"$timestamp": {"t": 3, "i": 1}}, "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 3}}], "count": 2}}"#
            ))
        try driver.read(Self.insert(4, at: Self.ts(4)))
        try driver.read(Self.insert(5, at: Self.ts(5)))
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(1)], staysCommitting: true),
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(4)], staysCommitting: true),
                .dropped, .stop,
            ])
        // As they were after the first batch: two entries, the transaction it began still open.
        #expect(driver.batcher.interruptedBy == 15 && driver.batcher.read.entries == 2)
        #expect(driver.batcher.read.inserts == 1 && driver.batcher.openTransactions.count == 1)
    }

    @Test("a signal stops at the next boundary, the batch before it committed, and the last batch does not settle")
    func signal() throws {
        var driver = Driver(Self.settings(batchSize: 10))
        try driver.read(Self.insert(1, at: Self.ts(1)))
        try driver.read(Self.insert(2, at: Self.ts(2)))
        driver.signal = 2
        try driver.read(Self.insert(3, at: Self.ts(2)))  // same ts: no boundary, joins the batch
        try driver.read(Self.insert(4, at: Self.ts(3)))
        driver.finish()
        #expect(
            driver.events == [
                .commit(entries: 3, settle: false, syncPoints: ["rs0": Self.ts(2)], staysCommitting: false), .stop,
            ])
        #expect(driver.batcher.interruptedBy == 2 && driver.batcher.read.entries == 3)
    }

    @Test("following: a batch is due commitAfter after its first entry; a quiet run heartbeats, settles what is left")
    func follow() throws {
        let follow = FollowSettings(commitSeconds: 2)
        var driver = Driver(Self.settings(batchSize: 100, follow: follow))
        try driver.read(Self.insert(1, at: Self.ts(1)))
        driver.now += .seconds(1)
        driver.quiet()  // not due yet
        try driver.read(Self.insert(2, at: Self.ts(2)))
        driver.now += .seconds(1)
        driver.rememberedAfterCommit = 1  // verification left a document that MongoDB changed later
        driver.quiet()  // due: settles
        #expect(
            driver.events == [
                .commit(entries: 2, settle: true, syncPoints: ["rs0": Self.ts(2)], staysCommitting: false)
            ]
        )
        driver.rememberedAfterCommit = 0
        driver.quiet()  // the one remembered after a settling batch waits for its later entry: no empty batch
        driver.now += follow.quietInterval
        driver.quiet()
        #expect(driver.events.last == .heartbeat)
        driver.sourceEnded = true
        driver.quiet()
        driver.finish()
        #expect(driver.events.suffix(2) == [.heartbeat, .stop])
    }

    @Test("following: documents left unsettled settle in a batch of no entries once caught up, then wait")
    func settlesRemembered() throws {
        var driver = Driver(Self.settings(batchSize: 2, follow: FollowSettings(commitSeconds: 5)), remembered: 3)
        driver.quiet()
        #expect(driver.events == [.commit(entries: 0, settle: true, syncPoints: [:], staysCommitting: false)])
        driver.rememberedAfterCommit = 1  // changed later in MongoDB: waits for the entry that brings the change
        for second in UInt32(1)...3 { try driver.read(Self.insert(Int32(second), at: Self.ts(second))) }
        driver.quiet()
        #expect(driver.events.count == 2, "a batch with entries waits until it is due")
        driver.now += .seconds(5)
        driver.quiet()
        #expect(
            driver.events.suffix(2) == [
                .commit(entries: 2, settle: false, syncPoints: ["rs0": Self.ts(2)], staysCommitting: false),
                .commit(entries: 1, settle: true, syncPoints: ["rs0": Self.ts(3)], staysCommitting: false),
            ])
    }

    @Test("following: a full batch settles once batch_size documents wait, so memory stays bounded")
    func crowded() throws {
        var driver = Driver(Self.settings(batchSize: 2, follow: FollowSettings(commitSeconds: 60)), remembered: 2)
        for second in UInt32(1)...3 { try driver.read(Self.insert(Int32(second), at: Self.ts(second))) }
        #expect(
            driver.events == [
                .commit(entries: 2, settle: true, syncPoints: ["rs0": Self.ts(2)], staysCommitting: false)
            ])
    }

    @Test("documents an earlier run left to verify settle in a batch of no entries that moves no sync point")
    func settlesOnlyRun() {
        var driver = Driver(Self.settings(), remembered: 4)
        driver.finish()
        #expect(driver.events == [.commit(entries: 0, settle: true, syncPoints: [:], staysCommitting: false)])
        var unverified = Driver(Self.settings(verified: false, pipelined: true), remembered: 0)
        unverified.finish()
        #expect(unverified.events.isEmpty)
    }

    @Test("an entry of an unknown form commits the batch before it, unless it shares that batch's ts")
    func refused() throws {
        let unknown = #"{"ts": {"$timestamp": {"t": 5, "i": 1}}, "op": "x", "ns": "shop.customers", "o": {"_id": 9}}"#
        for (shared, expectedCommits) in [(false, 1), (true, 0)] {
            var driver = Driver(Self.settings(batchSize: 10))
            try driver.read(Self.insert(1, at: shared ? Self.ts(5) : Self.ts(4)))
            do {
                try driver.read(Self.entry(unknown))
                Issue.record("an unknown op must be refused")
            } catch let refusal as ReplayBatcher.Refusal {
                driver.perform(refusal.before)
                #expect(refusal.error.ts == Self.ts(5))
            }
            #expect(driver.events.count == expectedCommits)
        }
    }
}
