/// What `etlstatus init-load-status` answers.
public struct InitLoadStatus: Sendable, Codable, Equatable {
    /// Whether a new init load is needed; each reason says why in words.
    public var needed: Bool { !reasons.isEmpty }
    public var reasons: [String]
    public var initLoadID: Int64?
    public var state: RunStatus?
    public var startedAt: String?
    public var finishedAt: String?
    /// Oplog position recorded at the start, per oplog source, as `(t << 32) | i`.
    public var positions: [String: UInt64]

    enum CodingKeys: String, CodingKey {
        case reasons, initLoadID = "init_load_id", state, startedAt = "started_at", finishedAt = "finished_at",
            positions
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
    }
}

extension StateStore {
    /// Opens a new init load with the oplog position of each source, taken before any document is read. An earlier
    /// init load still marked running is closed as failed: it was abandoned.
    @discardableResult
    public func startInitLoad(run: Int64?, positions: [String: BSONTimestamp]) async throws -> Int64 {
        let initLoads = table("init_loads"), positionsTable = table("init_load_positions")
        let syncPoints = table("sync_points"), pending = table("pending_verifications")
        return try await session.withTransaction(purpose: "record the start of an init load") { session in
            try session.query(
                "UPDATE \(initLoads) SET status = \(RunStatus.error.sqlLiteral), finished_at = clock_timestamp() WHERE status = \(RunStatus.running.sqlLiteral)",
                purpose: "close abandoned init loads")
            // The new copy is caught up from this load's positions, never from a sync point of the old copy.
            try session.execute("DELETE FROM \(syncPoints)", purpose: "forget the sync points of the previous load")
            try session.execute("DELETE FROM \(pending)", purpose: "forget the documents the old copy left to verify")
            let id = try Self.number(
                try session.query(
                    "INSERT INTO \(initLoads) (run_id) VALUES ($1) RETURNING id", parameters: [run.map(String.init)],
                    purpose: "record the start of an init load"
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
    /// to the running init load if there is one.
    public static func recordCollectionLoad(
        on session: isolated PostgresSession, schema: String, collection: Namespace, schemaHash: String,
        documents: Int, rows: [String: Int], run: Int64?
    ) throws {
        let loads = PostgresSQL.qualifiedName(schema: schema, "collection_loads")
        let initLoads = PostgresSQL.qualifiedName(schema: schema, "init_loads")
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

    /// Whether an init load is needed: never done, failed, still running, a configured collection not loaded in the
    /// newest init load, or its schema file changed since (`schemaHashes`: the current hash of each collection's file).
    public func initLoadStatus(schemaHashes: [Namespace: String]) async throws -> InitLoadStatus {
        let newest = try await session.query(
            """
            SELECT id, status, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM \(table("init_loads")) ORDER BY id DESC LIMIT 1
            """, purpose: "read the newest init load")
        guard let row = newest.rows.first, let id = row[0].flatMap({ Int64($0) }) else {
            return InitLoadStatus(reasons: ["never loaded: no init load has been recorded"])
        }
        let positionRows = try await session.query(
            "SELECT source, oplog_ts FROM \(table("init_load_positions")) WHERE init_load_id = $1",
            parameters: [String(id)], purpose: "read the init load's oplog positions")
        var positions: [String: UInt64] = [:]
        for position in positionRows.rows {
            let source = position[0] ?? ""
            positions[source] = UInt64(
                bitPattern: try Self.number(position[1], of: "the oplog position of \(source) in init load \(id)"))
        }
        let state = try Self.status(row[1], of: "init load \(id)")
        var status = InitLoadStatus(
            reasons: [], initLoadID: id, state: state, startedAt: row[2], finishedAt: row[3], positions: positions)
        switch state {
        case .running:
            status.reasons.append("still running: init load \(id) started at \(row[2] ?? "?") has not finished")
        case .error: status.reasons.append("failed: init load \(id) finished with an error")
        default:
            let loads = try await session.query(
                """
                SELECT DISTINCT ON (collection) collection, schema_hash FROM \(table("collection_loads"))
                WHERE init_load_id = $1 ORDER BY collection, id DESC
                """, parameters: [String(id)], purpose: "read the collections of the init load")
            var loaded: [String: String] = [:]
            for load in loads.rows { if let name = load[0], let hash = load[1] { loaded[name] = hash } }
            for (collection, hash) in schemaHashes.sorted(by: { $0.key.description < $1.key.description }) {
                guard let recorded = loaded[collection.description] else {
                    status.reasons.append("not loaded: \(collection) was not loaded by init load \(id)")
                    continue
                }
                if recorded != hash { status.reasons.append("schema changed for \(collection) since init load \(id)") }
            }
        }
        return status
    }
}
