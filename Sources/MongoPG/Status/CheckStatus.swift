/// `etlstatus check`'s answer in monitoring plugins' language (the exit code is the raw value): the one place the
/// tools do not speak `ExitStatus`.
public enum CheckStatus: Int32, Sendable, Codable, CaseIterable {
    case ok = 0, warning = 1, critical = 2, unknown = 3

    public var label: String {
        switch self {
        case .ok: "OK"
        case .warning: "WARNING"
        case .critical: "CRITICAL"
        case .unknown: "UNKNOWN"
        }
    }

    /// For combining findings: a CRITICAL finding outweighs one that could not be measured, which outweighs a
    /// WARNING.
    var severity: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .unknown: 2
        case .critical: 3
        }
    }

    public static func worst(_ statuses: [CheckStatus]) -> CheckStatus {
        statuses.max { $0.severity < $1.severity } ?? .ok
    }
}

/// The limits `etlstatus check` judges by.
public struct CheckThresholds: Sendable, Equatable {
    public var warnLag: TimeSpan
    public var critLag: TimeSpan
    /// Warn when the time left before a position falls off the oplog is below this.
    public var warnWindow: TimeSpan
    public var critWindow: TimeSpan
    /// When set, the last successful oplog-sync run must have ended within this long.
    public var maxAge: TimeSpan?
    /// When set, every collection must have been verified (`etlstatus verify`) within this long.
    public var maxVerifyAge: TimeSpan?
    /// CRITICAL once this many of the newest oplog-sync runs failed in a row (fewer: WARNING). Runs that found
    /// the lock held count, but those alone are CRITICAL only from `lockedRunsCritical` in a row on.
    public var maxFailures: Int

    public static let defaultWarnLag = TimeSpan(seconds: 300), defaultCritLag = TimeSpan(seconds: 900)
    public static let defaultWarnWindow = TimeSpan(seconds: 3_600), defaultCritWindow = TimeSpan(seconds: 900)
    public static let defaultMaxFailures = 1
    /// Runs in a row that found the lock held (75, "try later") before a run holding it looks stuck: CRITICAL.
    public static let lockedRunsCritical = 3

    public init(
        warnLag: TimeSpan = defaultWarnLag, critLag: TimeSpan = defaultCritLag,
        warnWindow: TimeSpan = defaultWarnWindow,
        critWindow: TimeSpan = defaultCritWindow, maxAge: TimeSpan? = nil, maxVerifyAge: TimeSpan? = nil,
        maxFailures: Int = defaultMaxFailures
    ) {
        self.warnLag = warnLag
        self.critLag = critLag
        self.warnWindow = warnWindow
        self.critWindow = critWindow
        self.maxAge = maxAge
        self.maxVerifyAge = maxVerifyAge
        self.maxFailures = maxFailures
    }
}

/// Everything `check` judges, gathered before judging, so the judging is pure.
public struct CheckInputs: Sendable {
    public var initLoad: InitLoadStatus
    public var sources: [SourceLag]
    /// Sources that could not be read, with the reason.
    public var sourceErrors: [String: String]
    /// The newest oplog-sync run, and the newest that ended well.
    public var lastSync: RunRecord?
    public var lastSuccessfulSync: RunRecord?
    /// The newest oplog-sync runs, newest first (`lastSync` is the first), up to `recentSyncLimit`: for counting
    /// the failures in a row. Empty: `lastSync` alone.
    public var recentSyncs: [RunRecord] = []
    public static let recentSyncLimit = 100

    /// The newest oplog-sync runs, newest first, and those of them that failed or died in a row.
    var syncRuns: (recent: [RunRecord], failedInARow: ArraySlice<RunRecord>) {
        let recent = recentSyncs.isEmpty ? lastSync.map { [$0] } ?? [] : recentSyncs
        return (recent, recent.prefix { $0.status == .error || $0.status == .died })
    }
    public var freshness: [FreshnessResult]
    /// The newest `etlstatus verify` result of each collection.
    public var verifications: [VerificationRecord]
    /// The synced collections (`[collections]`), for `maxVerifyAge`.
    public var collections: [String]

    public init(
        initLoad: InitLoadStatus, sources: [SourceLag], sourceErrors: [String: String] = [:],
        lastSync: RunRecord? = nil,
        lastSuccessfulSync: RunRecord? = nil, freshness: [FreshnessResult] = [],
        verifications: [VerificationRecord] = [], collections: [String] = []
    ) {
        self.initLoad = initLoad
        self.sources = sources
        self.sourceErrors = sourceErrors
        self.lastSync = lastSync
        self.lastSuccessfulSync = lastSuccessfulSync
        self.freshness = freshness
        self.verifications = verifications
        self.collections = collections
    }
}

/// `etlstatus check`'s verdict: one status, the findings behind it, and perfdata.
public struct CheckReport: Sendable, Codable, Equatable {
    public struct Finding: Sendable, Codable, Equatable {
        public var status: CheckStatus
        public var text: String
    }

    /// One perfdata item, `'label'=value[unit];warn;crit;min`.
    public struct PerfDatum: Sendable, Codable, Equatable {
        public var label: String
        public var value: Double
        public var unit: String
        public var warn: Double?
        public var crit: Double?

        public var text: String {
            let plain = label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
            let name = plain ? label : "'" + label.replacingOccurrences(of: "'", with: "''") + "'"
            func number(_ value: Double?) -> String { value.map { RunHistory.number($0.rounded()) } ?? "" }
            return "\(name)=\(number(value))\(unit);\(number(warn));\(number(crit));0"
        }
    }

    public var status: CheckStatus
    public var findings: [Finding]
    public var perfdata: [PerfDatum]

    /// The status line monitoring shows: `ETLSTATUS WARNING - rs0: lag 6m > 5m | rs0_lag_seconds=360s;300;900;0 ...`:
    /// the findings that are not OK, or all of them when everything is.
    public var line: String {
        let shown = status == .ok ? findings : findings.filter { $0.status != .ok }
        let text = shown.map(\.text).joined(separator: "; ")
        let perf = perfdata.map(\.text).joined(separator: " ")
        return "ETLSTATUS \(status.label) - \(text)" + (perf.isEmpty ? "" : " | \(perf)")
    }

    enum CodingKeys: String, CodingKey { case status, label, findings, perfdata }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(status.label, forKey: .label)
        try container.encode(findings, forKey: .findings)
        try container.encode(perfdata, forKey: .perfdata)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = try container.decode(CheckStatus.self, forKey: .status)
        findings = try container.decode([Finding].self, forKey: .findings)
        perfdata = try container.decode([PerfDatum].self, forKey: .perfdata)
    }

    /// A check that could not look at anything (PostgreSQL out of reach, a bad configuration): UNKNOWN, never OK.
    public static func unknown(_ reason: String) -> CheckReport {
        CheckReport(status: .unknown, findings: [Finding(status: .unknown, text: oneLine(reason))], perfdata: [])
    }

    init(status: CheckStatus, findings: [Finding], perfdata: [PerfDatum]) {
        self.status = status
        self.findings = findings
        self.perfdata = perfdata
    }

    /// Judges `inputs` against `thresholds`. Pure.
    public init(judging inputs: CheckInputs, by thresholds: CheckThresholds) {
        var findings: [Finding] = []
        var perfdata: [PerfDatum] = []
        func add(_ status: CheckStatus, _ text: String) {
            findings.append(Finding(status: status, text: oneLine(text)))
        }
        func seconds(_ span: TimeSpan) -> Double { Double(span.seconds) }

        let loading = inputs.initLoad.collections.values.filter { $0.state == .loading || $0.state == .failed }
        if !loading.isEmpty, inputs.initLoad.reasons.count == loading.count {
            // Reloads of some collections whose earlier tables stay in sync: at work, or to try again.
            add(.warning, "init load of some collections: " + inputs.initLoad.reasons.joined(separator: ", "))
        } else if inputs.initLoad.needed {
            add(.critical, "init load needed: " + inputs.initLoad.reasons.joined(separator: ", "))
        } else {
            add(.ok, "init load \(inputs.initLoad.initLoadID ?? 0) ok")
        }

        for (source, reason) in inputs.sourceErrors.sorted(by: { $0.key < $1.key }) {
            add(.unknown, "\(source): cannot read the oplog: \(reason)")
        }
        for lag in inputs.sources {
            if let problem = lag.problem ?? lag.implausiblePosition {
                add(.critical, "\(lag.source): \(problem)")
                continue
            }
            if let reason = lag.fallenOffReason {
                add(.critical, reason + ": init load needed")
            } else if let lagSeconds = lag.lagSeconds {
                let text =
                    "\(lag.source): lag \(TimeSpan.words(lagSeconds))"
                    + (lag.lagEntries.map { " (\($0) entries)" } ?? " (window unknown: \(lag.windowUnknown ?? "-"))")
                if lagSeconds > seconds(thresholds.critLag) {
                    add(.critical, text + " > \(thresholds.critLag)")
                } else if lagSeconds > seconds(thresholds.warnLag) {
                    add(.warning, text + " > \(thresholds.warnLag)")
                } else {
                    add(.ok, text)
                }
            }
            if !lag.fallenOff, let left = lag.timeLeftSeconds {
                let text = "\(lag.source): window left \(TimeSpan.words(left))"
                if left < seconds(thresholds.critWindow) {
                    add(.critical, text + " < \(thresholds.critWindow)")
                } else if left < seconds(thresholds.warnWindow) {
                    add(.warning, text + " < \(thresholds.warnWindow)")
                }
            }
            let name = lag.source
            if let lagSeconds = lag.lagSeconds {
                perfdata.append(
                    PerfDatum(
                        label: "\(name)_lag_seconds", value: lagSeconds, unit: "s",
                        warn: seconds(thresholds.warnLag), crit: seconds(thresholds.critLag)))
            }
            if let entries = lag.lagEntries {
                perfdata.append(PerfDatum(label: "\(name)_lag_entries", value: Double(entries), unit: ""))
            }
            if let left = lag.timeLeftSeconds {
                perfdata.append(
                    PerfDatum(
                        label: "\(name)_window_left_seconds", value: left, unit: "s",
                        warn: seconds(thresholds.warnWindow), crit: seconds(thresholds.critWindow)))
            }
        }

        if let (status, text) = Self.failedSyncs(inputs, maxFailures: thresholds.maxFailures) { add(status, text) }
        if let maxAge = thresholds.maxAge {
            // A following run is as young as its newest batch or heartbeat (it says it is alive and reading; whether
            // it keeps up is the lag's to say). A catch-up still running is judged by the last run that ended.
            let running = inputs.lastSync.flatMap { $0.status == .running && $0.isFollowing ? $0 : nil }
            if let run = running ?? inputs.lastSuccessfulSync {
                let late = run.ageSeconds > seconds(maxAge)
                let text =
                    running != nil
                    ? "\(Tool.oplogSync) run \(run.id) running, last heard of \(TimeSpan.words(run.ageSeconds)) ago"
                    : "last successful \(Tool.oplogSync) run \(run.id) ended \(TimeSpan.words(run.ageSeconds)) ago"
                add(late ? .critical : .ok, text + (late ? " > \(maxAge)" : ""))
                perfdata.append(
                    PerfDatum(label: "sync_age_seconds", value: run.ageSeconds, unit: "s", crit: seconds(maxAge)))
            } else {
                add(.critical, "no successful \(Tool.oplogSync) run recorded (--max-age \(maxAge))")
            }
        }

        for check in inputs.freshness {
            let limit = TimeSpan(seconds: check.maxAgeSeconds)
            if let error = check.error {
                add(.unknown, "\(check.name): cannot measure freshness: \(error)")
            } else if let age = check.ageSeconds {
                let text = "\(check.name) \(TimeSpan.words(age)) old"
                add(
                    age > Double(check.maxAgeSeconds) ? .critical : .ok,
                    text + (age > Double(check.maxAgeSeconds) ? " > \(limit)" : ""))
                perfdata.append(
                    PerfDatum(
                        label: "\(check.name)_age_seconds", value: age, unit: "s",
                        crit: Double(check.maxAgeSeconds)))
            } else {
                add(.critical, "\(check.name): no rows, so no freshness")
            }
        }

        let verified = Dictionary(inputs.verifications.map { ($0.collection, $0) }, uniquingKeysWith: { a, _ in a })
        for collection in Set(inputs.collections).union(verified.keys).sorted() {
            guard let record = verified[collection] else {
                if let limit = thresholds.maxVerifyAge {
                    add(.warning, "\(collection): never verified (--max-verify-age \(limit))")
                }
                continue
            }
            let age = record.ageSeconds ?? 0
            if record.divergent > 0 {
                add(
                    .critical,
                    "\(collection): \(record.divergent) \(record.divergent == 1 ? "document differs" : "documents differ") "
                        + "from MongoDB (verify run "
                        + "\(record.runID.map(String.init) ?? "?"), \(TimeSpan.words(age)) ago)")
            } else if let limit = thresholds.maxVerifyAge, age > seconds(limit) {
                add(.warning, "\(collection): last verified \(TimeSpan.words(age)) ago > \(limit)")
            } else {
                add(.ok, "\(collection) verified \(TimeSpan.words(age)) ago")
            }
            perfdata.append(
                PerfDatum(
                    label: "\(collection)_divergent_documents", value: Double(record.divergent), unit: "", crit: 0))
        }

        self.init(status: CheckStatus.worst(findings.map(\.status)), findings: findings, perfdata: perfdata)
    }
}

extension CheckReport {
    /// The newest oplog-sync runs that failed (or died) in a row, judged: nil when the newest did not fail.
    static func failedSyncs(_ inputs: CheckInputs, maxFailures: Int) -> (CheckStatus, String)? {
        let (recent, failed) = inputs.syncRuns
        guard let run = failed.first else { return nil }
        let locked = failed.allSatisfy { $0.status == .error && $0.exitCode == ExitStatus.locked.rawValue }
        var text: String
        switch run.status {
        case .died: text = "last \(Tool.oplogSync) run \(run.id) died (pid \(run.pid) on \(run.host) is gone)"
        case _ where run.exitCode == ExitStatus.locked.rawValue:
            text = "last \(Tool.oplogSync) run \(run.id) found another run holding the lock"
        default:
            text =
                "last \(Tool.oplogSync) run \(run.id) failed (exit \(run.exitCode.map(String.init) ?? "?"))"
                + (run.message.map { ": \($0)" } ?? "")
        }
        if failed.count > 1 {
            let more = failed.count == recent.count && recent.count >= CheckInputs.recentSyncLimit ? " or more" : ""
            text += "; the newest \(failed.count)\(more) runs failed in a row"
        }
        let critical =
            locked
            ? failed.count >= max(maxFailures, CheckThresholds.lockedRunsCritical) : failed.count >= maxFailures
        if !critical, !locked { text += " (CRITICAL from --max-failures \(maxFailures) in a row)" }
        return (critical ? .critical : .warning, text)
    }
}

/// Text for a one-line status: newlines become spaces, and `|` (which starts perfdata) becomes `/`.
func oneLine(_ text: String) -> String {
    String(text.map { $0 == "|" ? "/" : $0.isNewline ? " " : $0 })
}
