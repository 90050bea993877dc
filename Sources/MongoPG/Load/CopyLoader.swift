import Foundation
import Logging

/// What psql-copy needs to load one collection.
public struct LoadRequest: Sendable {
    public var namespace: Namespace
    public var csvDirectory: String
    public var schemasDirectory: String
    public var settings: FlattenSettings
    public var stateSchema: String
    public var conninfo: String
    public var password: String?
    /// Parallel COPY sessions.
    public var jobs: Int
    public var arguments: [String]

    public init(namespace: Namespace, csvDirectory: String, schemasDirectory: String, settings: FlattenSettings,
                stateSchema: String, conninfo: String, password: String?, jobs: Int = 2, arguments: [String] = []) {
        self.namespace = namespace
        self.csvDirectory = csvDirectory
        self.schemasDirectory = schemasDirectory
        self.settings = settings
        self.stateSchema = stateSchema
        self.conninfo = conninfo
        self.password = password
        self.jobs = jobs
        self.arguments = arguments
    }
}

/// What psql-copy reports.
public struct LoadSummary: Sendable, Codable, Equatable {
    public var collection: String
    public var documents: Int
    public var rows: [String: Int]
    public var seconds: Double
    public var run: Int64

    public var line: String {
        "\(collection): \(documents) documents, \(rows.values.reduce(0, +)) rows in \(rows.count) tables loaded in \(String(format: "%.2f", seconds)) s (run \(run))"
    }
}

/// psql-copy: loads the parts mongo-reader wrote into staging tables with COPY (in parallel), checks each part's
/// row count, builds primary keys, then in one transaction swaps the staging tables in place of the live ones and
/// writes the catalog and the load record. Any failure before the commit leaves the live tables as they were; a
/// rerun drops the staging tables a crashed run left behind.
public struct CopyLoader: Sendable {
    public let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func load(_ request: LoadRequest) async throws -> LoadSummary {
        let clock = ContinuousClock(), started = clock.now
        let namespace = request.namespace
        // Files first: nothing touches PostgreSQL until the folder is known to be whole and of this schema.
        let folder = CollectionFolder(csvDirectory: request.csvDirectory, namespace: namespace)
        let manifest = try folder.finishedManifest()
        let schema = try SchemaFile(namespace: namespace, schemasDirectory: request.schemasDirectory, settings: request.settings)
        guard manifest.schemaHash == schema.hash else {
            throw LoadError(.schemaMismatch,
                "\(schema.path) changed since mongo-reader wrote \(folder.url.path) (hash \(schema.hash), manifest \(manifest.schemaHash)): read the collection again")
        }
        guard manifest.tables.map(\.name) == schema.plan.tables.map(\.name) else {
            throw LoadError(.schemaMismatch, "the manifest's tables do not match the schema's plan for \(namespace)")
        }
        try folder.verify(manifest)
        logger.info("manifest verified", metadata: [LogKey.namespace: "\(namespace)", "parts": "\(manifest.tables.reduce(0) { $0 + $1.parts.count })"])

        let session = PostgresSession(name: "load", logger: logger)
        try await session.connect(conninfo: request.conninfo, password: request.password)
        let store = StateStore(session: session, schema: request.stateSchema)
        try await store.migrate()
        try await session.tryAdvisoryLock(key: SyncLock.key(stateSchema: request.stateSchema), purpose: "lock the sync for loading \(namespace)")
        let run = try await store.startRun(tool: "psql-copy", arguments: request.arguments)
        do {
            let rows = try await load(manifest, schema: schema, folder: folder, request: request, store: store, run: run)
            let seconds = (clock.now - started).seconds
            try await store.finishRun(run: run, status: .ok, figures: ["documents": Double(manifest.documents), "rows": Double(rows.values.reduce(0, +)), "seconds": seconds])
            try await session.advisoryUnlock(key: SyncLock.key(stateSchema: request.stateSchema), purpose: "unlock the sync")
            return LoadSummary(collection: namespace.description, documents: manifest.documents, rows: rows, seconds: seconds, run: run)
        } catch {
            try? await store.finishRun(run: run, status: error.exitStatus, message: "\(error)")
            throw error
        }
    }

    /// The staging schema of a collection's load: one per collection, so loads of different collections never meet.
    static func stagingSchema(stateSchema: String, namespace: Namespace) -> String {
        Identifier.sanitised("\(stateSchema)_load_\(String(format: "%08x", Identifier.fnv1a32(namespace.description.utf8)))")
    }

    private func load(_ manifest: Manifest, schema: SchemaFile, folder: CollectionFolder, request: LoadRequest,
                      store: StateStore, run: Int64) async throws -> [String: Int] {
        let plan = schema.plan, session = store.session, namespace = request.namespace
        let staging = Self.stagingSchema(stateSchema: request.stateSchema, namespace: namespace)
        let quotedStaging = PostgresSQL.quoteIdentifier(staging)
        let clock = ContinuousClock()

        var step = clock.now
        try await session.execute(
            "DROP SCHEMA IF EXISTS \(quotedStaging) CASCADE; CREATE SCHEMA \(quotedStaging)",
            purpose: "prepare the staging schema for \(namespace) (dropping what a crashed run left)")
        for table in plan.tables {
            try await session.execute(plan.createStatement(table, inSchema: staging, withPrimaryKey: false), purpose: "create staging table \(table.name)")
        }

        // COPY every part, several sessions at once; each part's count must match the manifest.
        let work = manifest.tables.enumerated().flatMap { index, table in table.parts.map { (table: index, part: $0) } }
        let queue = WorkQueue(work)
        let sessions = max(1, min(request.jobs, work.count))
        let counts = try await withThrowingTaskGroup(of: [String: Int].self) { group in
            for worker in 0..<sessions {
                group.addTask {
                    let copier = PostgresSession(name: "copy\(worker)", logger: logger)
                    try await copier.connect(conninfo: request.conninfo, password: request.password)
                    var counts: [String: Int] = [:]
                    while let item = await queue.next() {
                        let table = plan.tables[item.table]
                        let path = folder.url.appendingPathComponent(item.part.file).path
                        let loaded = try await copier.copyIn(
                            schema: staging, table: table.name, columns: table.columns.map(\.name),
                            purpose: "load \(item.part.file) into staging table \(table.name)", fromFile: path)
                        guard loaded == item.part.rows else {
                            throw LoadError(.rowCountMismatch, "\(item.part.file): PostgreSQL loaded \(loaded) rows, the manifest promises \(item.part.rows)")
                        }
                        counts[table.name, default: 0] += loaded
                        await TestHooks.hold(at: "copy")
                    }
                    await copier.close()
                    return counts
                }
            }
            var total: [String: Int] = [:]
            for try await counts in group { total.merge(counts, uniquingKeysWith: +) }
            return total
        }
        try await store.addStep(run: run, step: "copy", figures: ["rows": Double(counts.values.reduce(0, +)), "seconds": (clock.now - step).seconds])

        // Keys after the data: one index build instead of one insert per row. A duplicate key fails here.
        step = clock.now
        for table in plan.tables {
            try await session.execute(plan.primaryKeyStatement(table, inSchema: staging), purpose: "build the primary key of \(table.name)")
        }
        try await session.execute(
            "ANALYZE " + plan.tables.map { PostgresSQL.qualifiedName(schema: staging, $0.name) }.joined(separator: ", "),
            purpose: "analyze the staging tables")
        try await store.addStep(run: run, step: "index", figures: ["seconds": (clock.now - step).seconds])

        step = clock.now
        await TestHooks.hold(at: "swap")
        try await swap(plan: plan, staging: staging, manifest: manifest, schemaHash: schema.hash, counts: counts, store: store, run: run)
        try await store.addStep(run: run, step: "swap", figures: ["seconds": (clock.now - step).seconds])
        return counts
    }

    /// One transaction: drop the live tables (and tables an earlier schema had), move the staging tables in, replace
    /// the catalog rows, record the load. Until COMMIT, readers see the old tables; after it, the new ones.
    private func swap(plan: TablePlan, staging: String, manifest: Manifest, schemaHash: String, counts: [String: Int],
                      store: StateStore, run: Int64) async throws {
        let target = plan.settings.targetSchema, stateSchema = store.schema, collection = plan.namespace.description
        let catalogTables = store.table("catalog_tables"), catalogColumns = store.table("catalog_columns")
        let tables = plan.catalogTables, columns = plan.catalogColumns, names = plan.tables.map(\.name)
        let namespace = plan.namespace, documents = manifest.documents
        try await store.session.withTransaction(purpose: "swap the new tables of \(collection) in") { session in
            try session.execute("SET LOCAL lock_timeout = '60s'", purpose: "bound the wait for readers of the live tables")
            try session.execute("CREATE SCHEMA IF NOT EXISTS \(PostgresSQL.quoteIdentifier(target))", purpose: "create the target schema")
            let previous = try session.query(
                "SELECT table_name FROM \(catalogTables) WHERE collection = $1", parameters: [collection],
                purpose: "read the tables of the previous load").column("table_name")?.compactMap { $0 } ?? []
            // No foreign keys join the tables, so the order does not matter; a user's view on one makes DROP fail and
            // the whole swap roll back, which is the right answer.
            for name in Set(previous).union(names).sorted() {
                try session.execute("DROP TABLE IF EXISTS \(PostgresSQL.qualifiedName(schema: target, name))", purpose: "drop the old table \(name)")
            }
            for name in names {
                try session.execute(
                    "ALTER TABLE \(PostgresSQL.qualifiedName(schema: staging, name)) SET SCHEMA \(PostgresSQL.quoteIdentifier(target))",
                    purpose: "move the new table \(name) in")
            }
            try session.query("DELETE FROM \(catalogColumns) WHERE collection = $1", parameters: [collection], purpose: "clear the old catalog columns")
            try session.query("DELETE FROM \(catalogTables) WHERE collection = $1", parameters: [collection], purpose: "clear the old catalog tables")
            for table in tables {
                try session.query(
                    "INSERT INTO \(catalogTables) (collection, table_name, parent_table, json_path, depth) VALUES ($1, $2, $3, $4, $5)",
                    parameters: [table.collection, table.table, table.parentTable, table.jsonPath, String(table.arrayDepth)],
                    purpose: "write the catalog of \(table.table)")
            }
            for column in columns {
                try session.query(
                    """
                    INSERT INTO \(catalogColumns) (collection, table_name, column_name, ordinal, json_path, bson_type, sql_type, parent_table, role)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                    """,
                    parameters: [column.collection, column.table, column.column, String(column.position), column.jsonPath,
                                 column.bsonType, column.sqlType, column.parentTable, column.role],
                    purpose: "write the catalog of \(column.table).\(column.column)")
            }
            try StateStore.recordCollectionLoad(
                on: session, schema: stateSchema, collection: namespace, schemaHash: schemaHash, documents: documents, rows: counts, run: run)
            try session.execute("DROP SCHEMA \(PostgresSQL.quoteIdentifier(staging))", purpose: "drop the empty staging schema")
        }
    }
}

/// Hands out work items one at a time to concurrent workers.
actor WorkQueue<Item: Sendable> {
    private var items: [Item]
    init(_ items: [Item]) { self.items = items.reversed() }
    func next() -> Item? { items.popLast() }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
