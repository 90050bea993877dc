import Foundation

/// The sync's state in PostgreSQL (DESIGN.md, "State in PostgreSQL"): a versioned schema the tools create and
/// migrate themselves, the run ledger, init-load records, collection loads, the catalog and the sync points.
public struct StateStore: Sendable {
    public let session: PostgresSession
    /// The state schema's name, unquoted (`etl` by default).
    public let schema: String

    /// The newest state schema version this release knows.
    public static var currentVersion: Int { StateMigrations.all.count }

    public init(session: PostgresSession, schema: String) {
        self.session = session
        self.schema = schema
    }

    var quotedSchema: String { PostgresSQL.quoteIdentifier(schema) }

    /// `{schema}.name`, quoted.
    func table(_ name: String) -> String { PostgresSQL.qualifiedName(schema: schema, name) }

    // MARK: Migrations

    /// Creates the state schema or brings it to `currentVersion`, each migration in one transaction under an
    /// advisory lock so two tools starting together migrate once. Refuses a schema a newer release migrated.
    @discardableResult
    public func migrate() async throws -> Int {
        let schema = schema, quoted = quotedSchema
        var version = try await session.withTransaction(purpose: "prepare the state schema \(schema)") { session in
            try session.query(
                "SELECT pg_advisory_xact_lock(hashtext('mongo-pg-sync state ' || $1))", parameters: [schema],
                purpose: "lock the state schema for migration")
            try session.execute(
                """
                CREATE SCHEMA IF NOT EXISTS \(quoted);
                CREATE TABLE IF NOT EXISTS \(quoted).schema_version (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    version integer NOT NULL,
                    migrated_at timestamptz NOT NULL DEFAULT clock_timestamp()
                );
                INSERT INTO \(quoted).schema_version (version) VALUES (0) ON CONFLICT DO NOTHING
                """, purpose: "create the state schema \(schema)")
            return Int(try session.query("SELECT version FROM \(quoted).schema_version", purpose: "read the state schema version").scalar ?? "0") ?? 0
        }
        try Self.refuseNewer(version, schema: schema)
        while version < Self.currentVersion {
            let target = version + 1
            version = try await session.withTransaction(purpose: "migrate the state schema \(schema) to version \(target)") { session in
                try session.query(
                    "SELECT pg_advisory_xact_lock(hashtext('mongo-pg-sync state ' || $1))", parameters: [schema],
                    purpose: "lock the state schema for migration")
                let current = Int(try session.query(
                    "SELECT version FROM \(quoted).schema_version FOR UPDATE", purpose: "read the state schema version").scalar ?? "0") ?? 0
                guard current == target - 1 else { return current }  // another tool migrated meanwhile
                try session.execute(StateMigrations.all[target - 1].replacingOccurrences(of: "{schema}", with: quoted),
                    purpose: "apply state migration \(target)")
                try session.query(
                    "UPDATE \(quoted).schema_version SET version = $1, migrated_at = clock_timestamp()", parameters: [String(target)],
                    purpose: "record state schema version \(target)")
                return target
            }
            try Self.refuseNewer(version, schema: schema)
        }
        return version
    }

    static func refuseNewer(_ version: Int, schema: String) throws(StateError) {
        guard version <= currentVersion else {
            throw StateError(.newerVersion,
                "the state schema \(schema) is at version \(version), newer than this release knows (\(currentVersion)); upgrade the toolkit")
        }
    }

    // MARK: Run ledger

    /// Opens a ledger row for one run of a tool; `arguments` must hold no secret (passwords never reach argv).
    public func startRun(tool: String, arguments: [String]) async throws(PostgresError) -> Int64 {
        let host = ProcessInfo.processInfo.hostName
        let rows = try await session.query(
            "INSERT INTO \(table("runs")) (tool, host, pid, arguments) VALUES ($1, $2, $3, $4) RETURNING id",
            parameters: [tool, host, String(getpid()), arguments.joined(separator: " ")], purpose: "record the start of \(tool)")
        return Int64(rows.scalar ?? "") ?? 0
    }

    /// Appends one step with its figures (rows, documents, seconds, ...) to a run.
    public func addStep(run: Int64, step: String, figures: [String: Double]) async throws(PostgresError) {
        var entry: [String: Any] = figures
        entry["step"] = step
        try await session.query(
            "UPDATE \(table("runs")) SET steps = steps || jsonb_build_array($2::jsonb) WHERE id = $1",
            parameters: [String(run), Self.json(entry)], purpose: "record step \(step) of run \(run)")
    }

    /// Closes a run with its exit status, a one-line message for failures, and its totals.
    public func finishRun(run: Int64, status: ExitStatus, message: String? = nil, figures: [String: Double] = [:]) async throws(PostgresError) {
        try await session.query(
            """
            UPDATE \(table("runs")) SET finished_at = clock_timestamp(), status = $2, exit_code = $3, message = $4,
                figures = figures || $5::jsonb WHERE id = $1
            """,
            parameters: [String(run), status == .ok ? "ok" : "error", String(status.rawValue), message, Self.json(figures)],
            purpose: "record the end of run \(run)")
    }

    static func json(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
