import Foundation

/// One configured collection's load, as `etlstatus init-load-status` answers it.
public struct CollectionLoadState: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Its tables hold a load, and its schema file is the one they were built with.
        case loaded
        /// A load of it is running; its earlier tables (if any) stay in sync meanwhile.
        case loading
        /// The newest load meant to load it ended without doing so; its earlier tables (if any) stay in sync.
        case failed
        /// No load has filled its tables yet.
        case notLoaded = "not_loaded"
        /// Its schema file changed since its tables were built.
        case schemaChanged = "schema_changed"
    }

    public var state: State
    /// The init load its tables come from; nil when none did.
    public var initLoadID: Int64?
    /// Whether oplog-sync keeps its tables in sync now: they hold a load, under the schema they were built with.
    public var synced: Bool
    /// What is not right, in words; nil when loaded.
    public var reason: String?

    enum CodingKeys: String, CodingKey { case state, initLoadID = "init_load_id", synced, reason }
}

/// What `etlstatus init-load-status` answers.
public struct InitLoadStatus: Sendable, Codable, Equatable {
    /// Whether a new init load is needed; each reason says why in words.
    public var needed: Bool { !reasons.isEmpty }
    /// Every reason: about the whole copy (`general`), then about single collections.
    public var reasons: [String]
    /// Reasons about the whole copy (never loaded, the newest full init load running or failed): nothing syncs.
    public var general: [String] = []
    /// The newest init load of every collection.
    public var initLoadID: Int64?
    public var state: RunStatus?
    public var startedAt: String?
    public var finishedAt: String?
    /// Oplog position recorded at the start, per oplog source, as `(t << 32) | i`.
    public var positions: [String: UInt64]
    /// Each configured collection's load.
    public var collections: [String: CollectionLoadState] = [:]
    /// Collections loaded once and no longer in `[collections]`: their tables are left as they are, unsynced.
    public var notConfigured: [String] = []

    /// The configured collections oplog-sync keeps in sync now.
    public var synced: [Namespace] {
        general.isEmpty ? collections.filter(\.value.synced).keys.sorted().compactMap { Namespace($0) } : []
    }

    enum CodingKeys: String, CodingKey {
        case reasons, initLoadID = "init_load_id", state, startedAt = "started_at", finishedAt = "finished_at",
            positions, collections, notConfigured = "not_configured"
        case needed
    }

    public init(
        reasons: [String], initLoadID: Int64? = nil, state: RunStatus? = nil, startedAt: String? = nil,
        finishedAt: String? = nil, positions: [String: UInt64] = [:]
    ) {
        self.reasons = reasons
        self.initLoadID = initLoadID
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.positions = positions
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reasons = try container.decode([String].self, forKey: .reasons)
        initLoadID = try container.decodeIfPresent(Int64.self, forKey: .initLoadID)
        state = try container.decodeIfPresent(RunStatus.self, forKey: .state)
        startedAt = try container.decodeIfPresent(String.self, forKey: .startedAt)
        finishedAt = try container.decodeIfPresent(String.self, forKey: .finishedAt)
        positions = try container.decode([String: UInt64].self, forKey: .positions)
        collections = try container.decodeIfPresent([String: CollectionLoadState].self, forKey: .collections) ?? [:]
        notConfigured = try container.decodeIfPresent([String].self, forKey: .notConfigured) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(needed, forKey: .needed)
        try container.encode(reasons, forKey: .reasons)
        try container.encodeIfPresent(initLoadID, forKey: .initLoadID)
        try container.encodeIfPresent(state, forKey: .state)
        try container.encodeIfPresent(startedAt, forKey: .startedAt)
        try container.encodeIfPresent(finishedAt, forKey: .finishedAt)
        try container.encode(positions, forKey: .positions)
        try container.encode(collections, forKey: .collections)
        try container.encode(notConfigured, forKey: .notConfigured)
    }
}

extension StateStore {
    /// Opens a new init load with the oplog position of each source, taken before any document is read. An earlier
    /// init load still marked running is closed as failed: it was abandoned. `collections`: a load of only those
    /// (the others keep their tables, sync points and catalog rows); nil: of everything, which replays from its own
    /// positions, never from a sync point of the old copy.
    @discardableResult
    public func startInitLoad(run: Int64?, positions: [String: BSONTimestamp], collections: [Namespace]? = nil)
        async throws -> Int64
    {
        let initLoads = table("init_loads"), positionsTable = table("init_load_positions")
        let syncPoints = table("sync_points"), pending = table("pending_verifications")
        let starts = table("collection_starts"), open = table("open_transactions")
        let names = try collections.map {
            String(decoding: try JSONEncoder().encode($0.map(\.description)), as: UTF8.self)
        }
        return try await session.withTransaction(purpose: "record the start of an init load") { session in
            try session.query(
                "UPDATE \(initLoads) SET status = \(RunStatus.error.sqlLiteral), finished_at = clock_timestamp() WHERE status = \(RunStatus.running.sqlLiteral)",
                purpose: "close abandoned init loads")
            if names == nil {
                // The new copy is caught up from this load's positions, never from a sync point of the old copy.
                try session.execute("DELETE FROM \(syncPoints)", purpose: "forget the sync points of the previous load")
                try session.execute("DELETE FROM \(starts)", purpose: "forget the collections' own replay starts")
                try session.execute(
                    "DELETE FROM \(pending)", purpose: "forget the documents the old copy left to verify")
                // Replay from this load's positions reads every transaction still open there from its first entry.
                try session.execute("DELETE FROM \(open)", purpose: "forget the transactions the old copy left open")
            }
            let id = try Self.number(
                try session.query(
                    """
                    INSERT INTO \(initLoads) (run_id, collections)
                    VALUES ($1, (SELECT array_agg(name) FROM jsonb_array_elements_text($2::jsonb) AS name)) RETURNING id
                    """,
                    parameters: [run.map(String.init), names], purpose: "record the start of an init load"
                ).scalar, of: "the id of a new init load")
            for (source, timestamp) in positions.sorted(by: { $0.key < $1.key }) {
                try session.query(
                    "INSERT INTO \(positionsTable) (init_load_id, source, oplog_ts) VALUES ($1, $2, $3)",
                    parameters: [String(id), source, String(Int64(bitPattern: timestamp.packed))],
                    purpose: "record the oplog position of \(source)")
            }
            return id
        }
    }

    /// The running init load (the newest one marked running) and the mongo-reader and psql-copy runs since its
    /// start that the ledger still shows running, each as `(run, tool, host, pid, started)`; nil when no init load
    /// is running. Whether their processes still live is the caller's question (`RunRecord.resolvingDied`).
    public func runningInitLoad() async throws
        -> (
            id: Int64, startedAt: String,
            runs: [(run: Int64, tool: String, host: String, pid: Int32, startedAt: String)]
        )?
    {
        let utc = #"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#
        let initLoad = try await session.query(
            """
            SELECT id, to_char(started_at AT TIME ZONE 'UTC', \(utc)) FROM \(table("init_loads"))
            WHERE status = \(RunStatus.running.sqlLiteral) ORDER BY id DESC LIMIT 1
            """, purpose: "find the running init load")
        guard let row = initLoad.rows.first, let id = row[0].flatMap({ Int64($0) }) else { return nil }
        let runs = try await session.query(
            """
            SELECT id, tool, host, pid, to_char(started_at AT TIME ZONE 'UTC', \(utc)) FROM \(table("runs"))
            WHERE status = \(RunStatus.running.sqlLiteral) AND tool IN ($2, $3)
            AND started_at >= (SELECT started_at FROM \(table("init_loads")) WHERE id = $1)
            ORDER BY id
            """, parameters: [String(id), Tool.mongoReader.rawValue, Tool.psqlCopy.rawValue],
            purpose: "find the runs of the running init load")
        return (
            id, row[1] ?? "?",
            runs.rows.compactMap { run in
                guard let number = run[0].flatMap({ Int64($0) }), let tool = run[1], let host = run[2],
                    let pid = run[3].flatMap({ Int32($0) })
                else { return nil }
                return (number, tool, host, pid, run[4] ?? "?")
            }
        )
    }

    /// The running init load's id; `StateError.noRunningInitLoad` naming `purpose` when none is running.
    public func runningInitLoadID(purpose: String) async throws -> Int64 {
        let rows = try await session.query(
            "SELECT max(id) FROM \(table("init_loads")) WHERE status = \(RunStatus.running.sqlLiteral)",
            purpose: "find the running init load"
        )
        guard let id = rows.scalar.flatMap({ Int64($0) }) else {
            throw StateError(
                .noRunningInitLoad,
                "\(purpose) needs a running init load, so every worker cuts the collection at the same _ids and "
                    + "\(Tool.psqlCopy) merges the workers of one init load only: run "
                    + "`\(Tool.etlstatus) init-load-start` first"
            )
        }
        return id
    }

    /// Closes the running init load as ok or failed; there must be one.
    @discardableResult
    public func finishInitLoad(ok: Bool) async throws -> Int64 {
        let rows = try await session.query(
            """
            UPDATE \(table("init_loads")) SET status = $1, finished_at = clock_timestamp()
            WHERE id = (SELECT max(id) FROM \(table("init_loads")) WHERE status = \(RunStatus.running.sqlLiteral)) RETURNING id
            """, parameters: [RunStatus(ended: ok).rawValue], purpose: "record the end of the init load")
        guard let id = rows.scalar.flatMap({ Int64($0) }) else {
            throw StateError(.noRecord, "no init load is running: run `\(Tool.etlstatus) init-load-start` first")
        }
        return id
    }

    /// Records that a collection's tables were (re)loaded, inside the caller's transaction (psql-copy's swap), tied
    /// to the running init load if there is one. When that is a load of some collections, the collection's replay
    /// starts at the load's positions (kept under `positionNames`, per source name): its new tables hold MongoDB's
    /// documents as of then, while the sync points may be earlier (oplog-sync was not running) or later (it went on
    /// syncing the old tables meanwhile).
    public static func recordCollectionLoad(
        on session: isolated PostgresSession, schema: String, collection: Namespace, schemaHash: String,
        documents: Int, rows: [String: Int], run: Int64?, positionNames: [String: String] = [:]
    ) throws {
        let loads = PostgresSQL.qualifiedName(schema: schema, "collection_loads")
        let initLoads = PostgresSQL.qualifiedName(schema: schema, "init_loads")
        let partialPositions = try session.query(
            """
            SELECT p.source, p.oplog_ts FROM \(PostgresSQL.qualifiedName(schema: schema, "init_load_positions")) p
            JOIN \(initLoads) l ON l.id = p.init_load_id
            WHERE l.id = (SELECT max(id) FROM \(initLoads) WHERE status = \(RunStatus.running.sqlLiteral))
            AND l.collections IS NOT NULL ORDER BY p.source
            """, purpose: "read the positions of the running load of some collections")
        for row in partialPositions.rows {
            let source = row[0] ?? ""
            try session.query(
                """
                INSERT INTO \(PostgresSQL.qualifiedName(schema: schema, "collection_starts")) (collection, source, oplog_ts)
                VALUES ($1, $2, $3) ON CONFLICT (collection, source) DO UPDATE SET oplog_ts = excluded.oplog_ts
                """, parameters: [collection.description, positionNames[source] ?? source, row[1]],
                purpose: "set the replay start of \(collection)")
        }
        if !partialPositions.rows.isEmpty {
            try session.query(
                "DELETE FROM \(PostgresSQL.qualifiedName(schema: schema, "pending_verifications")) WHERE collection = $1",
                parameters: [collection.description],
                purpose: "forget what the old tables of \(collection) left to verify")
        }
        try session.query(
            """
            INSERT INTO \(loads) (init_load_id, run_id, collection, schema_hash, rows, documents)
            VALUES ((SELECT max(id) FROM \(initLoads) WHERE status = \(RunStatus.running.sqlLiteral)), $1, $2, $3, $4::jsonb, $5)
            """,
            parameters: [
                run.map(String.init), collection.description, schemaHash, try figuresJSON(rows.mapValues(Double.init)),
                String(documents),
            ],
            purpose: "record the load of \(collection)")
    }

    /// Whether an init load is needed, for the whole copy and for each configured collection (`schemaHashes`: the
    /// current hash of each collection's schema file). The newest load of everything (a full init load) gates all:
    /// running or failed, nothing syncs. After it, each collection counts its newest load, full or of some
    /// collections: its tables hold a load when psql-copy swapped them in (a `collection_loads` row); a load of it
    /// that is running, or ended without loading it, leaves its earlier tables in sync meanwhile.
    public func initLoadStatus(schemaHashes: [Namespace: String]) async throws -> InitLoadStatus {
        let utc = #"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#
        let loadRows = try await session.query(
            """
            SELECT id, status, to_char(started_at AT TIME ZONE 'UTC', \(utc)),
                   to_char(finished_at AT TIME ZONE 'UTC', \(utc)), array_to_json(collections)
            FROM \(table("init_loads"))
            WHERE id >= coalesce((SELECT max(id) FROM \(table("init_loads")) WHERE collections IS NULL), 0)
            ORDER BY id
            """, purpose: "read the init loads since the newest load of everything")
        struct Load {
            var id: Int64
            var status: RunStatus
            var collections: Set<String>?
            func covers(_ collection: Namespace) -> Bool { collections?.contains(collection.description) ?? true }
        }
        var loads: [Load] = []
        for row in loadRows.rows {
            let id = try Self.number(row[0], of: "an init load's id")
            guard let status = row[1].flatMap(RunStatus.init(rawValue:)) else {
                throw StateError(.unexpectedAnswer, "init load \(id) has an unknown status \(row[1] ?? "NULL")")
            }
            let collections = try row[4].map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) }
            loads.append(Load(id: id, status: status, collections: collections.map(Set.init)))
        }
        guard let newest = loads.last, let newestRow = loadRows.rows.last else {
            return InitLoadStatus(reasons: ["never loaded: no init load has been recorded"])
        }
        // The positions a replay starts from when a source has no sync point: those of the load of everything.
        var positions: [String: UInt64] = [:]
        if let full = loads.first, full.collections == nil {
            let positionRows = try await session.query(
                "SELECT source, oplog_ts FROM \(table("init_load_positions")) WHERE init_load_id = $1",
                parameters: [String(full.id)], purpose: "read the init load's oplog positions")
            for position in positionRows.rows {
                let source = position[0] ?? ""
                positions[source] = UInt64(
                    bitPattern: try Self.number(
                        position[1], of: "the oplog position of \(source) in init load \(full.id)"))
            }
        }
        var status = InitLoadStatus(
            reasons: [], initLoadID: newest.id, state: newest.status, startedAt: newestRow[2],
            finishedAt: newestRow[3], positions: positions)
        if let full = loads.first, full.collections == nil, full.status != .ok {
            status.general.append(
                full.status == .running
                    ? "still running: init load \(full.id) started at \(loadRows.rows[0][2] ?? "?") has not finished"
                    : "failed: init load \(full.id) finished with an error")
            status.reasons = status.general
            return status
        }
        let loaded = try await newestCollectionLoads(since: loads.first?.id ?? 0)
        let how =
            "etlstatus init-load-start --collection DB.COLL, then mongo-reader and psql-copy for it, then "
            + "etlstatus init-load-finish ok"
        for (collection, hash) in schemaHashes.sorted(by: { $0.key.description < $1.key.description }) {
            let name = collection.description
            let newestLoad = loads.last { $0.covers(collection) }
            var state: CollectionLoadState
            if let tables = loaded[name] {
                state = CollectionLoadState(state: .loaded, initLoadID: tables.initLoadID, synced: true)
                if let load = newestLoad, load.id > tables.initLoadID, load.status != .ok {
                    state.state = load.status == .running ? .loading : .failed
                    state.reason =
                        load.status == .running
                        ? "loading: init load \(load.id) is loading \(name) (its tables of init load "
                            + "\(tables.initLoadID) stay in sync meanwhile)"
                        : "failed: init load \(load.id) did not load \(name) (its tables of init load "
                            + "\(tables.initLoadID) stay in sync)"
                } else if tables.hash != hash {
                    state = CollectionLoadState(
                        state: .schemaChanged, initLoadID: tables.initLoadID, synced: false,
                        reason: "schema changed for \(name) since init load \(tables.initLoadID)")
                }
            } else if let load = newestLoad, load.status == .running {
                state = CollectionLoadState(
                    state: .loading, synced: false, reason: "loading: init load \(load.id) is loading \(name)")
            } else {
                let by = newestLoad.map { "was not loaded by init load \($0.id)" } ?? "has not been loaded"
                state = CollectionLoadState(
                    state: .notLoaded, synced: false, reason: "not loaded: \(name) \(by); load it with \(how)")
            }
            if let reason = state.reason { status.reasons.append(reason) }
            status.collections[name] = state
        }
        let configured = Set(schemaHashes.keys.map(\.description))
        status.notConfigured = loaded.keys.filter { !configured.contains($0) }.sorted()
        return status
    }

    /// Each collection's newest `collection_loads` row from init load `first` on: the schema hash its tables were
    /// built or last changed with, and the init load that built them.
    func newestCollectionLoads(since first: Int64) async throws -> [String: (hash: String, initLoadID: Int64)] {
        let rows = try await session.query(
            """
            SELECT DISTINCT ON (collection) collection, schema_hash, init_load_id FROM \(table("collection_loads"))
            WHERE init_load_id >= $1 ORDER BY collection, id DESC
            """, parameters: [String(first)], purpose: "read the collections' newest loads")
        var loaded: [String: (hash: String, initLoadID: Int64)] = [:]
        for row in rows.rows {
            guard let name = row[0], let hash = row[1] else { continue }
            loaded[name] = (hash, try Self.number(row[2], of: "the init load of \(name)"))
        }
        return loaded
    }
}
