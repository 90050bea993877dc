import Logging

/// One PostgreSQL connection and everything done on it. The session runs on a dispatch queue of its own
/// (`BlockingSerialExecutor`), because every libpq call blocks; callers `await` it from anywhere and only `Sendable`
/// values (`PGRows`, counts, errors) cross. Statements run one at a time, in call order of each caller.
public actor PostgresSession {
    private let executor: BlockingSerialExecutor
    private var connection: PGConnection?  // never leaves the actor
    private nonisolated let canceller = PGCancel()  // usable off the session: `cancelRunningStatement`
    let logger: Logger

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// `name` labels the session's queue (`postgres.<name>`); `logger` receives server notices (at `.debug`, or
    /// `.warning` for WARNING) and trace lines naming each statement's purpose, never its parameters.
    public init(name: String, logger: Logger) {
        executor = BlockingSerialExecutor(label: "postgres.\(name)")
        var logger = logger
        logger[metadataKey: "session"] = "\(name)"
        self.logger = logger
    }

    /// Opens the connection, replacing any earlier one. `conninfo` is a libpq `key=value` string or a `postgresql://`
    /// URI; `password`, when given, overrides one in it, and otherwise libpq reads `PGPASSWORD` or `~/.pgpass`.
    /// Neither is logged. Throws `.authentication` when the server rejects the password (or needs one and none was
    /// found), `.connect` for anything else; both mean exit 69.
    public func connect(conninfo: String, password: String? = nil) throws(PostgresError) {
        close()
        let connection = try PGConnection(conninfo: conninfo, password: password, logger: logger)
        logger.debug("connected to PostgreSQL", metadata: ["server_version": "\(connection.serverVersion)"])
        canceller.replace(with: connection.makeCancel())
        self.connection = connection
    }

    /// Closes the connection (`PQfinish`); session-level advisory locks are released by the server.
    public func close() {
        canceller.replace(with: nil)
        connection = nil
    }

    /// Asks the server to cancel the statement this session is running right now (`PQcancel`); callable from any
    /// task without waiting for the session. The statement then fails with SQLSTATE 57014 (`.statement`, or `.copy`
    /// during a COPY). Answers false when no connection is open or the request could not be sent; a statement that
    /// has not started yet is not affected.
    @discardableResult
    public nonisolated func cancelRunningStatement() -> Bool { canceller.cancel() }

    /// Runs a command without parameters through the simple protocol; `sql` may hold several statements separated by
    /// `;` (they run in one implicit transaction unless `sql` manages its own). `purpose` says in words what it is for
    /// and appears in errors.
    public func execute(_ sql: String, purpose: String) throws(PostgresError) {
        logger.trace("execute", metadata: ["purpose": "\(purpose)", "sql": "\(sql)"])
        _ = try open(purpose).execute(sql, purpose: purpose)
    }

    /// Runs one statement with `$n` placeholders bound to `parameters` (text format, nil is NULL) and returns its rows
    /// as text. Parameters are never logged nor put in errors.
    @discardableResult
    public func query(_ sql: String, parameters: [String?] = [], purpose: String) throws(PostgresError) -> PGRows {
        logger.trace("query", metadata: ["purpose": "\(purpose)", "sql": "\(sql)"])
        return try open(purpose).query(sql, parameters: parameters, purpose: purpose).rows
    }

    /// `BEGIN`, `COMMIT` and `ROLLBACK`, for callers that must await other work inside a transaction. Prefer
    /// `withTransaction` or `withAsyncTransaction`, which cannot forget the rollback.
    public func begin(purpose: String) throws(PostgresError) { try execute("BEGIN", purpose: purpose) }
    public func commit(purpose: String) throws(PostgresError) { try execute("COMMIT", purpose: purpose) }
    public func rollback(purpose: String) throws(PostgresError) { try execute("ROLLBACK", purpose: purpose) }

    /// Runs `body` on this session between `BEGIN` and `COMMIT`; if `body` throws (or `COMMIT` fails), the
    /// transaction is rolled back and the error rethrown. `body` runs synchronously on the session (it is handed the
    /// isolated session, so its calls need no `await`), and no other caller's statement can slip into the transaction.
    /// It is `@Sendable` because it crosses into the session; state it builds (a chunk source) is made inside it.
    public func withTransaction<Result: Sendable>(
        purpose: String, _ body: @Sendable (isolated PostgresSession) throws -> Result
    ) throws -> Result {
        try begin(purpose: purpose)
        do {
            let result = try body(self)
            try commit(purpose: purpose)
            return result
        } catch {
            rollbackAfterFailure(purpose: purpose)
            throw error
        }
    }

    /// Runs `body` between `BEGIN` and `COMMIT` for callers that must await other work inside the transaction (a
    /// MongoDB read, another session). If `body` throws (cancellation included) or `COMMIT` fails, the transaction is
    /// rolled back and the error rethrown. `body` runs in the caller's isolation, so it may touch the caller's state;
    /// while it awaits, the caller must not hand this session to other work, whose statements would join the
    /// transaction.
    /// `readOnlySnapshot`: one snapshot for every statement, and no writes (REPEATABLE READ READ ONLY).
    public func withAsyncTransaction<Result>(
        purpose: String, readOnlySnapshot: Bool = false, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await execute(
            readOnlySnapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN", purpose: purpose)
        do {
            let result = try await body()
            try await commit(purpose: purpose)
            return result
        } catch {
            // The rollback runs even in a cancelled task: an await on the session does not check cancellation.
            await rollbackAfterFailure(purpose: purpose)
            throw error
        }
    }

    /// Best effort: the original error matters more than a failed ROLLBACK (the server rolls back when the connection
    /// closes anyway). After a failed COMMIT the server has already ended the transaction; ROLLBACK then only warns.
    func rollbackAfterFailure(purpose: String) {
        guard let connection, connection.isHealthy else { return }
        do {
            _ = try connection.execute("ROLLBACK", purpose: "roll back \(purpose)")
        } catch {
            logger.warning("rollback failed", metadata: ["purpose": "\(purpose)", "error": "\(error)"])
        }
    }

    /// The open connection, or `.connect` when `connect` was never called, failed, or the connection was closed.
    func open(_ purpose: String) throws(PostgresError) -> PGConnection {
        guard let connection else {
            throw PostgresError(kind: .connect, purpose: purpose, serverMessage: "the session is not connected")
        }
        return connection
    }
}
