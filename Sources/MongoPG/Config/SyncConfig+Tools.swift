import Logging

extension SyncConfig {
    /// The `[sync]` settings that shape tables and rows.
    public var flattenSettings: FlattenSettings {
        FlattenSettings(keepExtra: keepExtra, stripNUL: stripNul, tablePrefix: tablePrefix, targetSchema: targetSchema)
    }

    /// Oplog sources by name.
    public var oplogSourceURIs: [String: String] {
        Dictionary(oplogSources.map { ($0.name, $0.uri) }, uniquingKeysWith: { first, _ in first })
    }

    /// A connected PostgreSQL session, the password resolved from `password_env`, `PGPASSWORD` or `~/.pgpass`.
    public func postgresSession(name: String, logger: Logger) async throws -> PostgresSession {
        let session = PostgresSession(name: name, logger: logger)
        try await session.connect(conninfo: postgresConninfo, password: try postgresPassword())
        return session
    }

    /// The state store on a new session, migrated to the current version.
    public func stateStore(logger: Logger) async throws -> StateStore {
        let store = StateStore(session: try await postgresSession(name: "state", logger: logger), schema: stateSchema)
        try await store.migrate()
        return store
    }

    /// The current hash of each configured collection's schema file (a missing file hashes as "missing").
    public var schemaHashes: [Namespace: String] {
        Dictionary(collections.map { ($0, SchemaFile.hash(for: $0, in: schemasDirectory) ?? "missing") }, uniquingKeysWith: { a, _ in a })
    }
}

extension StateStore {
    /// Runs `body` as one ledger run of `tool`: opened before, closed after with the exit status and message.
    public func recordingRun<R>(tool: String, arguments: [String], _ body: (Int64) async throws -> R) async throws -> R {
        let run = try await startRun(tool: tool, arguments: arguments)
        do {
            let result = try await body(run)
            try await finishRun(run: run, status: .ok)
            return result
        } catch {
            try? await finishRun(run: run, status: error.exitStatus, message: "\(error)")
            throw error
        }
    }

    /// Split points shared by every worker of a partitioned read: the first worker computes them (under a lock) and
    /// stores them with the running init load; the others read the same ones, so the slices never overlap or gap
    /// even when the collection changes between the workers' starts.
    public func sharedSplitPoints(collection: Namespace, slices: Int, compute: () async throws -> [BSONValue]) async throws -> [BSONValue] {
        let initLoads = table("init_loads"), splitPoints = table("split_points")
        try await session.begin(purpose: "share split points of \(collection)")
        do {
            try await session.query(
                "SELECT pg_advisory_xact_lock(hashtext('mongo-pg-sync split ' || $1))", parameters: [collection.description],
                purpose: "lock the split points of \(collection)")
            guard let initLoad = try await session.query(
                "SELECT max(id) FROM \(initLoads) WHERE status = 'running'", purpose: "find the running init load").scalar
            else {
                throw LoadError(.usage, "a partitioned read needs a running init load, so every worker cuts the collection at the same _ids: run `etlstatus init-load-start` first")
            }
            let stored = try await session.query(
                "SELECT points FROM \(splitPoints) WHERE init_load_id = $1 AND collection = $2 AND slices = $3",
                parameters: [initLoad, collection.description, String(slices)], purpose: "read the split points of \(collection)")
            let points: [BSONValue]
            if let text = stored.scalar {
                points = try JSONDecoderShim.decode([BSONValue].self, from: text)
            } else {
                points = try await compute()
                try await session.query(
                    "INSERT INTO \(splitPoints) (init_load_id, collection, slices, points) VALUES ($1, $2, $3, $4::jsonb)",
                    parameters: [initLoad, collection.description, String(slices), try JSONDecoderShim.encode(points)],
                    purpose: "store the split points of \(collection)")
            }
            try await session.commit(purpose: "share split points of \(collection)")
            return points
        } catch {
            try? await session.rollback(purpose: "share split points of \(collection)")
            throw error
        }
    }
}
