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
    /// Load the parts while mongo-reader still writes them (`--follow-reader`).
    public var followReader = false
    /// `--follow-reader`: how long to wait for a reader to start, and for a running one to write anything.
    public var waitSeconds = 300

    public init(
        namespace: Namespace, csvDirectory: String, schemasDirectory: String, settings: FlattenSettings,
        stateSchema: String, conninfo: String, password: String?, jobs: Int = 2, arguments: [String] = []
    ) {
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
        let folder = CollectionFolder(csvDirectory: request.csvDirectory, namespace: namespace)
        let schema = try SchemaFile(
            namespace: namespace, schemasDirectory: request.schemasDirectory, settings: request.settings)
        // Files first: nothing touches PostgreSQL until the folder is known to be whole and of this schema (or, when
        // following a reader, until the reader is found and reads with this schema).
        var followed: ReaderStatus?, verified: Manifest?
        if request.followReader {
            followed = try await readerToFollow(folder, schema: schema, request: request)
        } else {
            let manifest = try folder.finishedManifest()
            try Self.check(manifest, matches: schema, folder: folder)
            try folder.verify(manifest)
            logger.info(
                "manifest verified",
                metadata: [
                    LogKey.namespace: "\(namespace)", "parts": "\(manifest.tables.reduce(0) { $0 + $1.parts.count })",
                ])
            verified = manifest
        }

        let session = PostgresSession(name: "load", logger: logger)
        try await session.connect(conninfo: request.conninfo, password: request.password)
        let store = StateStore(session: session, schema: request.stateSchema)
        try await store.migrate()
        try await store.takeSyncLock(for: "loading \(namespace)")
        let summary = try await LedgerRun.recording(
            tool: "psql-copy", arguments: request.arguments, in: store,
            totals: {
                ["documents": Double($0.documents), "rows": Double($0.rows.values.reduce(0, +)), "seconds": $0.seconds]
            }
        ) { run in
            let (manifest, rows) = try await load(
                verified, following: followed, schema: schema, folder: folder, request: request, session: session,
                store: store, run: run)
            // So that a later --follow-reader waits for a new read rather than loading this one again.
            if let reader = followed ?? ReaderStatus.read(in: folder.url), reader.startedAt == manifest.startedAt {
                try? LoadedMark(run: reader.run, loadedAt: timestampNow()).write(in: folder.url)
            }
            return LoadSummary(
                collection: namespace.description, documents: manifest.documents, rows: rows,
                seconds: (clock.now - started).seconds, run: run.id)
        }
        try await store.releaseSyncLock()
        return summary
    }

    /// The manifest was written with `schema`, and names the tables its plan makes.
    static func check(_ manifest: Manifest, matches schema: SchemaFile, folder: CollectionFolder) throws(LoadError) {
        guard manifest.schemaHash == schema.hash else {
            throw LoadError(
                .schemaMismatch,
                "\(schema.path) changed since mongo-reader wrote \(folder.url.path) (hash \(schema.hash), manifest \(manifest.schemaHash)): read the collection again"
            )
        }
        guard manifest.tables.map(\.name) == schema.plan.tables.map(\.name) else {
            throw LoadError(
                .schemaMismatch, "the manifest's tables do not match the schema's plan for \(folder.namespace)")
        }
    }

    /// Memory for one session's key sort: PostgreSQL's default of 64 MB makes a key build of a few million rows
    /// spill to disk. Up to `jobs` builds may run at once, so they share 512 MB (256 MB each with the default two
    /// jobs); a session is only ever raised, so a server configured higher keeps its own setting.
    static func raiseMaintenanceMemory(jobs: Int) -> String {
        let kilobytes = 512 * 1024 / max(1, jobs)
        return """
            SELECT set_config('maintenance_work_mem', '\(kilobytes)kB', false) FROM pg_settings
            WHERE name = 'maintenance_work_mem' AND setting::bigint < \(kilobytes)
            """
    }

    /// The primary key of a loaded staging table, then its statistics (so the first queries after the swap plan well).
    private static func buildKey(
        of table: PlannedTable, in staging: String, plan: TablePlan, jobs: Int, on session: PostgresSession
    ) async throws {
        try await session.execute(
            raiseMaintenanceMemory(jobs: jobs), purpose: "give the key build of \(table.name) memory to sort in")
        try await session.execute(
            plan.primaryKeyStatement(table, inSchema: staging), purpose: "build the primary key of \(table.name)")
        try await session.execute(
            "ANALYZE \(PostgresSQL.qualifiedName(schema: staging, table.name))", purpose: "analyze \(table.name)")
    }

    /// Runs `body` for every item on up to `request.jobs` connections of their own, handing items out one at a time
    /// in order; returns every result. The first failure cancels the rest and is rethrown.
    private func onParallelSessions<Item: Sendable, Result: Sendable>(
        _ items: [Item], named name: String, request: LoadRequest,
        _ body: @escaping @Sendable (PostgresSession, Item) async throws -> Result
    ) async throws -> [Result] {
        let queue = WorkQueue(items), logger = logger
        return try await withThrowingTaskGroup(of: [Result].self) { group in
            for worker in 0..<max(1, min(request.jobs, items.count)) {
                group.addTask {
                    let session = PostgresSession(name: "\(name)\(worker)", logger: logger)
                    try await session.connect(conninfo: request.conninfo, password: request.password)
                    var results: [Result] = []
                    while let item = await queue.next() { results.append(try await body(session, item)) }
                    await session.close()
                    return results
                }
            }
            var all: [Result] = []
            for try await results in group { all += results }
            return all
        }
    }

    /// The staging schema of a collection's load: one per collection, so loads of different collections never meet.
    static func stagingSchema(stateSchema: String, namespace: Namespace) -> String {
        Identifier.sanitised("\(stateSchema)_load_\(String(format: "%08x", FNV1a.hash32(namespace.description.utf8)))")
    }

    /// Loads `verified` (a manifest whose parts were checked), or the read of the reader `following`; then swaps.
    private func load(
        _ verified: Manifest?, following reader: ReaderStatus?, schema: SchemaFile, folder: CollectionFolder,
        request: LoadRequest, session: PostgresSession, store: StateStore, run: LedgerRun
    ) async throws -> (Manifest, [String: Int]) {
        let plan = schema.plan, namespace = request.namespace
        let staging = Self.stagingSchema(stateSchema: request.stateSchema, namespace: namespace)
        let quotedStaging = PostgresSQL.quoteIdentifier(staging)
        let clock = ContinuousClock()

        var step = clock.now
        try await session.execute(
            "DROP SCHEMA IF EXISTS \(quotedStaging) CASCADE; CREATE SCHEMA \(quotedStaging)",
            purpose: "prepare the staging schema for \(namespace) (dropping what a crashed run left)")
        for table in plan.tables {
            // Following a reader, rows arrive while it reads: keys are kept as they come (rows arrive nearly in key
            // order), so that only ANALYZE is left when the read ends.
            try await session.execute(
                plan.createStatement(table, inSchema: staging, withPrimaryKey: reader != nil),
                purpose: "create staging table \(table.name)")
        }
        if let reader {
            let (manifest, counts) = try await followAndCopy(
                reader, folder: folder, plan: plan, staging: staging, request: request
            ) {
                _ = try await onParallelSessions(plan.tables, named: "analyze", request: request) { session, table in
                    let name = PostgresSQL.qualifiedName(schema: staging, table.name)
                    try await session.execute("ANALYZE \(name)", purpose: "analyze \(table.name)")
                }
            }
            try Self.check(manifest, matches: schema, folder: folder)
            try await run.addStep(
                "follow, copy and analyze",
                figures: [
                    "rows": Double(counts.values.reduce(0, +)), "seconds": (clock.now - step).seconds,
                ])
            step = clock.now
            await TestHooks.hold(at: "swap")
            try await swap(
                plan: plan, staging: staging, manifest: manifest, schemaHash: schema.hash, counts: counts,
                session: session,
                store: store, run: run.id)
            try await run.addStep("swap", figures: ["seconds": (clock.now - step).seconds])
            return (manifest, counts)
        }
        guard let manifest = verified else { throw GeneralError(.internalError, "psql-copy: no manifest to load") }

        // COPY every part on several sessions, the biggest tables first; each part's count must match the manifest.
        // Keys come after the data (one sorted build instead of one insert per row): the session that copies a
        // table's last part builds its key and analyzes it at once, while the others go on copying. A duplicate
        // key fails there.
        let bySize = manifest.tables.indices.sorted { manifest.tables[$0].rows > manifest.tables[$1].rows }
        let work = bySize.flatMap { index in manifest.tables[index].parts.map { (table: index, part: $0) } }
        let unfinished = PartsLeft(manifest.tables.map(\.parts.count))
        let perWorker = try await onParallelSessions(work, named: "copy", request: request) { copier, item in
            let table = plan.tables[item.table]
            let path = folder.url.appendingPathComponent(item.part.file).path
            let loaded = try await copier.copyIn(
                schema: staging, table: table.name, columns: table.columns.map(\.name),
                purpose: "load \(item.part.file) into staging table \(table.name)", fromFile: path)
            guard loaded == item.part.rows else {
                throw LoadError(
                    .rowCountMismatch,
                    "\(item.part.file): PostgreSQL loaded \(loaded) rows, the manifest promises \(item.part.rows)")
            }
            await TestHooks.hold(at: "copy")
            if await unfinished.finishOne(of: item.table) {
                try await Self.buildKey(of: table, in: staging, plan: plan, jobs: request.jobs, on: copier)
            }
            return (table.name, loaded)
        }
        for index in plan.tables.indices where manifest.tables[index].parts.isEmpty {
            try await Self.buildKey(of: plan.tables[index], in: staging, plan: plan, jobs: request.jobs, on: session)
        }
        let counts = Dictionary(perWorker, uniquingKeysWith: +)
        try await run.addStep(
            "copy and keys",
            figures: ["rows": Double(counts.values.reduce(0, +)), "seconds": (clock.now - step).seconds])

        step = clock.now
        await TestHooks.hold(at: "swap")
        try await swap(
            plan: plan, staging: staging, manifest: manifest, schemaHash: schema.hash, counts: counts, session: session,
            store: store, run: run.id)
        try await run.addStep("swap", figures: ["seconds": (clock.now - step).seconds])
        return (manifest, counts)
    }

    /// One transaction: drop the live tables (and tables an earlier schema had), move the staging tables in, replace
    /// the catalog rows, record the load. Until COMMIT, readers see the old tables; after it, the new ones.
    private func swap(
        plan: TablePlan, staging: String, manifest: Manifest, schemaHash: String, counts: [String: Int],
        session: PostgresSession, store: StateStore, run: Int64
    ) async throws {
        let target = plan.settings.targetSchema, stateSchema = store.schema, collection = plan.namespace.description
        let names = plan.tables.map(\.name)
        let namespace = plan.namespace, documents = manifest.documents
        try await session.withTransaction(purpose: "swap the new tables of \(collection) in") { session in
            try session.execute(
                "SET LOCAL lock_timeout = '60s'", purpose: "bound the wait for readers of the live tables")
            try session.execute(
                "CREATE SCHEMA IF NOT EXISTS \(PostgresSQL.quoteIdentifier(target))",
                purpose: "create the target schema")
            let previous = try StateStore.catalogTableNames(on: session, schema: stateSchema, collection: namespace)
            // No foreign keys join the tables, so the order does not matter; a user's view on one makes DROP fail and
            // the whole swap roll back, which is the right answer.
            for name in Set(previous).union(names).sorted() {
                try session.execute(
                    "DROP TABLE IF EXISTS \(PostgresSQL.qualifiedName(schema: target, name))",
                    purpose: "drop the old table \(name)")
            }
            for name in names {
                try session.execute(
                    "ALTER TABLE \(PostgresSQL.qualifiedName(schema: staging, name)) SET SCHEMA \(PostgresSQL.quoteIdentifier(target))",
                    purpose: "move the new table \(name) in")
            }
            try StateStore.replaceCatalog(on: session, schema: stateSchema, plan: plan)
            try StateStore.recordCollectionLoad(
                on: session, schema: stateSchema, collection: namespace, schemaHash: schemaHash, documents: documents,
                rows: counts, run: run)
            try session.execute(
                "DROP SCHEMA \(PostgresSQL.quoteIdentifier(staging))", purpose: "drop the empty staging schema")
        }
    }
}

/// Counts the parts of each table still to be copied; tells the worker that copied a table's last part.
actor PartsLeft {
    private var left: [Int]
    init(_ parts: [Int]) { left = parts }
    func finishOne(of table: Int) -> Bool {
        left[table] -= 1
        return left[table] == 0
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
