import Foundation
import Logging

/// What one collection's schema change applied in place did, for oplog-sync's summary, `--json` and ledger.
public struct SchemaChangeReport: Sendable, Codable, Equatable {
    /// `DB.COLL`.
    public var collection: String
    /// `table.column` of each column added, widened; the tables created.
    public var columnsAdded: [String] = []
    public var columnsWidened: [String] = []
    public var tablesCreated: [String] = []
    /// Documents the convergence compared, and those whose rows it rewrote.
    public var documentsCompared = 0
    public var documentsConverged = 0
    public var seconds = 0.0

    var line: String {
        "schema change of \(collection): \(columnsAdded.count) columns added, \(tablesCreated.count) tables created, "
            + "\(columnsWidened.count) columns widened, \(documentsConverged) of \(documentsCompared) documents "
            + "converged (\(String(format: "%.2f", seconds)) s)"
    }

    var figures: [String: Double] {
        [
            "schema_columns_added": Double(columnsAdded.count), "schema_tables_created": Double(tablesCreated.count),
            "schema_columns_widened": Double(columnsWidened.count),
            "schema_documents_compared": Double(documentsCompared),
            "schema_documents_converged": Double(documentsConverged), "schema_seconds": seconds,
        ]
    }
}

/// Applies the schema files changed since their collections' tables were built (DESIGN.md, "Schema files";
/// `[sync] schema_changes = apply`), before oplog-sync replays; the caller holds the sync lock.
///
/// For each collection whose schema file's hash is not the recorded one: the plan the file gives is compared with the
/// catalog's (`PlanChange`). A conflict anywhere stops the run before anything changes (exit 1, naming each
/// collection and field and the one-collection load that resolves it); so does a view on a column to widen (exit 78).
/// Otherwise, per collection: the DDL and the new catalog rows commit in one transaction; then the new places are
/// written from MongoDB where that is exact (`AdditionFill`, one transaction), else every document whose rows differ
/// under the new plan converges (`CollectionConverger`, on a second session); then the new hash is recorded, so
/// `init-load-status` answers 0 again. A run killed before that last step finds the hash still different: its rerun
/// finds nothing left to alter and converges again, so it finishes what was begun.
struct SchemaChanges {
    let config: SyncConfig
    let store: StateStore
    let logger: Logger
    /// A second PostgreSQL session, for the convergence's reads.
    let openSession: @Sendable (_ name: String) async throws -> PostgresSession

    /// A collection whose schema file changed, with what the change would do.
    struct Pending: Sendable {
        var collection: Namespace
        var hash: String
        var change: PlanChange
        /// The init load that built its tables.
        var initLoadID: Int64
    }

    /// The collections whose schema file differs from the recorded one and what their change would do; empty when
    /// the newest init load is not done (`init-load-status` then says why).
    func pending() async throws -> [Pending]? {
        guard let recorded = try await store.recordedSchemaHashes() else { return nil }
        var changes: [Pending] = []
        for collection in config.collections {
            guard let loaded = recorded[collection.description],
                let hash = SchemaFile.hash(for: collection, in: config.schemasDirectory), hash != loaded.hash
            else { continue }
            let file = try SchemaFile(
                namespace: collection, schemasDirectory: config.schemasDirectory, settings: config.flattenSettings)
            let old = try await store.catalogPlan(of: collection, settings: config.flattenSettings)
            let new = try TablePlan(schema: file.schema, settings: old.settings)
            changes.append(
                Pending(
                    collection: collection, hash: hash, change: PlanChange(from: old, to: new),
                    initLoadID: loaded.initLoadID))
        }
        return changes
    }

    /// Applies every additive pending change; returns what each did, and why each other changed collection needs
    /// a load of its own (it is left out of the replay: "init load needed" for that collection alone).
    func apply() async throws -> (reports: [SchemaChangeReport], conflicts: [String: String]) {
        guard config.schemaChanges == .apply, let changes = try await pending(), !changes.isEmpty
        else { return ([], [:]) }
        let additive = changes.filter(\.change.isAdditive)
        for pending in additive { try await refuseDependentViews(pending) }
        var reports: [SchemaChangeReport] = []
        for pending in additive {
            reports.append(try await apply(pending))
        }
        return (reports, Self.conflictReasons(changes.filter { !$0.change.isAdditive }))
    }

    /// Per `DB.COLL`, why it needs a load of its own.
    static func conflictReasons(_ conflicting: [Pending]) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: conflicting.map { pending in
                let collection = pending.collection
                let reason =
                    "schema changed for \(collection) in a way no change in place applies: "
                    + pending.change.conflicts.map(\.description).joined(separator: "; ")
                    + ". Load this collection again: `\(Tool.etlstatus) init-load-start --collection \(collection)`, "
                    + "then \(Tool.mongoReader) and \(Tool.psqlCopy) --collection \(collection), then "
                    + "`\(Tool.etlstatus) init-load-finish ok`"
                return (collection.description, reason)
            })
    }

    /// Exit 78 before anything changes when a view depends on a column to widen: PostgreSQL refuses to change the
    /// type of such a column (SQLSTATE 0A000).
    private func refuseDependentViews(_ pending: Pending) async throws {
        let target = pending.change.new.settings.targetSchema
        for (table, column) in pending.change.widenedColumns {
            let views = try await store.session.query(
                """
                SELECT DISTINCT vn.nspname, v.relname FROM pg_catalog.pg_depend d
                JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
                JOIN pg_catalog.pg_class v ON v.oid = r.ev_class
                JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
                JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
                JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
                JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND tn.nspname = $1 AND t.relname = $2
                AND a.attname = $3 AND v.oid <> t.oid ORDER BY 1, 2
                """, parameters: [target, table, column],
                purpose: "find the views on \(table).\(column) of \(pending.collection)")
            let names = views.rows.map { PostgresSQL.qualifiedName(schema: $0[0] ?? "", $0[1] ?? "") }
            guard let first = names.first else { continue }
            throw GeneralError(
                .configError,
                "schema change of \(pending.collection): PostgreSQL cannot change the type of column "
                    + "\(PostgresSQL.qualifiedName(schema: target, table)).\(Identifier.quoted(column)) while "
                    + "\(names.count == 1 ? "view" : "views") \(names.joined(separator: ", ")) "
                    + "\(names.count == 1 ? "depends" : "depend") on it (SQLSTATE 0A000); nothing was changed. Save "
                    + "its definition (`SELECT pg_get_viewdef('\(first)')`), drop it, run \(Tool.oplogSync) again, "
                    + "then create it again")
        }
    }

    private func apply(_ pending: Pending) async throws -> SchemaChangeReport {
        let started = Date()
        let change = pending.change, collection = pending.collection
        var report = SchemaChangeReport(collection: collection.description)
        for addition in change.additions {
            let name = "\(addition.table).\(addition.column ?? "")"
            switch addition.kind {
            case .column: report.columnsAdded.append(name)
            case .widening: report.columnsWidened.append(name)
            case .table: report.tablesCreated.append(addition.table)
            }
        }
        if !change.additions.isEmpty {
            let statements = change.statements, plan = change.new, stateSchema = store.schema
            let newTables = plan.tables.filter { table in
                change.additions.contains { $0.kind == .table && FieldName($0.table) == FieldName(table.name) }
            }
            logger.info(
                "applying a schema change",
                metadata: ["ns": "\(collection)", "changes": "\(change.additions.map(\.description))"])
            // A new array's table joins a distributed collection's colocation group, as psql-copy made its others.
            let distributed = change.old.isDistributed
            try await store.session.withTransaction(purpose: "apply the schema change of \(collection)") { session in
                for statement in statements {
                    try session.execute(statement, purpose: "change the tables of \(collection)")
                }
                for table in newTables where distributed {
                    try session.execute(
                        Citus.distributeStatement(table, of: plan, inSchema: plan.settings.targetSchema),
                        purpose: "distribute the new table \(table.name)")
                }
                try StateStore.replaceCatalog(on: session, schema: stateSchema, plan: plan, distributed: distributed)
            }
        }
        let moves = change.extraMoves
        if !moves.isEmpty {
            // After the DDL's commit (its lock would hold readers for the whole update), in a transaction of its own:
            // a run killed before it commits leaves `_extra` as it was, and the convergence reads the values again.
            try await store.session.withTransaction(purpose: "move the new columns' values out of _extra") { session in
                for move in moves { try session.execute(move, purpose: "move a new column's values out of _extra") }
            }
            logger.info("moved the new columns' values kept in _extra", metadata: ["ns": "\(collection)"])
        }
        try await TestHooks.hold(at: "schema-changed")
        if !TestHooks.noFill, let fill = AdditionFill(change) {
            // Only the new places are written, from a projection of the fields holding them (AdditionFill).
            let mongo = try MongoSession(uri: config.mongoURI, name: "fill")
            let progress = Progress.onTerminal(label: "fill \(collection)", unit: "documents")
            defer { progress?.finish() }
            let figures = try await AdditionFiller(mongo: mongo, fill: fill, session: store.session, logger: logger)
                .run(progress: progress)
            report.documentsCompared = figures.read
            report.documentsConverged = figures.written
            logger.info(
                "wrote the new places of a schema change",
                metadata: [
                    "ns": "\(collection)", "read": "\(figures.read)", "written": "\(figures.written)",
                    "unstorable": "\(figures.unstorable)",
                ])
        } else {
            // The plan replay uses: compiled back from the catalog just written.
            let plan = try await store.catalogPlan(of: collection, settings: config.flattenSettings)
            let mongo = try MongoSession(uri: config.mongoURI, name: "converge")
            let reader = try await openSession("converge")
            let progress = Progress.onTerminal(label: "converge \(collection)", unit: "documents")
            defer { progress?.finish() }
            let figures = try await CollectionConverger(
                mongo: mongo, plan: plan, store: store, reader: reader, logger: logger
            ).converge(progress: progress)
            report.documentsCompared = figures.compared
            report.documentsConverged = figures.written
        }
        try await store.recordSchemaChange(
            collection: collection, schemaHash: pending.hash, initLoadID: pending.initLoadID)
        report.seconds = Date().timeIntervalSince(started)
        logger.info("schema change applied", metadata: ["ns": "\(collection)", "summary": "\(report.line)"])
        return report
    }
}
