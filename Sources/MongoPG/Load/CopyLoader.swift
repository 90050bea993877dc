import Foundation
import Logging
import Synchronization

/// What psql-copy needs to load one collection. PostgreSQL is reached through the sessions the caller hands
/// `CopyLoader`, never from here.
public struct LoadRequest: Sendable {
    public var namespace: Namespace
    public var csvDirectory: String
    public var schemasDirectory: String
    public var settings: FlattenSettings
    /// Parallel COPY sessions.
    public var jobs: Int
    /// Load the parts while mongo-reader still writes them (`--follow-reader`).
    public var followReader = false
    /// `--follow-reader`: how long to wait for a reader to start, and for a running one to write anything.
    public var waitSeconds = 300
    /// The configured collections (`[collections]`), whose tables this collection's must not meet.
    public var collections: [Namespace] = []
    /// Per oplog source name, the position this collection's entries are read under (`SyncConfig.positionNames`):
    /// a load of some collections records the collection's own replay start there.
    public var positionNames: [String: String] = [:]
    /// `[psql] distribute`: Citus distributed tables or ordinary ones.
    public var distribution = Distribution.auto

    public init(
        namespace: Namespace, csvDirectory: String, schemasDirectory: String, settings: FlattenSettings, jobs: Int = 2
    ) {
        self.namespace = namespace
        self.csvDirectory = csvDirectory
        self.schemasDirectory = schemasDirectory
        self.settings = settings
        self.jobs = jobs
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

    /// The run's totals in the run ledger.
    public var figures: [String: Double] {
        ["documents": Double(documents), "rows": Double(rows.values.reduce(0, +)), "seconds": seconds]
    }
}

/// A load whose files were checked (or whose reader was found) before PostgreSQL is touched: `CopyLoader.prepare`'s
/// answer, which `CopyLoader.load` takes. Holding it keeps mongo-reader out of the folder (the loader's lock on it,
/// without `--follow-reader`) until it is released.
public struct PreparedLoad: Sendable {
    let request: LoadRequest
    let schema: SchemaFile
    let claims: TableClaims
    let folder: CollectionFolder
    /// The checked manifest; nil when following a reader.
    let manifest: Manifest?
    /// The reader followed (`--follow-reader`).
    let reader: ReaderStatus?
    let folderLock: LoaderLock?
    let started: ContinuousClock.Instant
}

/// psql-copy: loads the parts mongo-reader wrote into staging tables with COPY (in parallel), checks each part's
/// row count, builds primary keys, then in one transaction swaps the staging tables in place of the live ones and
/// writes the catalog and the load record. Any failure before the commit drops the staging tables and leaves the live
/// tables as they were; a rerun drops the staging tables a killed run left behind.
///
/// The caller wires it (`PsqlCopyCommand`): it opens the state store whose session the load and swap run on, takes
/// the sync lock, opens the ledger run, and hands over `openSession`, which opens the other sessions of the load
/// (the `--jobs` COPY and ANALYZE sessions, and the clean-up's), connected.
public struct CopyLoader: Sendable {
    /// Opens one connected PostgreSQL session named `name`.
    public typealias SessionOpener = @Sendable (_ name: String) async throws -> PostgresSession

    public let logger: Logger
    let openSession: SessionOpener
    /// Every session of this load, so that a signal can cancel the statements they run.
    let live = LiveSessions()
    /// Set once the swap committed: a signal then cancels nothing.
    let swapState = SwapState()

    public init(logger: Logger, openSession: @escaping SessionOpener) {
        self.logger = logger
        self.openSession = openSession
    }

    /// Files first: nothing touches PostgreSQL until the folder is known to be whole and of this schema (or, when
    /// following a reader, until the reader is found and reads with this schema). A folder being loaded is locked
    /// against mongo-reader for as long as the answer is held, and one a mongo-reader writes is refused (unless
    /// following it).
    public func prepare(_ request: LoadRequest) async throws -> PreparedLoad {
        let started = ContinuousClock.now
        let namespace = request.namespace
        let folder = CollectionFolder(csvDirectory: request.csvDirectory, namespace: namespace)
        let schema = try SchemaFile(
            namespace: namespace, schemasDirectory: request.schemasDirectory, settings: request.settings)
        let claims = TableClaims.fromSchemaFiles(
            schema, collections: request.collections, schemasDirectory: request.schemasDirectory,
            settings: request.settings, logger: logger)
        if let collision = claims.error(for: namespace, targetSchema: request.settings.targetSchema) { throw collision }
        if request.followReader {
            let reader = try await readerToFollow(folder, schema: schema, request: request)
            return PreparedLoad(
                request: request, schema: schema, claims: claims, folder: folder, manifest: nil, reader: reader,
                folderLock: nil, started: started)
        }
        let folderLock = try LoaderLock(folder: folder.url)
        let manifest = try folder.finishedManifest()
        try Self.check(manifest, matches: schema, folder: folder)
        try folder.checkParts(of: manifest)
        logger.info(
            "manifest checked",
            metadata: [
                LogKey.namespace: "\(namespace)", "parts": "\(manifest.tables.reduce(0) { $0 + $1.parts.count })",
            ])
        return PreparedLoad(
            request: request, schema: schema, claims: claims, folder: folder, manifest: manifest, reader: nil,
            folderLock: folderLock, started: started)
    }

    /// Loads a prepared collection on `store`'s session (the caller holds the sync lock on it) as the ledger run
    /// `run`. Any failure before the swap committed drops the staging schema and leaves the live tables as they
    /// were. With `stop`, SIGTERM or SIGINT before the swap cancels the load, drops its staging schema and ends with
    /// `LoadError.interrupted` (75).
    public func load(
        _ prepared: PreparedLoad, store: StateStore, run: LedgerRun, stop: StopRequest? = nil
    ) async throws -> LoadSummary {
        live.add(store.session)
        defer { live.remove(store.session) }
        let namespace = prepared.request.namespace, folder = prepared.folder
        try await Self.checkOwnership(prepared.schema.plan, claims: prepared.claims, store: store)
        if let initLoad = prepared.manifest?.initLoadID {
            try await Self.checkPartitions(of: initLoad, folder: folder, store: store)
        }
        let staging = Self.stagingSchema(stateSchema: store.schema, namespace: namespace)
        let (manifest, rows) = try await dropStagingOnFailure(staging, stop: stop) {
            try await copyAndSwap(prepared, staging: staging, store: store, run: run)
        }
        // So that a later --follow-reader waits for a new read rather than loading this one again.
        if let reader = prepared.reader ?? ReaderStatus.read(in: folder.url), reader.startedAt == manifest.startedAt {
            try? LoadedMark(run: reader.run, loadedAt: timestampNow()).write(in: folder.url)
        }
        return LoadSummary(
            collection: namespace.description, documents: manifest.documents, rows: rows,
            seconds: (ContinuousClock.now - prepared.started).seconds, run: run.id)
    }

    /// Before anything is replaced: the plan's tables must be neither the tables of collections loaded before
    /// (the catalog) nor tables no load made (78 either way, naming both sides).
    static func checkOwnership(_ plan: TablePlan, claims: TableClaims, store: StateStore) async throws {
        var claims = claims
        let namespace = plan.namespace, target = plan.settings.targetSchema
        for claim in try await store.catalogClaims(except: namespace) { claims.add(claim) }
        if let collision = claims.error(for: namespace, targetSchema: target) { throw collision }
        let unowned = try await store.unownedTables(plan.tables.map(\.name), in: target)
        guard !unowned.isEmpty else { return }
        let them = unowned.count == 1 ? "it" : "them"
        throw SchemaError(
            .identifierCollision,
            "\(target) already holds \(unowned.map { "\"\($0)\"" }.joined(separator: ", ")), which no load of this "
                + "toolkit made (the catalog in \(store.schema) does not list \(them)), and \(namespace) would "
                + "replace \(them): \(Tool.psqlCopy) never drops a table it does not own; rename or drop \(them), or "
                + "give \(namespace) a root table of its own in [collections] (`\(namespace) = <table>`)")
    }

    /// Partition manifests (all of one init load, `CollectionFolder.finishedManifest` checked) must be of the
    /// running init load: a folder left by workers of an earlier one is not this init load's data.
    static func checkPartitions(of initLoad: Int64, folder: CollectionFolder, store: StateStore) async throws {
        let running = try? await store.runningInitLoadID(purpose: "loading partitions")
        guard running != initLoad else { return }
        throw LoadError(
            .stalePartition,
            "the partitions in \(folder.url.path) were read for init load \(initLoad), but "
                + (running.map { "the running init load is \($0)" } ?? "no init load is running")
                + ": read every partition again for the current init load")
    }

    /// The manifest was written with `schema`, and names the tables its plan makes.
    static func check(_ manifest: Manifest, matches schema: SchemaFile, folder: CollectionFolder) throws(LoadError) {
        guard manifest.schemaHash == schema.hash else {
            throw LoadError(
                .schemaMismatch,
                "\(schema.path) changed since \(Tool.mongoReader) wrote \(folder.url.path) (hash \(schema.hash), manifest \(manifest.schemaHash)): read the collection again"
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
        do {
            try await session.execute(
                plan.primaryKeyStatement(table, inSchema: staging), purpose: "build the primary key of \(table.name)")
        } catch {
            guard error.sqlState == "23505" else { throw error }
            throw DuplicateKeyError(error, table: table, plan: plan)
        }
        try await session.execute(
            "ANALYZE \(PostgresSQL.qualifiedName(schema: staging, table.name))", purpose: "analyze \(table.name)")
    }

    /// Runs `body` for every item on up to `jobs` sessions of their own, handing items out one at a time in order;
    /// returns every result. The first failure cancels the rest and is rethrown.
    private func onParallelSessions<Item: Sendable, Result: Sendable>(
        _ items: [Item], named name: String, jobs: Int,
        _ body: @escaping @Sendable (PostgresSession, Item) async throws -> Result
    ) async throws -> [Result] {
        let queue = WorkQueue(items), openSession = openSession, live = live
        return try await withThrowingTaskGroup(of: [Result].self) { group in
            for worker in 0..<max(1, min(jobs, items.count)) {
                group.addTask {
                    let session = try await openSession("\(name)\(worker)")
                    live.add(session)
                    defer { live.remove(session) }
                    var results: [Result] = []
                    while let item = await queue.next() {
                        try Task.checkCancellation()
                        results.append(try await body(session, item))
                    }
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

    /// Loads the prepared manifest (its parts checked), or the read of the reader followed, into `staging` on the
    /// sessions `openSession` opens; then swaps on `store`'s session.
    private func copyAndSwap(
        _ prepared: PreparedLoad, staging: String, store: StateStore, run: LedgerRun
    ) async throws -> (Manifest, [String: Int]) {
        let schema = prepared.schema, folder = prepared.folder, reader = prepared.reader, session = store.session
        let plan = schema.plan, namespace = prepared.request.namespace, jobs = prepared.request.jobs
        let quotedStaging = PostgresSQL.quoteIdentifier(staging)
        let clock = ContinuousClock()

        let distributed = try await Citus.distributes(prepared.request.distribution, on: session)
        let step = clock.now
        /// The swap, timed as the run's last step.
        func swapStep(_ manifest: Manifest, _ counts: [String: Int]) async throws {
            let started = clock.now
            try await TestHooks.hold(at: "swap")
            try await swap(
                plan: plan, staging: staging, manifest: manifest, schemaHash: schema.hash, counts: counts,
                positionNames: prepared.request.positionNames, distributed: distributed, session: session,
                store: store, run: run.id)
            try await run.addStep("swap", figures: ["seconds": (clock.now - started).seconds])
        }
        await TestHooks.pause(at: "checked") {
            // Lets a test change a part between the manifest check and the copy.
            FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("continue").path)
        }
        try await session.execute(
            "DROP SCHEMA IF EXISTS \(quotedStaging) CASCADE; CREATE SCHEMA \(quotedStaging)",
            purpose: "prepare the staging schema for \(namespace) (dropping what a crashed run left)")
        for table in plan.tables {
            // Following a reader, rows arrive while it reads: keys are kept as they come (rows arrive nearly in key
            // order), so that only ANALYZE is left when the read ends.
            try await session.execute(
                plan.createStatement(table, inSchema: staging, withPrimaryKey: reader != nil),
                purpose: "create staging table \(table.name)")
            // Distributed while empty: COPY through the coordinator then routes each row to its shard, and the
            // swap's SET SCHEMA keeps the tables distributed and co-located.
            if distributed {
                try await session.execute(
                    Citus.distributeStatement(table, of: plan, inSchema: staging),
                    purpose: "distribute staging table \(table.name)")
            }
        }
        if let reader {
            let (manifest, counts) = try await followAndCopy(
                reader, folder: folder, plan: plan, staging: staging, request: prepared.request
            ) {
                _ = try await onParallelSessions(plan.tables, named: "analyze", jobs: jobs) { session, table in
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
            try await swapStep(manifest, counts)
            return (manifest, counts)
        }
        guard let manifest = prepared.manifest else {
            throw GeneralError(.internalError, "\(Tool.psqlCopy): no manifest to load")
        }

        // COPY every part on several sessions, the biggest tables first; each part's count must match the manifest.
        // Keys come after the data (one sorted build instead of one insert per row): the session that copies a
        // table's last part builds its key and analyzes it at once, while the others go on copying. A duplicate
        // key fails there.
        let bySize = manifest.tables.indices.sorted { manifest.tables[$0].rows > manifest.tables[$1].rows }
        let work = bySize.flatMap { index in manifest.tables[index].parts.map { (table: index, part: $0) } }
        let unfinished = PartsLeft(manifest.tables.map(\.parts.count))
        // Each part's checksum and size are computed from the bytes COPY streams, so a part changed since the
        // manifest was checked (another mongo-reader, a hand edit) fails the load before the swap.
        let perWorker = try await onParallelSessions(work, named: "copy", jobs: jobs) { copier, item in
            let table = plan.tables[item.table]
            let copied = try await Self.copyPart(
                item.part.file, table: item.table, plan: plan, folder: folder, staging: staging, on: copier)
            try Self.check(copied, against: item.part, folder: folder)
            let loaded = copied.rows
            try await TestHooks.hold(at: "copy")
            if await unfinished.finishOne(of: item.table) {
                try await Self.buildKey(of: table, in: staging, plan: plan, jobs: jobs, on: copier)
            }
            return (table.name, loaded)
        }
        for index in plan.tables.indices where manifest.tables[index].parts.isEmpty {
            try await Self.buildKey(of: plan.tables[index], in: staging, plan: plan, jobs: jobs, on: session)
        }
        let counts = Dictionary(perWorker, uniquingKeysWith: +)
        try await run.addStep(
            "copy and keys",
            figures: ["rows": Double(counts.values.reduce(0, +)), "seconds": (clock.now - step).seconds])

        try await swapStep(manifest, counts)
        return (manifest, counts)
    }

    /// One transaction: drop the live tables (and tables an earlier schema had), move the staging tables in, replace
    /// the catalog rows, record the load. Users' views, materialized views, indexes and grants on the replaced
    /// tables are captured first and created again on the new tables in the same transaction (`TableDependents`).
    /// Until COMMIT, readers see the old tables; after it, the new ones.
    private func swap(
        plan: TablePlan, staging: String, manifest: Manifest, schemaHash: String, counts: [String: Int],
        positionNames: [String: String], distributed: Bool, session: PostgresSession, store: StateStore, run: Int64
    ) async throws {
        let target = plan.settings.targetSchema, stateSchema = store.schema, collection = plan.namespace.description
        let names = plan.tables.map(\.name)
        let namespace = plan.namespace, documents = manifest.documents, logger = logger, swapState = swapState
        let replaced = try await session.withTransaction(purpose: "read the tables of the previous load") { session in
            Set(try StateStore.catalogTableNames(on: session, schema: stateSchema, collection: namespace))
                .union(names).sorted()
        }
        try Task.checkCancellation()
        do {
            try await session.withTransaction(purpose: "swap the new tables of \(collection) in") { session in
                // A lock_timeout the role or PGOPTIONS sets is kept; else readers of the live tables get 60 s.
                try session.execute(
                    "SELECT CASE WHEN current_setting('lock_timeout') = '0' "
                        + "THEN set_config('lock_timeout', '60s', true) END",
                    purpose: "bound the wait for readers of the live tables")
                try session.execute(
                    "CREATE SCHEMA IF NOT EXISTS \(PostgresSQL.quoteIdentifier(target))",
                    purpose: "create the target schema")
                let dependents = try TableDependents.capture(of: replaced, in: target, on: session)
                try dependents.dropViews(on: session)
                // No foreign keys join the tables, so the order does not matter.
                for name in replaced {
                    try session.execute(
                        "DROP TABLE IF EXISTS \(PostgresSQL.qualifiedName(schema: target, name))",
                        purpose: "drop the old table \(name)")
                }
                for name in names {
                    try session.execute(
                        "ALTER TABLE \(PostgresSQL.qualifiedName(schema: staging, name)) SET SCHEMA \(PostgresSQL.quoteIdentifier(target))",
                        purpose: "move the new table \(name) in")
                }
                try dependents.restore(on: session, logger: logger)
                try StateStore.replaceCatalog(on: session, schema: stateSchema, plan: plan, distributed: distributed)
                try StateStore.recordCollectionLoad(
                    on: session, schema: stateSchema, collection: namespace, schemaHash: schemaHash,
                    documents: documents, rows: counts, run: run, positionNames: positionNames)
                try session.execute(
                    "DROP SCHEMA \(PostgresSQL.quoteIdentifier(staging))", purpose: "drop the empty staging schema")
            }
            swapState.swapped()
        } catch var error as PostgresError where error.sqlState == "55P03" {
            // Who holds the tables: the wait is over, but a reader that held them 60 s most likely still does.
            if let holders = await session.relationLockHolders(schema: target, names: replaced) {
                error.serverMessage += "; \(holders)"
            }
            throw error
        } catch var error as PostgresError where error.sqlState == "2BP01" {
            error.serverMessage +=
                " (\(Tool.psqlCopy) recreates views, materialized views, indexes and grants on the tables it replaces, "
                + "not the object named: drop it before the reload and create it again after; the live tables are "
                + "unchanged)"
            throw error
        }
    }

    /// Runs `body` (the load up to and with the swap). When it fails before the swap committed, the staging schema
    /// is dropped before the error goes on, so a failed load leaves nothing behind (only a killed one leaves it, for
    /// the next load to drop first). When `stop` reports a signal first, `body` is cancelled (and the statement each
    /// session runs, again every 100 ms until `body` ends, so none started later runs on) and the error is
    /// `LoadError.interrupted`. A swap that committed before the signal took effect is the load's result as usual.
    private func dropStagingOnFailure<Result: Sendable>(
        _ staging: String, stop: StopRequest?, _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let live = live, swapState = swapState
        let work = Task { try await body() }
        let watcher = Task {
            guard let stop else { return }
            while stop.received == nil, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
            guard !Task.isCancelled else { return }
            work.cancel()
            while !Task.isCancelled, !swapState.isSwapped {
                live.cancelStatements()
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let outcome = await work.result
        watcher.cancel()
        guard case .failure(let error) = outcome, !swapState.isSwapped else { return try outcome.get() }
        guard let signal = stop?.received else {
            logger.info("the load failed: dropping its staging schema", metadata: ["schema": "\(staging)"])
            await dropStaging(staging)
            throw error
        }
        logger.info("stopping on a signal", metadata: ["signal": "\(signal)", LogKey.error: "\(error)"])
        await dropStaging(staging)
        throw LoadError(
            .interrupted,
            "\(Tool.psqlCopy) stopped by signal \(signal) (\(signal == SIGINT ? "SIGINT" : "SIGTERM")) before the "
                + "swap: its staging tables are dropped and the live tables are unchanged; run it again to load")
    }

    /// Drops a load's staging schema on the way out, bounded in time (a lock held elsewhere is not waited for
    /// long); a failure is only logged, since the next load drops it too. On a session of its own: a cancel
    /// request sent to the load's sessions may still reach their server after the load ended.
    func dropStaging(_ staging: String) async {
        var session: PostgresSession?
        do {
            let cleanUp = try await openSession("clean-up")
            session = cleanUp
            try await cleanUp.withTransaction(purpose: "drop the staging schema \(staging)") { session in
                try session.execute(
                    "SET LOCAL lock_timeout = '10s'; SET LOCAL statement_timeout = '30s'",
                    purpose: "bound the clean-up")
                try session.execute(
                    "DROP SCHEMA IF EXISTS \(PostgresSQL.quoteIdentifier(staging)) CASCADE",
                    purpose: "drop the staging schema \(staging)")
            }
        } catch {
            logger.warning(
                "the staging schema is left for the next load to drop",
                metadata: ["schema": "\(staging)", LogKey.error: "\(error)"])
        }
        await session?.close()
    }

    /// A part as COPY streamed it must be the manifest's: same size and checksum, same rows.
    static func check(_ copied: LoadedPart, against part: Manifest.Part, folder: CollectionFolder) throws(LoadError) {
        let path = folder.url.appendingPathComponent(part.file).path
        guard copied.bytes == part.bytes, copied.checksum == part.checksum else {
            throw LoadError(
                .corruptPart,
                "part \(path) does not match the manifest: it changed since \(Tool.mongoReader) wrote it "
                    + "(\(copied.bytes) bytes, checksum "
                    + "\(copied.checksum) streamed into COPY; the manifest says \(part.bytes) bytes, checksum "
                    + "\(part.checksum)): nothing was swapped in, read the collection again")
        }
        guard copied.rows == part.rows else {
            throw LoadError(
                .rowCountMismatch,
                "\(part.file): PostgreSQL loaded \(copied.rows) rows, the manifest promises \(part.rows)")
        }
    }
}

/// The sessions of one load, so that a signal can cancel what each runs (`PQcancel` works from any thread).
final class LiveSessions: Sendable {
    private let sessions = Mutex<[ObjectIdentifier: PostgresSession]>([:])

    func add(_ session: PostgresSession) { sessions.withLock { $0[ObjectIdentifier(session)] = session } }
    func remove(_ session: PostgresSession) { sessions.withLock { $0[ObjectIdentifier(session)] = nil } }
    func cancelStatements() {
        for session in sessions.withLock({ Array($0.values) }) { session.cancelRunningStatement() }
    }
}

/// Whether the swap committed: from then on a signal no longer cancels anything.
final class SwapState: Sendable {
    private let flag = Atomic<Bool>(false)
    func swapped() { flag.store(true, ordering: .sequentiallyConsistent) }
    var isSwapped: Bool { flag.load(ordering: .sequentiallyConsistent) }
}

/// A primary key build (or a keyed COPY) that met one key twice (23505), in the loader's words: which table,
/// which `_id`. Bad input data (65): the source held a document twice (a dump concatenated twice, two reads in one
/// folder).
struct DuplicateKeyError: ToolError {
    var description: String
    var exitStatus: ExitStatus { .dataError }

    init(_ error: PostgresError, table: PlannedTable, plan: TablePlan) {
        let collection = plan.namespace.description
        let key = Self.key(fromDetail: error.serverMessage)
        let rootID: String?
        if table.parent == nil {
            rootID = key?.values
        } else {
            // The child key starts with the root _id; an _id holding ", " cannot be told apart, so the key is named.
            rootID = key.flatMap { $0.values.components(separatedBy: ", ").first }
        }
        var text = "\(collection): two documents share _id \(rootID ?? "(unknown)")"
        if table.parent == nil {
            text += " (table \(table.name))"
        } else {
            text += " (table \(table.name), key (\(key?.columns ?? "?")) = (\(key?.values ?? "?")))"
        }
        description = text + ": the input holds a document twice; the live tables are unchanged [SQLSTATE 23505]"
    }

    /// `Key (a, b)=(1, 2) is duplicated.` / `... already exists.`, PostgreSQL's DETAIL of a unique violation.
    static func key(fromDetail message: String) -> (columns: String, values: String)? {
        guard let start = message.range(of: "Key ("),
            let equals = message.range(of: ")=(", range: start.upperBound..<message.endIndex)
        else { return nil }
        let columns = String(message[start.upperBound..<equals.lowerBound])
        let rest = message[equals.upperBound...]
        let end = rest.range(of: ") is duplicated") ?? rest.range(of: ") already exists")
        guard let end else { return nil }
        return (columns, String(rest[..<end.lowerBound]))
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
