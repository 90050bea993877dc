import Foundation
import TestSupport
import Testing

@testable import MongoPG

@Suite("Splitting a collection by _id", .tags(.integration), .serialized)
struct IDRangeTests {
    @Test(
        "split points from $bucketAuto cut the collection into disjoint slices that cover every document, odd _id types included"
    )
    func slicesCoverEverything() async throws {
        try await MongoServer.withTestDatabase { session, database in
            let namespace = Namespace(database: database, collection: "mixed")
            var random = SeededRandom(seed: 7)
            var documents: [BSONDocument] = (0..<400).map { _ in ["_id": .objectID(RandomDocuments.objectID(&random))] }
            documents += [
                ["_id": .string("a string id")], ["_id": .int32(5)], ["_id": .document(["x": .int32(1)])],
                ["_id": .int64(7)],
            ]
            try await session.insert(documents, into: namespace)
            let points = try await session.splitPoints(namespace, parts: 4)
            #expect(points.count == 3)
            let ranges = IDRange.ranges(splitPoints: points)
            #expect(ranges.count == 5)
            var seen: [String] = []
            for range in ranges {
                let found = try await session.findAll(
                    namespace, filter: range.filter, options: FindOptions(projection: ["_id": .int32(1)]))
                seen += found.map { "\($0["_id"]!)" }
            }
            #expect(seen.count == documents.count, "no document read twice or missed")
            #expect(Set(seen) == Set(documents.map { "\($0["_id"]!)" }))
        }
    }

    @Test("one part, or split points of mixed types, give one range over everything")
    func degenerate() {
        #expect(IDRange.ranges(splitPoints: []) == [.all])
        #expect(IDRange.ranges(splitPoints: [.int32(1), .string("x")]) == [.all])
        #expect(IDRange.all.filter.isEmpty)
        #expect(
            IDRange.ranges(splitPoints: [.int32(1), .int64(5), .double(9.5)]).count == 5, "all numbers compare together"
        )
    }

    @Test("ranges survive a round trip through JSON")
    func codable() throws {
        let ranges = IDRange.ranges(splitPoints: [.objectID(ObjectID(hex: "5ca4bbcea2dd94ee58162a68")!)])
        let data = try JSONEncoder().encode(ranges)
        #expect(try JSONDecoder().decode([IDRange].self, from: data) == ranges)
    }
}
