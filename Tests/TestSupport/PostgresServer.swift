import Foundation
import Logging
import MongoPG

/// Connections to the throwaway PostgreSQL cluster `scripts/services start` launched.
public enum PostgresServer {
    public static var conninfo: String { get throws { try ServerEnvironment.shared.postgresURI() } }
    public static var password: String? { ServerEnvironment.shared.values["PGPASSWORD"] }
    public static let quietLogger = Logger(label: "test.postgres") { _ in SwiftLogNoOpLogHandler() }

    public static func session(_ name: String = "test", logger: Logger = quietLogger) async throws -> PostgresSession {
        let session = PostgresSession(name: name, logger: logger)
        try await session.connect(conninfo: conninfo, password: password)
        return session
    }

    /// Runs `body` with a connected session, closed after `body` returned or threw, before this returns.
    public static func withSession<R>(_ name: String = "test", _ body: (PostgresSession) async throws -> R) async throws
        -> R
    {
        let session = try await session(name)
        return try await withCleanUp {
            try await body(session)
        } cleanUp: {
            await session.close()
        }
    }

    /// A fresh schema name no other test uses.
    public static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.prefix(8).lowercased()
    }

    /// Runs `body` with a session and the name of a schema reserved for it, dropped (with everything in it) after.
    public static func withScratchSchema<R>(_ prefix: String = "t", _ body: (PostgresSession, String) async throws -> R)
        async throws -> R
    {
        let session = try await session()
        let schema = uniqueName(prefix)
        do {
            let result = try await body(session, schema)
            try? await session.execute(
                "DROP SCHEMA IF EXISTS \(PostgresSQL.quoteIdentifier(schema)) CASCADE", purpose: "drop test schema")
            await session.close()
            return result
        } catch {
            try? await session.execute(
                "DROP SCHEMA IF EXISTS \(PostgresSQL.quoteIdentifier(schema)) CASCADE", purpose: "drop test schema")
            await session.close()
            throw error
        }
    }
}
