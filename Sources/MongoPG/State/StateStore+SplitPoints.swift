extension StateStore {
    /// Split points shared by every worker of a partitioned read: the first worker computes them (under a lock) and
    /// stores them with the running init load; the others read the same ones, so the slices never overlap or gap
    /// even when the collection changes between the workers' starts. Without a running init load the workers could
    /// not agree: `StateError.noRunningInitLoad`.
    public func sharedSplitPoints(
        collection: Namespace, slices: Int, compute: () async throws -> [BSONValue]
    ) async throws -> [BSONValue] {
        let initLoads = table("init_loads"), splitPoints = table("split_points")
        return try await session.withAsyncTransaction(purpose: "share split points of \(collection)") {
            try await session.query(
                "SELECT pg_advisory_xact_lock(hashtext('mongo-pg-sync split ' || $1))",
                parameters: [collection.description], purpose: "lock the split points of \(collection)")
            guard
                let initLoad = try await session.query(
                    "SELECT max(id) FROM \(initLoads) WHERE status = \(RunStatus.running.sqlLiteral)",
                    purpose: "find the running init load"
                ).scalar
            else {
                throw StateError(
                    .noRunningInitLoad,
                    "a partitioned read needs a running init load, so every worker cuts the collection at the same "
                        + "_ids: run `\(Tool.etlstatus) init-load-start` first")
            }
            let stored = try await session.query(
                "SELECT points FROM \(splitPoints) WHERE init_load_id = $1 AND collection = $2 AND slices = $3",
                parameters: [initLoad, collection.description, String(slices)],
                purpose: "read the split points of \(collection)")
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
            return points
        }
    }
}
