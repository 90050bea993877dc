import Foundation
import MongoPG

/// Connections to the SecantusDB server `scripts/services start` launched.
public enum MongoServer {
    /// Runs `body` with a session and the name of a database of its own (random name), dropped after `body`
    /// returned or threw, before this returns.
    public static func withTestDatabase<Result>(
        _ body: (MongoSession, String) async throws -> Result
    ) async throws -> Result {
        let session = try MongoSession(uri: try ServerEnvironment.shared.mongoURI(), name: "test")
        let database = "t_" + UUID().uuidString.prefix(8).lowercased()
        return try await withCleanUp {
            try await body(session, database)
        } cleanUp: {
            _ = try? await session.runCommand(["dropDatabase": .int32(1)], database: database)
        }
    }

    /// The `ts` of the oplog entry that inserted `_id` into `namespace` (it scans the oplog).
    public static func oplogTimestamp(of id: BSONValue, in namespace: Namespace, session: MongoSession) async throws
        -> BSONTimestamp?
    {
        let entries = try await session.findAll(
            MongoSession.oplog, filter: ["ns": .string(namespace.description), "op": .string("i"), "o._id": id])
        guard case .timestamp(let ts) = entries.first?["ts"] else { return nil }
        return ts
    }
}
