import Logging

/// The sync's state in PostgreSQL (DESIGN.md, "State in PostgreSQL"): a versioned schema the tools create and
/// migrate themselves, the run ledger, init-load records, collection loads, split points, the catalog and the sync
/// points. Every SQL statement on the state schema lives in this folder, one file per record kind; tools use the
/// functions, never the session.
public struct StateStore: Sendable {
    /// The session state statements run on; it may be shared with the tool's own work (psql-copy's load session).
    let session: PostgresSession
    /// The state schema's name, unquoted (`etl` by default).
    public let schema: String

    /// The newest state schema version this release knows.
    public static var currentVersion: Int { StateMigrations.all.count }

    /// A store over a session the caller opened and owns; `migrate()` before using it.
    public init(session: PostgresSession, schema: String) {
        self.session = session
        self.schema = schema
    }

    /// A store on a new session of its own, migrated to `currentVersion`. Throws `PostgresError` (exit 69) when the
    /// server cannot be reached, `StateError.newerVersion` (exit 78) for a schema a newer release migrated.
    public static func open(
        conninfo: String, password: String?, schema: String, logger: Logger, name: String = "state"
    ) async throws -> StateStore {
        let session = PostgresSession(name: name, logger: logger)
        try await session.connect(conninfo: conninfo, password: password)
        let store = StateStore(session: session, schema: schema)
        do {
            try await store.migrate()
        } catch {
            await session.close()
            throw error
        }
        return store
    }

    /// Closes the store's session.
    public func close() async { await session.close() }

    /// Opens a store with `open`, runs `body` on it and closes it, also when `body` throws.
    public static func withOpened<Result>(
        _ open: () async throws -> StateStore, _ body: (StateStore) async throws -> Result
    ) async throws -> Result {
        let store = try await open()
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    var quotedSchema: String { PostgresSQL.quoteIdentifier(schema) }

    /// `{schema}.name`, quoted.
    func table(_ name: String) -> String { PostgresSQL.qualifiedName(schema: schema, name) }

    /// A number PostgreSQL returned for a state statement: an answer that is not one is a bug, never a zero.
    static func number(_ text: String?, of what: String) throws(StateError) -> Int64 {
        guard let text, let value = Int64(text) else {
            throw StateError(.unexpectedAnswer, "PostgreSQL answered \(text.map { "'\($0)'" } ?? "NULL") for \(what)")
        }
        return value
    }

    /// A run's or init load's stored status; anything else is `.unexpectedAnswer` naming `what`.
    static func status(_ text: String?, of what: String) throws(StateError) -> RunStatus {
        guard let text, let status = RunStatus(rawValue: text), status != .died else {
            throw StateError(
                .unexpectedAnswer, "PostgreSQL answered \(text.map { "'\($0)'" } ?? "NULL") for the status of \(what)")
        }
        return status
    }

    // MARK: Migrations

    /// Creates the state schema or brings it to version `last` (`currentVersion`; tests stop earlier), each
    /// migration in one transaction under an advisory lock so two tools starting together migrate once. Refuses a
    /// schema a newer release migrated.
    @discardableResult
    public func migrate(through last: Int = currentVersion) async throws -> Int {
        let schema = schema, quoted = quotedSchema
        var version = try await session.withTransaction(purpose: "prepare the state schema \(schema)") { session in
            try Self.lockForMigration(schema, on: session)
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
            return try Self.version(of: schema, on: session, forUpdate: false)
        }
        try Self.refuseNewer(version, schema: schema)
        while version < min(last, Self.currentVersion) {
            let target = version + 1
            version = try await session.withTransaction(
                purpose: "migrate the state schema \(schema) to version \(target)"
            ) { session in
                try Self.lockForMigration(schema, on: session)
                let current = try Self.version(of: schema, on: session, forUpdate: true)
                guard current == target - 1 else { return current }  // another tool migrated meanwhile
                try session.execute(
                    StateMigrations.all[target - 1].replacingOccurrences(of: "{schema}", with: quoted),
                    purpose: "apply state migration \(target)")
                try session.query(
                    "UPDATE \(quoted).schema_version SET version = $1, migrated_at = clock_timestamp()",
                    parameters: [String(target)], purpose: "record state schema version \(target)")
                return target
            }
            try Self.refuseNewer(version, schema: schema)
        }
        return version
    }

    private static func lockForMigration(_ schema: String, on session: isolated PostgresSession) throws {
        try session.query(
            "SELECT pg_advisory_xact_lock(hashtext('mongo-pg-sync state ' || $1))", parameters: [schema],
            purpose: "lock the state schema for migration")
    }

    private static func version(of schema: String, on session: isolated PostgresSession, forUpdate: Bool) throws -> Int
    {
        let rows = try session.query(
            "SELECT version FROM \(PostgresSQL.quoteIdentifier(schema)).schema_version\(forUpdate ? " FOR UPDATE" : "")",
            purpose: "read the state schema version")
        return Int(try number(rows.scalar, of: "the version of the state schema \(schema)"))
    }

    static func refuseNewer(_ version: Int, schema: String) throws(StateError) {
        guard version <= currentVersion else {
            throw StateError(
                .newerVersion,
                "the state schema \(schema) is at version \(version), newer than this release knows "
                    + "(\(currentVersion)); upgrade the toolkit")
        }
    }
}
