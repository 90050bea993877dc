import Foundation
import TestSupport
import Testing

@testable import MongoPG

@Suite("A replica set's oplog read by polling while it grows", .tags(.integration))
struct TailingOplogSourceTests {
    @Test("tailing the oplog from a timestamp sees inserts, updates and deletes, and the writes that come later")
    func tailOplog() async throws {
        // A server of its own: each poll's `ts` query scans SecantusDB's oplog, which the whole suite's writes make
        // long enough on the shared server to outlast the deadline below.
        try await PrivateMongoServer.with { uri in
            let session = try MongoSession(uri: uri, name: "test")
            let database = "tailed"
            let namespace = Namespace(database: database, collection: "tailed")
            try await session.insert([["_id": .string("before")]], into: namespace)
            let start = try #require(
                try await MongoServer.oplogTimestamp(of: .string("before"), in: namespace, session: session))
            try await session.insert([["_id": .string("a"), "n": .int32(1)]], into: namespace)
            _ = try await session.runCommand(
                [
                    "update": .string(namespace.collection),
                    "updates": .array([
                        .document([
                            "q": .document(["_id": .string("a")]),
                            "u": .document(["$set": .document(["n": .int32(2)])]),
                        ])
                    ]),
                ],
                database: database)
            _ = try await session.runCommand(
                [
                    "delete": .string(namespace.collection),
                    "deletes": .array([.document(["q": .document(["_id": .string("a")]), "limit": .int32(1)])]),
                ],
                database: database)
            var source = try await TailingOplogSource(
                name: "test", uri: uri, from: start, batchSize: 500,
                wait: .milliseconds(50))
            var operations: [String] = []
            var firstTimestamp: BSONTimestamp?
            // Polls read up to the safe position, which may trail the last write a moment: read until `count`
            // operations of the namespace came, within a deadline.
            func read(until count: Int) async throws {
                let deadline = ContinuousClock.now + .seconds(20)
                while operations.count < count, ContinuousClock.now < deadline {
                    for entry in try await source.next(maximum: 500) {
                        if firstTimestamp == nil, case .timestamp(let ts) = entry["ts"] { firstTimestamp = ts }
                        guard entry["ns"] == .string(namespace.description), case .string(let op) = entry["op"] else {
                            continue
                        }
                        operations.append(op)
                    }
                }
            }
            try await read(until: 4)
            #expect(firstTimestamp == start, "$gte: the entry at the start timestamp comes first")
            // The entry at `start` is the insert of "before": $gte replays it, then come the three changes.
            #expect(operations == ["i", "i", "u", "d"])
            // A write after the first polls arrives on a later one.
            try await session.insert([["_id": .string("later")]], into: namespace)
            try await read(until: 5)
            #expect(operations == ["i", "i", "u", "d", "i"])
        }
    }
}
