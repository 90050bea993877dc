import Foundation
import MongoPG
import TestSupport
import Testing

@Suite("Advisory locks", .tags(.integration))
struct PostgresLockTests {
    /// Runs `body` with two connected sessions and a lock key no other test uses; both closed before this returns.
    static func withTwoSessions(
        _ body: (_ first: PostgresSession, _ second: PostgresSession, _ key: Int64) async throws -> Void
    ) async throws {
        let key = Int64.random(in: Int64.min...Int64.max)
        let first = try await PostgresServer.session("first")
        try await withCleanUp {
            let second = try await PostgresServer.session("second")
            try await withCleanUp {
                try await body(first, second, key)
            } cleanUp: {
                await second.close()
            }
        } cleanUp: {
            await first.close()
        }
    }

    static func backendPID(_ session: PostgresSession) async throws -> String {
        try #require(try await session.query("SELECT pg_backend_pid()", purpose: "test").scalar)
    }

    /// The refusal `session` gets for `key`, checked to be `.lockHeld` (exit 75) naming the key and `holder`'s pid.
    static func expectRefused(
        _ session: PostgresSession, key: Int64, heldBy holder: PostgresSession,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let holderPID = try await backendPID(holder)
        let error = try await #require(throws: PostgresError.self, sourceLocation: sourceLocation) {
            try await session.tryAdvisoryLock(key: key, purpose: "lock the sync")
        }
        #expect(error.kind == .lockHeld, sourceLocation: sourceLocation)
        #expect(error.exitStatus == .locked, sourceLocation: sourceLocation)
        #expect(error.exitStatus.rawValue == 75, sourceLocation: sourceLocation)
        #expect(error.purpose == "lock the sync", sourceLocation: sourceLocation)
        #expect(error.description.contains("advisory lock \(key) "), "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains("(backend pid \(holderPID), "), "\(error)", sourceLocation: sourceLocation)
        // The holder's connection is named after its process (`<tool>[<pid>]`), here this test process.
        #expect(error.description.contains("[\(getpid())], from "), "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains(", since "), "\(error)", sourceLocation: sourceLocation)
        if let password = PostgresServer.password, !password.isEmpty {
            #expect(!error.description.contains(password), sourceLocation: sourceLocation)
        }
    }

    /// Tries to take `key` on `session`: nil once taken, else the refusal.
    static func refusal(_ session: PostgresSession, key: Int64, purpose: String) async -> PostgresError? {
        do {
            try await session.tryAdvisoryLock(key: key, purpose: purpose)
            return nil
        } catch {
            return error
        }
    }

    @Test("a lock another session holds is .lockHeld (exit 75) and can be taken once released")
    func lockHeld() async throws {
        try await Self.withTwoSessions { first, second, key in
            try await first.tryAdvisoryLock(key: key, purpose: "lock the sync")
            try await Self.expectRefused(second, key: key, heldBy: first)
            // Taking it again from the session that holds it is no refusal: session-level locks stack.
            try await first.tryAdvisoryLock(key: key, purpose: "lock the sync again")
            #expect(try await first.advisoryUnlock(key: key, purpose: "unlock the second hold"))
            try await Self.expectRefused(second, key: key, heldBy: first)
            // The refused session took nothing: it has nothing to unlock.
            #expect(try await second.advisoryUnlock(key: key, purpose: "unlock what was refused") == false)

            #expect(try await first.advisoryUnlock(key: key, purpose: "unlock the sync"))
            try await second.tryAdvisoryLock(key: key, purpose: "lock the sync")
            // Now the second session holds it, and the first is the one refused.
            try await Self.expectRefused(first, key: key, heldBy: second)
            #expect(try await second.advisoryUnlock(key: key, purpose: "unlock the sync"))
            #expect(try await second.advisoryUnlock(key: key, purpose: "unlock again") == false)
        }
    }

    @Test("closing the session that holds a lock releases it")
    func closeReleases() async throws {
        try await Self.withTwoSessions { first, second, key in
            try await first.tryAdvisoryLock(key: key, purpose: "lock")
            try await Self.expectRefused(second, key: key, heldBy: first)
            await first.close()
            // PQfinish returns before the server's backend has exited and dropped its locks: allow it a moment.
            let deadline = ContinuousClock.now + .seconds(10)
            while let refusal = await Self.refusal(second, key: key, purpose: "lock after close") {
                guard refusal.kind == .lockHeld, ContinuousClock.now < deadline else { throw refusal }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(
                try await second.advisoryUnlock(key: key, purpose: "unlock after close"), "the second session holds it")
        }
    }
}
