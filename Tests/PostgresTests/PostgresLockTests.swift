import MongoPG
import TestSupport
import Testing

@Suite("Advisory locks", .tags(.integration))
struct PostgresLockTests {
    @Test("a lock another session holds is .lockHeld (exit 75) and can be taken once released")
    func lockHeld() async throws {
        let key = Int64.random(in: Int64.min...Int64.max)
        let first = try await TestServer.session("first")
        let second = try await TestServer.session("second")
        try await first.tryAdvisoryLock(key: key, purpose: "lock the sync")
        let error = try await #require(throws: PostgresError.self) {
            try await second.tryAdvisoryLock(key: key, purpose: "lock the sync")
        }
        #expect(error.kind == .lockHeld)
        #expect(error.exitStatus == .locked)
        #expect(error.exitStatus.rawValue == 75)
        #expect(error.description.contains("\(key)"))
        #expect(error.description.contains("backend pid"))

        #expect(try await first.advisoryUnlock(key: key, purpose: "unlock the sync"))
        try await second.tryAdvisoryLock(key: key, purpose: "lock the sync")
        #expect(try await second.advisoryUnlock(key: key, purpose: "unlock the sync"))
        #expect(try await second.advisoryUnlock(key: key, purpose: "unlock again") == false)
    }

    @Test("closing the session that holds a lock releases it")
    func closeReleases() async throws {
        let key = Int64.random(in: 1...Int64.max)
        let first = try await TestServer.session("first")
        let second = try await TestServer.session("second")
        try await first.tryAdvisoryLock(key: key, purpose: "lock")
        await first.close()
        try await second.tryAdvisoryLock(key: key, purpose: "lock after close")
    }
}
