import TestSupport
import Testing

@testable import MongoPG

/// `RowComparison` and `RowMatcher`: a convergence's comparison of MongoDB's documents, flattened, with the rows
/// PostgreSQL holds, without rebuilding documents.
@Suite("Convergence: rows compared with the rows the load writes")
struct RowComparisonTests {
    static let plan = try! SchemaFixtures.plan(
        #"""
        {"_id": "int", "name": "string", "when": "date", "meta": "json", "tags": ["string"],
         "orders": [{"sku": "string", "qty": ["int"]}]}
        """#)
    static let document: BSONDocument = [
        "_id": .int32(7), "name": .string("Ann"), "when": .datetime(1_600_000_000_000),
        "meta": .document(["zz": .int32(1), "a": .array([.bool(true)])]), "tags": .array([.string("x"), .string("y")]),
        "orders": .array([
            .document(["sku": .string("s1"), "qty": .array([.int32(1), .int32(2)])]),
            .document(["sku": .string("s2"), "qty": .array([.int32(3)])]),
        ]),
    ]

    static func flattened(_ document: BSONDocument) throws -> [[[SQLValue]]] {
        var report = FlattenReport()
        return try Flattener(plan: plan).flatten(document, report: &report).rows
    }

    /// The rows as PostgreSQL gives them back: each table's rows in reverse order, jsonb spelt its own way.
    static func storedBack(_ rows: [[[SQLValue]]]) -> DocumentRows {
        DocumentRows(
            tables: rows.map { table in
                table.reversed().map { row in
                    row.map { cell in
                        guard case .json(let text) = cell, let spelt = JSONText.jsonbSpelling(text) else { return cell }
                        return .json(String(decoding: spelt, as: UTF8.self))
                    }
                }
            })
    }

    static func difference(_ stored: DocumentRows, _ mongo: BSONDocument) throws -> String? {
        RowComparison.firstDifference(stored: stored, flattened: try flattened(mongo), plan: plan)
    }

    @Test("the rows the load wrote, read back in any order and with jsonb's spelling, are the same")
    func same() throws {
        let stored = Self.storedBack(try Self.flattened(Self.document))
        #expect(try Self.difference(stored, Self.document) == nil)
    }

    @Test(
        "a changed, added or removed value shows in the table that holds it",
        arguments: [
            ("name", BSONValue.string("Bob"), "edge"), ("when", .datetime(1_600_000_000_001), "edge"),
            ("meta", .document(["zz": .int32(2), "a": .array([.bool(true)])]), "edge"),
            ("tags", .array([.string("x")]), "edge_tags"), ("tags", .array([.string("x"), .string("z")]), "edge_tags"),
            ("tags", .array([.string("x"), .string("y"), .string("z")]), "edge_tags"),
            (
                "orders",
                .array([
                    .document(["sku": .string("s1"), "qty": .array([.int32(1), .int32(2)])]),
                    .document(["sku": .string("s2"), "qty": .array([.int32(4)])]),
                ]), "edge_orders_qty"
            ),
            (
                "orders", .array([.document(["sku": .string("s1"), "qty": .array([.int32(1), .int32(2)])])]),
                "edge_orders"
            ),
        ])
    func changed(field: String, value: BSONValue, table: String) throws {
        let stored = Self.storedBack(try Self.flattened(Self.document))
        var mongo = Self.document
        mongo[field] = value
        #expect(try Self.difference(stored, mongo) == table)
    }

    @Test("a document whose rows are gone from one table, or not the root's, differs")
    func partialRows() throws {
        var stored = Self.storedBack(try Self.flattened(Self.document))
        stored.tables[0] = []
        #expect(try Self.difference(stored, Self.document) == "edge")
        #expect(
            RowComparison.firstDifference(
                stored: DocumentRows(tableCount: 2), flattened: try Self.flattened(Self.document), plan: Self.plan)
                != nil)
    }

    @Test("rows are put in the flattener's order by their index cells, outer arrays first")
    func keyOrder() {
        let rows: [[SQLValue]] = [
            [.integer(7), .integer(1), .integer(0)], [.integer(7), .integer(0), .integer(1)],
            [.integer(7), .integer(0), .integer(0)], [.integer(7), .integer(10), .integer(0)],
        ]
        #expect(
            RowComparison.inKeyOrder(rows, keyCount: 3).map { [$0[1], $0[2]] } == [
                [.integer(0), .integer(0)], [.integer(0), .integer(1)], [.integer(1), .integer(0)],
                [.integer(10), .integer(0)],
            ])
    }

    @Test("keys pair by their COPY text, json keys by jsonb's spelling")
    func match() {
        #expect(
            RowComparison.match(.json(#"{ "b" : 1, "a" : 2 }"#)) == RowComparison.match(.json(#"{"a": 2, "b": 1}"#)))
        #expect(RowComparison.match(.text("5ca4")) != RowComparison.match(.text("5ca5")))
        #expect(RowComparison.match(.double(1)) == RowComparison.match(.double(1.0)))
    }

    @Test("the matcher pairs documents offered from both sides in any order and keeps the rest for a lookup")
    func matcher() throws {
        func mongo(_ id: Int64) -> RowMerge.MongoItem {
            RowMerge.MongoItem(
                key: .integer(id), match: RowComparison.match(.integer(id)), id: .int64(id),
                document: ["_id": .int64(id)],
                rows: [[[.integer(id), .null, .null, .null]], [], [], []])
        }
        func stored(_ id: Int64) -> RowMerge.StoredItem {
            RowMerge.StoredItem(key: .integer(id), match: RowComparison.match(.integer(id)), root: [.integer(id)])
        }
        var matcher = RowMatcher()
        matcher.offer(mongo(1))
        matcher.offer(stored(2))
        matcher.offer(stored(1))
        matcher.offer(mongo(3))
        #expect(matcher.pairs.map(\.item.id) == [.int64(1)])
        #expect(matcher.waiting.mongoOnly.values.map(\.id) == [.int64(3)])
        #expect(matcher.waiting.storedOnly.values.map(\.key) == [.integer(2)])
        matcher.waiting.skipMongo.insert(RowComparison.match(.integer(4)))
        matcher.offer(mongo(4))
        #expect(matcher.waiting.mongoOnly.count == 1, "a document a lookup already compared is skipped")
        matcher.missing(mongo(5))
        matcher.compare(
            mongo(6), DocumentRows(tables: [[[.integer(6), .null, .null, .null]], [], [], []]), plan: Self.plan)
        let findings = matcher.takeFindings()
        #expect(findings.map(\.kind) == [.missing], "the same rows are no finding")
        #expect(findings.first?.mongoDocument == ["_id": .int64(5)])
        #expect(matcher.compared == 2)
    }
}
