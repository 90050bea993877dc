/// Schema changes applied in place (DESIGN.md, "Schema files"): which schema each collection's tables were last built
/// or changed with, and what the ledger counted against them since.
extension StateStore {
    /// The schema hash each collection's tables were last built or changed with, by `DB.COLL`, and the init load
    /// that built them (its newest `collection_loads` row since the newest load of everything); nil while that load
    /// of everything is not done (`init-load-status` says why).
    public func recordedSchemaHashes() async throws -> [String: (hash: String, initLoadID: Int64)]? {
        let full = try await session.query(
            "SELECT id, status FROM \(table("init_loads")) WHERE collections IS NULL ORDER BY id DESC LIMIT 1",
            purpose: "read the newest load of everything")
        if let row = full.rows.first, row[1] != RunStatus.ok.rawValue { return nil }
        return try await newestCollectionLoads(since: full.rows.first?[0].flatMap { Int64($0) } ?? 0)
    }

    /// Records that `collection`'s tables now follow the schema file of hash `schemaHash` (a change applied in
    /// place): a `collection_loads` row of the same init load, with the row counts of the load before it, so that
    /// `init-load-status` answers 0 again.
    public func recordSchemaChange(collection: Namespace, schemaHash: String, initLoadID: Int64) async throws {
        let loads = table("collection_loads")
        try await session.query(
            """
            INSERT INTO \(loads) (init_load_id, collection, schema_hash, rows, documents)
            SELECT $1, $2, $3, COALESCE(l.rows, '{}'), COALESCE(l.documents, 0)
            FROM (SELECT 1) AS one LEFT JOIN LATERAL (
                SELECT rows, documents FROM \(loads) WHERE collection = $2 ORDER BY id DESC LIMIT 1
            ) AS l ON true
            """, parameters: [String(initLoadID), collection.description, schemaHash],
            purpose: "record the schema change of \(collection)")
    }

    /// The values oplog-sync runs put into `_extra` or NULL for `collection` since its tables were last built or
    /// changed, by kind then JSON path (the runs' `AbsorbedFieldFigure`s).
    public func absorbedFields(of collection: Namespace) async throws -> [String: [String: Int]] {
        let prefix = "field\t"
        let rows = try await session.query(
            """
            SELECT f.key, sum(f.value::float8)::bigint::text FROM \(table("runs")) r, jsonb_each_text(r.figures) f
            WHERE r.tool = $1 AND f.key LIKE $2 AND r.started_at >= coalesce(
                (SELECT max(loaded_at) FROM \(table("collection_loads")) WHERE collection = $3), '-infinity')
            GROUP BY f.key
            """,
            parameters: [Tool.oplogSync.rawValue, prefix + "%", collection.description],
            purpose: "read the values oplog-sync could not place for \(collection)")
        var fields: [String: [String: Int]] = [:]
        for row in rows.rows {
            guard let key = row[0], let count = row[1].flatMap({ Int($0) }),
                let figure = AbsorbedFieldFigure(key: key), figure.collection == collection.description
            else { continue }
            fields[figure.kind, default: [:]][figure.jsonPath, default: 0] += count
        }
        return fields
    }
}

/// A ledger figure naming one path's count of one kind of absorbed value (`FlattenReport.counts`) in one collection:
/// `field`, the kind, `DB.COLL` and the JSON path, separated by tabs (which kinds and namespaces do not hold; the path
/// is the rest).
struct AbsorbedFieldFigure: Equatable {
    var kind: String
    var collection: String
    var jsonPath: String

    var key: String { ["field", kind, collection, jsonPath].joined(separator: "\t") }

    init(kind: String, collection: String, jsonPath: String) {
        self.kind = kind
        self.collection = collection
        self.jsonPath = jsonPath
    }

    init?(key: String) {
        let parts = key.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "field" else { return nil }
        self.init(kind: String(parts[1]), collection: String(parts[2]), jsonPath: String(parts[3]))
    }
}
