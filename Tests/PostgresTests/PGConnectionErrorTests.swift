import Foundation
import MongoPG
import TestSupport
import Testing

@Suite("Connection failures", .tags(.integration))
struct PGConnectionErrorTests {
    @Test("a wrong password is .authentication, exit 69, and the password never appears in the description")
    func wrongPassword() async throws {
        let wrong = "wrong-\(UUID().uuidString)"
        let session = PostgresSession(name: "auth", logger: PostgresServer.quietLogger)
        let error = try await #require(throws: PostgresError.self) {
            try await session.connect(conninfo: try PostgresServer.conninfo, password: wrong)
        }
        #expect(error.kind == .authentication)
        #expect(error.exitStatus == .unavailable)
        #expect(error.exitStatus.rawValue == 69)
        #expect(error.description.contains("password authentication failed"))
        #expect(!error.description.contains(wrong))
        #expect(!error.serverMessage.contains(wrong))
    }

    @Test("a wrong password inside the conninfo itself is not echoed either")
    func wrongPasswordInConninfo() async throws {
        let wrong = "secret-\(UUID().uuidString)"
        let uri = try #require(URLComponents(string: try PostgresServer.conninfo))
        let conninfo =
            "host=\(uri.host ?? "127.0.0.1") port=\(uri.port ?? 5432) user=\(uri.user ?? "sync") password=\(wrong)"
        let session = PostgresSession(name: "auth", logger: PostgresServer.quietLogger)
        let error = try await #require(throws: PostgresError.self) {
            try await session.connect(conninfo: conninfo)
        }
        #expect(error.kind == .authentication)
        #expect(!error.description.contains(wrong))
        #expect(!error.description.contains(conninfo))
    }

    @Test("a port nobody listens on is .connect, exit 69, reported at once")
    func refusedPort() async throws {
        let session = PostgresSession(name: "refused", logger: PostgresServer.quietLogger)
        let clock = ContinuousClock()
        let start = clock.now
        let error = try await #require(throws: PostgresError.self) {
            try await session.connect(
                conninfo: "host=127.0.0.1 port=1 user=sync dbname=postgres connect_timeout=60", password: "unused")
        }
        // Far below connect_timeout: a refused connection is not waited out (the margin absorbs a loaded machine).
        #expect(clock.now - start < .seconds(55))
        #expect(error.kind == .connect)
        #expect(error.exitStatus == .unavailable)
        #expect(error.sqlState == nil)
        #expect(!error.description.contains("unused"))
    }
}
