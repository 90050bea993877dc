import Logging

/// What a tool's entry function works from once its command line is parsed: the settings, its logger, and the
/// arguments it ran with (for the run ledger; they never hold a secret, since passwords never reach argv).
public struct ToolContext: Sendable {
    public let config: SyncConfig
    public let logger: Logger
    public let arguments: [String]

    public init(config: SyncConfig, logger: Logger, arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        self.config = config
        self.logger = logger
        self.arguments = arguments
    }

    /// A connected PostgreSQL session, the password resolved from `password_env`, `PGPASSWORD` or `~/.pgpass`.
    public func postgresSession(name: String) async throws -> PostgresSession {
        let session = PostgresSession(name: name, logger: logger)
        try await session.connect(conninfo: config.postgresConninfo, password: try config.postgresPassword())
        return session
    }

    /// The user triggers (name, qualified table) in the target schema that call `function`, on a short session.
    func triggers(calling function: String) async throws -> [(String, String)] {
        let session = try await postgresSession(name: "triggers")
        let found = try await session.triggers(calling: function, in: config.targetSchema)
        await session.close()
        return found
    }

    /// The state store on a new session of its own, migrated to the current version.
    public func openStateStore() async throws -> StateStore {
        try await StateStore.open(
            conninfo: config.postgresConninfo, password: try config.postgresPassword(), schema: config.stateSchema,
            logger: logger)
    }
}
