import MongoPG
import Testing

@Suite("etlstatus check's judging (pure)")
struct CheckReportTests {
    static let loaded = InitLoadStatus(reasons: [], initLoadID: 4, state: .ok)

    static func lag(_ source: String = "rs0", seconds: Double, left: Double?, fallenOff: Bool = false) -> SourceLag {
        let position = BSONTimestamp(seconds: 1_000, increment: 1)
        let oldest = fallenOff ? BSONTimestamp(seconds: 1_001, increment: 0) : BSONTimestamp(seconds: 500, increment: 0)
        let newest = BSONTimestamp(seconds: 1_000 + UInt32(seconds), increment: 0)
        var lag = SourceLag(
            source: source, position: OplogPosition(ts: position, origin: .syncPoint),
            sample: OplogWindowSample(newest: newest, oldest: oldest, entries: 1_000, entriesAfter: 1))
        lag.timeLeftSeconds = fallenOff ? 0 : left
        return lag
    }

    static func run(_ status: RunStatus, exit: Int32?, age: Double = 60, arguments: String = "") -> RunRecord {
        RunRecord(
            id: 9, tool: "oplog-sync", host: "h", pid: 1, arguments: arguments, startedAt: "", finishedAt: nil,
            status: status,
            exitCode: exit, message: status == .error ? "boom" : nil, figures: [:], durationSeconds: 1,
            ageSeconds: age)
    }

    static let thresholds = CheckThresholds(
        warnLag: TimeSpan(seconds: 60), critLag: TimeSpan(seconds: 600), warnWindow: TimeSpan(seconds: 3_600),
        critWindow: TimeSpan(seconds: 600), maxAge: nil)

    static func judge(_ inputs: CheckInputs, _ thresholds: CheckThresholds = thresholds) -> CheckReport {
        CheckReport(judging: inputs, by: thresholds)
    }

    @Test(
        "lag below, between and above the thresholds gives OK, WARNING, CRITICAL",
        arguments: [
            (30, CheckStatus.ok), (61, .warning), (601, .critical),
        ] as [(Double, CheckStatus)])
    func lagThresholds(seconds: Double, expected: CheckStatus) {
        let report = Self.judge(CheckInputs(initLoad: Self.loaded, sources: [Self.lag(seconds: seconds, left: nil)]))
        #expect(report.status == expected, "\(report.line)")
        #expect(report.line.hasPrefix("ETLSTATUS \(expected.label) - "))
        #expect(report.line.contains("rs0_lag_seconds=\(Int(seconds))s;60;600;0"))
    }

    @Test("the time left before a sync point falls off gives WARNING and CRITICAL below the thresholds")
    func window() {
        #expect(
            Self.judge(CheckInputs(initLoad: Self.loaded, sources: [Self.lag(seconds: 0, left: 100)])).status
                == .critical)
        #expect(
            Self.judge(CheckInputs(initLoad: Self.loaded, sources: [Self.lag(seconds: 0, left: 1_000)])).status
                == .warning)
        #expect(
            Self.judge(CheckInputs(initLoad: Self.loaded, sources: [Self.lag(seconds: 0, left: 5_000)])).status == .ok)
    }

    @Test("an init load needed or a sync point fallen off is CRITICAL")
    func critical() {
        let needed = InitLoadStatus(reasons: ["never loaded: no init load has been recorded"])
        #expect(Self.judge(CheckInputs(initLoad: needed, sources: [])).status == .critical)
        let gone = Self.judge(
            CheckInputs(initLoad: Self.loaded, sources: [Self.lag(seconds: 0, left: nil, fallenOff: true)]))
        #expect(gone.status == .critical)
        #expect(gone.line.contains("no longer reaches back"))
    }

    @Test("a source that cannot be read is UNKNOWN, a CRITICAL finding still outweighs it")
    func unknown() {
        let down = CheckInputs(initLoad: Self.loaded, sources: [], sourceErrors: ["rs0": "MongoDB: hello failed"])
        #expect(Self.judge(down).status == .unknown)
        var worse = down
        worse.initLoad = InitLoadStatus(reasons: ["failed"])
        #expect(Self.judge(worse).status == .critical)
        #expect(
            CheckReport.unknown("PostgreSQL: connect failed\nsecond line | x").line
                == "ETLSTATUS UNKNOWN - PostgreSQL: connect failed second line / x")
    }

    @Test(
        "the last oplog-sync run: failed is CRITICAL, locked out is WARNING, late beyond --max-age is CRITICAL; a running one counts from its newest sign of life"
    )
    func lastSync() {
        var inputs = CheckInputs(initLoad: Self.loaded, sources: [], lastSync: Self.run(.error, exit: 65))
        #expect(Self.judge(inputs).status == .critical)
        inputs.lastSync = Self.run(.error, exit: 75)
        #expect(Self.judge(inputs).status == .warning)
        inputs.lastSync = Self.run(.died, exit: nil)
        #expect(Self.judge(inputs).status == .critical)
        inputs.lastSync = Self.run(.ok, exit: 0, age: 120)
        inputs.lastSuccessfulSync = inputs.lastSync
        var thresholds = Self.thresholds
        #expect(Self.judge(inputs, thresholds).status == .ok)
        thresholds.maxAge = TimeSpan(seconds: 60)
        #expect(Self.judge(inputs, thresholds).status == .critical)
        thresholds.maxAge = TimeSpan(seconds: 300)
        #expect(Self.judge(inputs, thresholds).status == .ok)
        inputs.lastSuccessfulSync = nil
        #expect(Self.judge(inputs, thresholds).status == .critical)
        // A following run is measured from its newest batch or heartbeat, not from the end of the last run.
        let follow = "--config sync.ini --follow"
        inputs.lastSync = Self.run(.running, exit: nil, age: 40, arguments: follow)
        #expect(Self.judge(inputs, thresholds).status == .ok)
        #expect(Self.judge(inputs, thresholds).line.contains("running, last heard of"))
        inputs.lastSync = Self.run(.running, exit: nil, age: 400, arguments: follow)
        #expect(Self.judge(inputs, thresholds).status == .critical)
        // A catch-up still running is judged by the last run that ended (here none).
        inputs.lastSync = Self.run(.running, exit: nil, age: 5, arguments: "--config sync.ini")
        #expect(Self.judge(inputs, thresholds).status == .critical)
    }

    @Test(
        "failed oplog-sync runs in a row: counted in the line and in metrics, CRITICAL from --max-failures on; lock-held runs alone from 3"
    )
    func failuresInARow() {
        func runs(_ exits: [Int32?]) -> [RunRecord] {
            exits.map { $0 == 0 ? Self.run(.ok, exit: 0) : Self.run(.error, exit: $0) }
        }
        var inputs = CheckInputs(initLoad: Self.loaded, sources: [])
        inputs.recentSyncs = runs([74, 75, 1, 70, 0, 65])
        inputs.lastSync = inputs.recentSyncs.first
        let four = Self.judge(inputs)
        #expect(four.status == .critical)
        #expect(four.line.contains("failed (exit 74): boom; the newest 4 runs failed in a row"), "\(four.line)")
        let metrics = StatusMetrics.metrics(inputs, lastRuns: []).text
        #expect(metrics.contains("mongo_pg_sync_oplog_sync_failures_in_a_row 4"), "\(metrics)")

        var lenient = Self.thresholds
        lenient.maxFailures = 5
        let below = Self.judge(inputs, lenient)
        #expect(below.status == .warning)
        #expect(below.line.contains("(CRITICAL from --max-failures 5 in a row)"), "\(below.line)")
        lenient.maxFailures = 4
        #expect(Self.judge(inputs, lenient).status == .critical)

        // Runs that found the lock held: try later, until a run holding it looks stuck.
        inputs.recentSyncs = runs([75, 75, 0])
        #expect(Self.judge(inputs).status == .warning)
        inputs.recentSyncs = runs([75, 75, 75, 0])
        let stuck = Self.judge(inputs)
        #expect(stuck.status == .critical)
        #expect(stuck.line.contains("holding the lock; the newest 3 runs failed in a row"), "\(stuck.line)")

        // The newest run ended well: nothing to say, whatever failed before it.
        inputs.recentSyncs = runs([0, 70, 70])
        #expect(Self.judge(inputs).status == .ok)
        #expect(
            StatusMetrics.metrics(inputs, lastRuns: []).text.contains("mongo_pg_sync_oplog_sync_failures_in_a_row 0"))
    }

    @Test("freshness: young enough is OK, too old or empty is CRITICAL, not measurable is UNKNOWN")
    func freshness() {
        func report(_ result: FreshnessResult) -> CheckReport {
            Self.judge(CheckInputs(initLoad: Self.loaded, sources: [], freshness: [result]))
        }
        let young = FreshnessResult(schema: "public", table: "日本", column: "at", maxAgeSeconds: 60, ageSeconds: 5)
        #expect(report(young).status == .ok)
        #expect(report(young).line.contains("'日本.at_age_seconds'=5s;;60;0"))
        var old = young
        old.ageSeconds = 61
        #expect(report(old).status == .critical)
        var empty = young
        empty.ageSeconds = nil
        #expect(report(empty).status == .critical)
        var broken = young
        broken.error = "column \"at\" does not exist"
        #expect(report(broken).status == .unknown)
    }

    static func verification(_ collection: String, divergent: Int64, age: Double) -> VerificationRecord {
        VerificationRecord(
            collection: collection, mode: "sample", runID: 5, documentsChecked: 100, different: divergent, missing: 0,
            extra: 0, unstorable: 0, pending: 0, repaired: 0, divergent: divergent, ageSeconds: age)
    }

    @Test("verification: divergent documents are CRITICAL; with --max-verify-age, old or missing is a WARNING")
    func verifications() {
        var inputs = CheckInputs(initLoad: Self.loaded, sources: [])
        inputs.collections = ["a.x", "a.y"]
        inputs.verifications = [Self.verification("a.x", divergent: 0, age: 30)]
        #expect(Self.judge(inputs).status == .ok)
        #expect(Self.judge(inputs).line.contains("a.x verified 30s ago"), "\(Self.judge(inputs).line)")
        #expect(Self.judge(inputs).line.contains("a.x_divergent_documents=0;;0;0"), "\(Self.judge(inputs).line)")

        var strict = Self.thresholds
        strict.maxVerifyAge = TimeSpan(seconds: 20)
        let late = Self.judge(inputs, strict)
        #expect(late.status == .warning)
        #expect(late.line.contains("a.x: last verified 30s ago > 20s"), "\(late.line)")
        #expect(late.line.contains("a.y: never verified"), "\(late.line)")

        inputs.verifications.append(Self.verification("a.y", divergent: 2, age: 5))
        let divergent = Self.judge(inputs)
        #expect(divergent.status == .critical)
        #expect(divergent.line.contains("a.y: 2 documents differ from MongoDB (verify run 5"), "\(divergent.line)")
    }
}
