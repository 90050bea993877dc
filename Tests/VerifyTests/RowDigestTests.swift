import Testing

@testable import MongoPG

/// `RowDigest` and `StoredDigests`: the digests `DigestMerge` compares before it reads any document's rows again.
@Suite("Convergence: digests of a document's rows")
struct RowDigestTests {
    typealias Rows = RowComparisonTests

    static func digest(_ document: BSONDocument) throws -> RowDigest {
        RowDigest(tables: try Rows.flattened(document))
    }

    @Test("the rows the load wrote, read back in any order and with jsonb's spelling, digest alike")
    func same() throws {
        let stored = Rows.storedBack(try Rows.flattened(Rows.document))
        #expect(RowDigest(tables: stored.tables) == (try Self.digest(Rows.document)))
        #expect(RowDigest(tables: stored.tables) != RowDigest(), "rows are not no rows")
    }

    @Test(
        "a changed, added or removed value changes the digest",
        arguments: [
            ("name", BSONValue.string("Bob")), ("when", .datetime(1_600_000_000_001)),
            ("meta", .document(["zz": .int32(2), "a": .array([.bool(true)])])), ("tags", .array([.string("x")])),
            ("tags", .array([.string("y"), .string("x")])),
            ("tags", .array([.string("x"), .string("y"), .string("y")])),
            ("orders", .array([.document(["sku": .string("s1"), "qty": .array([.int32(1), .int32(2)])])])),
            ("name", .null),
        ])
    func changed(field: String, value: BSONValue) throws {
        var mongo = Rows.document
        mongo[field] = value
        #expect(try Self.digest(mongo) != Self.digest(Rows.document))
    }

    @Test("a row lost, doubled, or moved to another table changes the digest")
    func rows() {
        let root: [SQLValue] = [.integer(1), .text("a")], child: [SQLValue] = [.integer(1), .integer(0)]
        let digest = RowDigest(tables: [[root], [child]])
        #expect(RowDigest(tables: [[root], []]) != digest)
        #expect(RowDigest(tables: [[root], [child, child]]) != digest)
        #expect(RowDigest(tables: [[root, child], []]) != digest)
        #expect(RowDigest(tables: [[root], [child]]) == digest)
    }

    @Test(
        "cells are told apart as the row comparison tells them: no two rows share their bytes",
        arguments: [
            ([SQLValue.text("a\tb")], [SQLValue.text("a"), .text("b")]), ([.null], [.text("\\N")]),
            ([.json("1")], [.text("1")]), ([.json("{\"a\": 1}")], [.json("{\"a\": 2}")]),
            ([.json("not json")], [.json("\"not json\"")]), ([.text("")], []), ([.integer(1)], [.double(1.5)]),
        ])
    func cells(row: [SQLValue], other: [SQLValue]) {
        func bytes(_ row: [SQLValue]) -> [UInt8] {
            var bytes: [UInt8] = []
            RowDigest.appendCells(row, to: &bytes)
            return bytes
        }
        #expect(bytes(row) != bytes(other))
        #expect(RowDigest(tables: [[row]]) != RowDigest(tables: [[other]]))
        #expect(BatchWrite.sameRow(row, other) == false, "the row comparison tells them apart too")
    }

    @Test("json cells digest by their value, as jsonb holds it")
    func json() {
        #expect(
            RowDigest(tables: [[[.integer(1), .json(#"{ "b" : [1, 2], "a" : null }"#)]]])
                == RowDigest(tables: [[[.integer(1), .json(#"{"a": null, "b": [1, 2]}"#)]]]))
    }

    @Test(
        "stored rows, jsonb as PostgreSQL prints it, digest as the document's flattened rows; json spelt otherwise differs"
    )
    func storedJSON() throws {
        var digests = StoredDigests(limit: 1)
        let stored = Rows.storedBack(try Rows.flattened(Rows.document))
        let added = stored.tables.enumerated().flatMap { table, rows in
            rows.map { digests.add($0, table: table) }
        }
        #expect(added.allSatisfy { $0 })
        #expect(digests.entries.values.first?.digest == (try Self.digest(Rows.document)))
        var unspelt = StoredDigests(limit: 1)
        _ = unspelt.add([.integer(1), .json(#"{ "a" : 1 }"#)], table: 0)
        #expect(
            unspelt.entries.values.first?.digest != RowDigest(tables: [[[.integer(1), .json(#"{"a": 1}"#)]]]),
            "not taken for alike: its rows are compared")
    }

    @Test("stored rows gather per document under their key, a json key whichever way it is spelt")
    func stored() {
        var digests = StoredDigests(limit: 10)
        let rows: [([SQLValue], Int)] = [
            ([.integer(1), .text("a")], 0), ([.integer(2), .text("b")], 0), ([.integer(1), .integer(0)], 1),
            ([.json(#"{"k": 1, "j": 2}"#)], 0),
        ]
        let added = rows.map { row, table in digests.add(row, table: table) }
        #expect(added == [true, true, true, true])
        let one = digests.take(RowComparison.match(.integer(1)))
        #expect(one?.key == .integer(1))
        #expect(one?.digest == RowDigest(tables: [[[.integer(1), .text("a")]], [[.integer(1), .integer(0)]]]))
        let again = digests.take(RowComparison.match(.integer(1)))
        #expect(again == nil, "taken once")
        let json = digests.take(RowComparison.match(.json(#"{ "j" : 2, "k" : 1 }"#)))
        #expect(json != nil)
        #expect(digests.entries.values.map(\.key) == [.integer(2)], "what is left: what MongoDB did not bring")
    }

    @Test("the digests refuse a document beyond their limit, never more rows of one they hold")
    func limit() {
        var digests = StoredDigests(limit: 2)
        let rows: [([SQLValue], Int)] = [([.integer(1)], 0), ([.integer(2)], 0), ([.integer(2), .integer(0)], 1)]
        let added = rows.map { row, table in digests.add(row, table: table) }
        #expect(added == [true, true, true])
        let beyond = digests.add([.integer(3)], table: 0)
        #expect(!beyond)
        #expect(digests.entries.count == 2)
    }
}
