import Foundation
import TestSupport
import Testing

@testable import MongoPG

@Suite("MongoDB client against SecantusDB", .tags(.integration), .serialized)
struct MongoSessionTests {
    @Test("hello answers as a writable primary")
    func hello() async throws {
        let session = try MongoSession(uri: try ServerEnvironment.shared.mongoURI())
        let reply = try await session.hello()
        #expect(reply["ok"]?.integerValue == 1)
        #expect(reply["isWritablePrimary"] == .bool(true) || reply["ismaster"] == .bool(true))
    }

    @Test("the sample documents come back byte-identical, streamed in batches")
    func sampleRoundTrip() async throws {
        let lines = try Fixtures.extendedJSONLines("sample_analytics/customers.json")
        let expected = try lines.map { try BSONDocument.bytes(fromExtendedJSON: $0) }
        try await MongoServer.withTestDatabase { session, database in
            let namespace = Namespace(database: database, collection: "customers")
            let inserted = try await session.insert(try expected.map { try BSONDecoder.decode($0) }, into: namespace)
            #expect(inserted == expected.count)
            let cursor = try await session.find(
                namespace, options: FindOptions(sort: ["_id": .int32(1)], batchSize: 64))
            var received: [[UInt8]] = []
            while true {
                let batch = try await session.nextBatch(cursor, maximum: 100)
                if batch.isEmpty { break }
                #expect(batch.count <= 100)
                received.append(contentsOf: batch.map(\.bytes))
            }
            #expect(await session.isOpen(cursor) == false)
            let sortedExpected = try expected.sorted { a, b in
                guard case .objectID(let x) = try BSONDecoder.decode(a)["_id"],
                    case .objectID(let y) = try BSONDecoder.decode(b)["_id"]
                else { return false }
                return x < y
            }
            #expect(received.count == expected.count)
            #expect(received == sortedExpected)
        }
    }

    @Test("documents are fetched by a list of _ids, absent ones simply missing, many ids in several queries")
    func fetchByIDs() async throws {
        try await MongoServer.withTestDatabase { session, database in
            let namespace = Namespace(database: database, collection: "things")
            let documents: [BSONDocument] = (0..<20).map { ["_id": .int32(Int32($0)), "v": .string("value \($0)")] }
            try await session.insert(documents, into: namespace)
            let fetched = try await session.documents(namespace, ids: [.int32(3), .int32(17), .int32(99)])
            let ids = try fetched.map { try $0.decode()["_id"] }
            #expect(Set(ids.compactMap { $0?.integerValue }) == [3, 17])
            #expect(try await session.documents(namespace, ids: []).isEmpty)
            // Many ids go in several queries, every document found once.
            let chunked = try await session.documents(namespace, ids: (0..<25).map { .int32($0) }, perQuery: 4)
            #expect(try chunked.compactMap { try $0.decode()["_id"]?.integerValue }.sorted() == Array(0..<20))
        }
    }

    @Test("a filter and projection are applied by the server")
    func filterAndProjection() async throws {
        try await MongoServer.withTestDatabase { session, database in
            let namespace = Namespace(database: database, collection: "things")
            try await session.insert(
                (0..<10).map { ["_id": .int32(Int32($0)), "v": .int32(Int32($0 * 10)), "w": .bool(true)] },
                into: namespace)
            let found = try await session.findAll(
                namespace, filter: ["v": .document(["$gte": .int32(50)])],
                options: FindOptions(projection: ["v": .int32(1)], sort: ["v": .int32(-1)], limit: 3))
            #expect(
                found == [
                    ["_id": .int32(9), "v": .int32(90)], ["_id": .int32(8), "v": .int32(80)],
                    ["_id": .int32(7), "v": .int32(70)],
                ])
        }
    }

    @Test("the safe oplog position lies between the write before it and the write after it")
    func safeOplogPosition() async throws {
        try await MongoServer.withTestDatabase { session, database in
            let namespace = Namespace(database: database, collection: "positions")
            for round in 0..<3 {
                try await session.insert([["_id": .string("before\(round)")]], into: namespace)
                let position = try await session.safeOplogPosition()
                try await session.insert([["_id": .string("after\(round)")]], into: namespace)
                let before = try #require(
                    try await MongoServer.oplogTimestamp(of: .string("before\(round)"), in: namespace, session: session)
                )
                let after = try #require(
                    try await MongoServer.oplogTimestamp(of: .string("after\(round)"), in: namespace, session: session))
                #expect(before <= position, "no write committed before the call is skipped")
                #expect(position <= after, "a replay from the position sees the write made after the call")
            }
        }
    }

    @Test("the safe oplog position reads no oplog entry: it is answered with every query command failing")
    func safeOplogPositionReadsNoEntry() async throws {
        try await PrivateMongoServer.with(arguments: ["--enable-test-commands"]) { uri in
            let session = try MongoSession(uri: uri, name: "test")
            let namespace = Namespace(database: "positions", collection: "c")
            try await session.insert([["_id": .int32(1)]], into: namespace)
            let before = try #require(
                try await MongoServer.oplogTimestamp(of: .int32(1), in: namespace, session: session))
            // A position found by reading the oplog (a sort on $natural, a ts range) needs find, aggregate or getMore.
            _ = try await session.runCommand(
                [
                    "configureFailPoint": .string("failCommand"), "mode": .string("alwaysOn"),
                    "data": .document([
                        "failCommands": .array([.string("find"), .string("aggregate"), .string("getMore")]),
                        "errorCode": .int32(2),
                    ]),
                ], database: "admin")
            await #expect(throws: MongoError.self, "the failpoint is armed") {
                _ = try await session.findAll(Self.oplog)
            }
            let position = try await session.safeOplogPosition()
            _ = try await session.runCommand(
                ["configureFailPoint": .string("failCommand"), "mode": .string("off")], database: "admin")
            try await session.insert([["_id": .int32(2)]], into: namespace)
            let after = try #require(
                try await MongoServer.oplogTimestamp(of: .int32(2), in: namespace, session: session))
            #expect(before <= position && position <= after)
        }
    }

    @Test("a start position is held back to the first entry of a transaction still open, as config.transactions says")
    func safeStartPosition() async throws {
        // A server of its own: the planted session records would hold back every other test's start.
        try await PrivateMongoServer.with { uri in
            let session = try MongoSession(uri: uri, name: "test")
            let namespace = Namespace(database: "positions", collection: "c")
            try await session.insert([["_id": .int32(1)]], into: namespace)
            let before = try #require(
                try await MongoServer.oplogTimestamp(of: .int32(1), in: namespace, session: session))
            let plain = try await session.safeStartPosition()
            #expect(before <= plain, "nothing open: the commit point")
            // The records mongod keeps (session_txn_record.idl), planted: SecantusDB writes none of its own.
            let transactions = Namespace(database: "config", collection: "transactions")
            func record(_ number: Int64, _ state: String, _ start: BSONTimestamp) -> BSONDocument {
                [
                    "_id": .document(["id": .binary(BSONBinary(subtype: 4, data: Array(repeating: 1, count: 16)))]),
                    "txnNum": .int64(number), "state": .string(state),
                    "startOpTime": .document(["ts": .timestamp(start), "t": .int64(1)]),
                ]
            }
            let prepared = BSONTimestamp(seconds: before.seconds - 5, increment: 1)
            var committed = record(2, "committed", BSONTimestamp(seconds: before.seconds - 9, increment: 1))
            committed["_id"] = .document(["id": .binary(BSONBinary(subtype: 4, data: Array(repeating: 2, count: 16)))])
            try await session.insert([record(1, "prepared", prepared), committed], into: transactions)
            #expect(
                try await session.safeStartPosition() == prepared, "held back to the prepared one, not the committed")
        }
    }

    @Test("a standalone server has no safe oplog position: a configuration error naming the source (78)")
    func safeOplogPositionOnStandalone() async throws {
        try await PrivateMongoServer.with(arguments: ["--standalone"]) { uri in
            let session = try MongoSession(uri: uri, name: "test")
            let error = await #expect(throws: MongoError.self) {
                _ = try await session.safeOplogPosition(source: "rs9")
            }
            #expect(error?.kind == .notReplicaSet)
            #expect(error?.exitStatus == .configError)
            #expect(error?.description.contains("oplog source rs9") == true)
            #expect(error?.description.contains("not a replica set member") == true)
        }
    }

    static let oplog = MongoSession.oplog

    @Test("an unreachable server is reported as unavailable within a bounded time")
    func unreachable() async throws {
        try await withDeadLoopbackPort { port in
            let session = try MongoSession(
                uri: "mongodb://127.0.0.1:\(port)/?serverSelectionTimeoutMS=1500&connectTimeoutMS=1000")
            let clock = ContinuousClock()
            let started = clock.now
            let error = await #expect(throws: MongoError.self) { _ = try await session.hello() }
            #expect(error?.kind == .unavailable)
            #expect(error?.exitStatus == .unavailable)
            // Bounded by the URI's timeouts, far below libmongoc's default 30 s server selection (margin for a loaded machine).
            #expect(clock.now - started < .seconds(20))
            // A find on a dead server is an error too, never an empty result.
            let findError = await #expect(throws: MongoError.self) {
                _ = try await session.findAll(Namespace(database: "x", collection: "y"))
            }
            #expect(findError?.kind == .unavailable)
        }
    }

    @Test("a malformed URI is a configuration error, and its password never shows")
    func badURI() {
        let error = #expect(throws: MongoError.self) {
            _ = try MongoSession(uri: "mongodb://user:s3cretpw@host:notaport/")
        }
        #expect(error?.kind == .invalidURI)
        #expect(error?.exitStatus == .configError)
        #expect(error?.description.contains("s3cretpw") == false)
    }

    @Test("a server error carries the operation, namespace and code")
    func serverError() async throws {
        let session = try MongoSession(uri: try ServerEnvironment.shared.mongoURI())
        let error = await #expect(throws: MongoError.self) {
            _ = try await session.runCommand(["noSuchCommandAtAll": .int32(1)], database: "admin")
        }
        #expect(error?.kind == .server)
        #expect(error?.code != nil)
        #expect(error?.description.contains("noSuchCommandAtAll") == true)
    }
}
