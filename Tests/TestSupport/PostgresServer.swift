import Foundation
import Logging
import MongoPG

/// Connections to the throwaway PostgreSQL cluster `scripts/services start` launched.
public enum PostgresServer {
    public static var conninfo: String { get throws { try ServerEnvironment.shared.postgresURI() } }
    public static var password: String? { ServerEnvironment.shared.values["PGPASSWORD"] }
    public static let quietLogger = Logger(label: "test.postgres") { _ in SwiftLogNoOpLogHandler() }

    /// A connected session on the test cluster, or on the server `conninfo` names (the Citus coordinator).
    public static func session(_ name: String = "test", logger: Logger = quietLogger, conninfo: String? = nil)
        async throws -> PostgresSession
    {
        let session = PostgresSession(name: name, logger: logger)
        try await session.connect(conninfo: try conninfo ?? self.conninfo, password: password)
        return session
    }

    /// Runs `body` with a connected session (on the server `conninfo` names, else the test cluster), closed after
    /// `body` returned or threw, before this returns.
    public static func withSession<R>(
        _ name: String = "test", conninfo: String? = nil, _ body: (PostgresSession) async throws -> R
    ) async throws -> R {
        let session = try await session(name, conninfo: conninfo)
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

    /// Runs `body` with a session and the name of a schema of its own (random name, after `prefix`), dropped with
    /// everything in it after `body` returned or threw, before this returns. `created`: the schema is made before
    /// `body` runs; otherwise only its name is reserved, for code under test that makes it.
    public static func withScratchSchema<R>(
        _ prefix: String = "t", created: Bool = false, logger: Logger = quietLogger,
        _ body: (PostgresSession, String) async throws -> R
    ) async throws -> R {
        let session = try await session(logger: logger)
        let schema = uniqueName(prefix)
        let quoted = PostgresSQL.quoteIdentifier(schema)
        return try await withCleanUp {
            if created { try await session.execute("CREATE SCHEMA \(quoted)", purpose: "create test schema") }
            return try await body(session, schema)
        } cleanUp: {
            try? await session.execute("DROP SCHEMA IF EXISTS \(quoted) CASCADE", purpose: "drop test schema")
            await session.close()
        }
    }
}
