/// What one read of an oplog source says about a position: its two ends and the entries past the position.
public struct OplogWindowSample: Sendable, Equatable {
    public var newest: BSONTimestamp?
    public var oldest: BSONTimestamp?
    /// Entries in the oplog, all of them.
    public var entries: Int
    /// Entries whose `ts` is later than the position.
    public var entriesAfter: Int

    public init(newest: BSONTimestamp?, oldest: BSONTimestamp?, entries: Int, entriesAfter: Int) {
        self.newest = newest
        self.oldest = oldest
        self.entries = entries
        self.entriesAfter = entriesAfter
    }
}

/// Where a source's replay would start: its sync point, or before any oplog-sync run the position the init load
/// recorded (oplog-sync starts from there).
public struct OplogPosition: Sendable, Equatable, Codable {
    /// `collectionStart`: a collection's own start, earlier than the sync point (a load of some collections while
    /// oplog-sync went on): replay reads again from there.
    public enum Origin: String, Sendable, Codable {
        case syncPoint = "sync_point", initLoad = "init_load", collectionStart = "collection_start"

        /// For people.
        var words: String {
            switch self {
            case .syncPoint: "sync point"
            case .initLoad: "init load position"
            case .collectionStart: "collection load position"
            }
        }
    }
    public var ts: BSONTimestamp
    public var origin: Origin

    public init(ts: BSONTimestamp, origin: Origin) {
        self.ts = ts
        self.origin = origin
    }

    /// Why `ts`, a position recorded for `source`, cannot be one the tools wrote: later (by a second or more) than
    /// the source's `newest` position, or negative as the bigint it is stored as. Nil when it is plausible. Such a
    /// position would read nothing, forever, while everything looked in sync.
    public static func implausibility(
        of ts: BSONTimestamp, what: String, source: String, newest: BSONTimestamp
    ) -> String? {
        let stored = Int64(bitPattern: ts.packed)
        if stored < 0 {
            return "the \(what) of \(source), \(stored), is not a valid oplog position (negative)"
        }
        guard ts.seconds > newest.seconds else { return nil }
        return "the \(what) of \(source), \(ts), is later than the source's newest position \(newest)"
    }

    /// How an implausible position is put right.
    static let implausibleRemedy =
        ": no run of the tools wrote it (set by hand, or state restored from another cluster?); "
        + "oplog-sync --resync converges the tables in place and records a new position"

    /// Each source's position: its sync point when it has one, else the init load's position for it.
    public static func positions(
        sources: [String], syncPoints: [String: BSONTimestamp], initLoadPositions: [String: UInt64]
    ) -> [String: OplogPosition] {
        var positions: [String: OplogPosition] = [:]
        for source in sources {
            if let point = syncPoints[source] {
                positions[source] = OplogPosition(ts: point, origin: .syncPoint)
            } else if let packed = initLoadPositions[source] {
                positions[source] = OplogPosition(ts: BSONTimestamp(packed: packed), origin: .initLoad)
            }
        }
        return positions
    }
}

/// One oplog source's lag (`etlstatus lag`): how far its position is behind the oplog's newest position, and how
/// long before the oplog's tail passes it. Pure: computed from a position and a sample of the oplog.
public struct SourceLag: Sendable, Equatable, Codable {
    public var source: String
    public var position: OplogPosition?
    public var newest: BSONTimestamp?
    /// The oplog's window: its oldest entry.
    public var oldest: BSONTimestamp?
    public var windowSeconds: Double?
    /// Seconds between the position and the newest position; 0 when no entry lies past the position.
    public var lagSeconds: Double?
    public var lagEntries: Int?
    /// How long until the oplog's tail passes the position, at the oplog's average write rate (entries in it over
    /// the seconds it spans): the entries at or before the position, divided by that rate. An oplog that is not yet
    /// full drops nothing, so for it this errs short, never long. Nil when no rate can be measured.
    public var timeLeftSeconds: Double?
    /// The oldest entry is later than the position: the oplog no longer reaches back, an init load is needed.
    public var fallenOff: Bool
    /// Why there is nothing to measure (no position for the source).
    public var problem: String?
    /// Why the position cannot be one the tools wrote (`OplogPosition.implausibility`): nothing is measured from it.
    public var implausiblePosition: String?
    /// Why the oplog's window (and the entries past the position) is unknown: a change stream source whose user may
    /// not read the oplog. Never guessed.
    public var windowUnknown: String?

    public init(source: String, position: OplogPosition?, sample: OplogWindowSample) {
        self.source = source
        self.position = position
        newest = sample.newest
        oldest = sample.oldest
        if let newest = sample.newest, let oldest = sample.oldest {
            windowSeconds = Double(newest.seconds) - Double(oldest.seconds)
        }
        guard let position else {
            fallenOff = false
            problem = "no oplog position: no init load recorded one and no \(Tool.oplogSync) run moved a sync point"
            return
        }
        if let newest = sample.newest,
            let implausible = OplogPosition.implausibility(
                of: position.ts, what: position.origin.words, source: source, newest: newest)
        {
            fallenOff = false
            implausiblePosition = implausible + OplogPosition.implausibleRemedy
            return
        }
        fallenOff = sample.oldest.map { $0 > position.ts } ?? false
        lagEntries = sample.entriesAfter
        if sample.entriesAfter == 0 {
            lagSeconds = 0
        } else if let newest = sample.newest {
            lagSeconds = max(0, Double(newest.seconds) - Double(position.ts.seconds))
        }
        if fallenOff {
            timeLeftSeconds = 0
        } else if let windowSeconds, windowSeconds > 0, sample.entries > 0 {
            let older = max(0, sample.entries - sample.entriesAfter)
            timeLeftSeconds = Double(older) * windowSeconds / Double(sample.entries)
        }
    }

    /// A change stream source whose user may not read the oplog: the lag from its position (the cluster time of
    /// the last event applied, or where its stream caught up) to the newest position (`hello`, which needs no
    /// privilege); the window, the entries and the time left stay unknown.
    public init(source: String, position: OplogPosition?, newest: BSONTimestamp?, windowUnknown: String) {
        self.init(
            source: source, position: position,
            sample: OplogWindowSample(newest: newest, oldest: nil, entries: 0, entriesAfter: 0))
        self.windowUnknown = windowUnknown
        windowSeconds = nil
        lagEntries = nil
        timeLeftSeconds = nil
        if implausiblePosition == nil, let position, let newest {
            lagSeconds = newest > position.ts ? Double(newest.seconds) - Double(position.ts.seconds) : 0
        }
    }

    /// For people: why the source needs an init load, or nil.
    public var fallenOffReason: String? {
        guard fallenOff, let position, let oldest else { return nil }
        return "the oplog of \(source) no longer reaches back to its \(position.origin.words) \(position.ts) "
            + "(oldest entry \(oldest))"
    }
}

/// `etlstatus lag`: every oplog source's lag.
public struct LagReport: Sendable, Codable {
    public var sources: [SourceLag]
    public var fallenOff: Bool { sources.contains { $0.fallenOff || $0.position == nil } }

    public init(sources: [SourceLag]) { self.sources = sources }

    enum CodingKeys: String, CodingKey { case sources, fallenOff }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sources, forKey: .sources)
        try container.encode(fallenOff, forKey: .fallenOff)
    }

    public init(from decoder: any Decoder) throws {
        sources = try decoder.container(keyedBy: CodingKeys.self).decode([SourceLag].self, forKey: .sources)
    }

    /// The aligned table people read.
    public var table: String {
        TextTable(
            headers: [
                "SOURCE", "POSITION", "FROM", "NEWEST", "LAG", "ENTRIES", "OLDEST", "WINDOW", "TIME LEFT", "STATE",
            ],
            rows: sources.map { lag in
                [
                    lag.source, lag.position.map { "\($0.ts)" } ?? "-", lag.position?.origin.rawValue ?? "-",
                    lag.newest.map { "\($0)" } ?? "-", TimeSpan.words(lag.lagSeconds),
                    lag.lagEntries.map(String.init) ?? "-",
                    lag.oldest.map { "\($0)" } ?? "-", TimeSpan.words(lag.windowSeconds),
                    TimeSpan.words(lag.timeLeftSeconds),
                    lag.problem != nil
                        ? "no position"
                        : lag.implausiblePosition != nil
                            ? "BAD POSITION"
                            : lag.fallenOff
                                ? "FELL OFF: init load needed" : lag.windowUnknown != nil ? "ok, window unknown" : "ok",
                ]
            }, rightAligned: [5]
        ).text
    }
}
