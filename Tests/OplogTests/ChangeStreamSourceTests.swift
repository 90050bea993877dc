import Foundation
import Logging
import TestSupport
import Testing

@testable import MongoPG

/// `ChangeStreamSource` against SecantusDB: events as oplog entries, filtered in the server, the run's end, the
/// post-batch position, and a stream that keeps waiting.
@Suite("Change stream source against SecantusDB", .tags(.integration))
struct ChangeStreamSourceTests {
    static func source(
        _ uri: String, _ collections: [Namespace], start: BSONTimestamp, following: Bool = false
    ) async throws -> ChangeStreamSource {
        try await ChangeStreamSource(
            source: .init(name: "rs0", uri: uri, mode: .changeStream), name: "rs0", scope: .cluster,
            collections: collections, start: .time(start), batchSize: 100, logger: Logger(label: "test"),
            following: following ? FollowSettings(commitSeconds: 1) : nil)
    }

    static func ops(_ entries: [BSONDocument]) -> [String] {
        entries.map { entry in
            if case .string(let op)? = entry["op"] { op } else { "?" }
        }
    }

    @Test("a catch-up reads the synced collection's events up to the end, then a position entry, then nothing")
    func catchUp() async throws {
        try await MongoServer.withTestDatabase { session, database in
            let synced = Namespace(database: database, collection: "synced")
            let other = Namespace(database: database, collection: "other")
            let uri = try ServerEnvironment.shared.mongoURI()
            let start = try await session.safeOplogPosition()
            try await session.insert([["_id": .int32(1), "a": .int32(1)]], into: synced)
            try await session.insert([["_id": .int32(1)]], into: other)
            _ = try await session.runCommand(
                [
                    "update": .string("synced"),
                    "updates": .array([
                        .document([
                            "q": .document(["_id": .int32(1)]),
                            "u": .document(["$set": .document(["a": .int32(2)])]),
                        ])
                    ]),
                ], database: database)
            let source = try await Self.source(uri, [synced], start: start)
            var entries: [BSONDocument] = []
            while true {
                let batch = try await source.next(maximum: 1)
                if batch.isEmpty { break }
                entries += batch
            }
            // The other collection's insert was filtered in the server; the last entry only moves the position.
            #expect(Self.ops(entries) == ["i", "u", "n"], "\(entries)")
            #expect(entries.allSatisfy { $0[ChangeEvent.resumeTokenKey] != nil })
            if case .timestamp(let last)? = entries.last?["ts"] { #expect(last == source.end) }
            #expect(try await source.next(maximum: 10).isEmpty)
            #expect(source.invalidation == nil)
        }
    }

    @Test("a following stream keeps waiting: new events come in later calls, a quiet one answers nothing")
    func following() async throws {
        try await MongoServer.withTestDatabase { session, database in
            let synced = Namespace(database: database, collection: "synced")
            let uri = try ServerEnvironment.shared.mongoURI()
            let start = try await session.safeOplogPosition()
            try await session.insert([["_id": .int32(1)]], into: synced)
            let source = try await Self.source(uri, [synced], start: start, following: true)
            // Each call answers what one getMore brought: SecantusDB scans its oplog in slices, so the insert may
            // take a few calls; position entries may come between.
            func nextChange() async throws -> BSONDocument? {
                for _ in 0..<200 {
                    if let change = try await source.next(maximum: 100).first(where: { $0["op"] != .string("n") }) {
                        return change
                    }
                }
                return nil
            }
            #expect(try await nextChange()?["o"] == .document(["_id": .int32(1)]))
            // Quiet: no change; at most a moved position (other tests write elsewhere on the shared server).
            #expect(Self.ops(try await source.next(maximum: 100)).allSatisfy { $0 == "n" })
            try await session.insert([["_id": .int32(2)]], into: synced)
            #expect(try await nextChange()?["o"] == .document(["_id": .int32(2)]))
        }
    }
}
