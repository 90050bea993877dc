import Foundation
import Testing

@testable import MongoPG

@Suite("Rows a run wrote, remembered for later batches")
struct WrittenRowsTests {
    static let namespace = Namespace(database: "shop", collection: "customers")
    static let plan = try! TablePlan(
        schema: CollectionSchema(
            namespace: namespace,
            jsonText: #"{"_id": "int", "name": "string", "tags": ["string"], "extra": "json", "at": "date"}"#))

    /// The rows BatchWriter remembers for a document: per table, the COPY text of its flattened rows.
    static func written(_ document: BSONDocument) throws -> (rows: DocumentRows, text: [[UInt8]]) {
        var report = FlattenReport()
        let rows = try Flattener(plan: plan).flatten(document, report: &report).rows
        let text = rows.map { table in
            var bytes: [UInt8] = []
            for row in table { CopyTextEncoder.appendRow(row, to: &bytes) }
            return bytes
        }
        return (DocumentRows(tables: rows), text)
    }

    static func document(_ id: Int32) -> BSONDocument {
        [
            "_id": .int32(id), "name": .string("tab\there, back\\slash, line\nbreak \(id)"),
            "tags": .array([.string("a"), .null, .string("c\(id)")]), "extra": .document(["k": .int32(id)]),
            "at": .datetime(1_700_000_000_123),
        ]
    }

    @Test("remembered rows come back as the flattener made them, a removed document as no row, others unknown")
    func roundTrip() throws {
        var known = WrittenRows()
        let first = try Self.written(Self.document(1)), second = try Self.written(Self.document(2))
        let removed = DocumentRows(tableCount: Self.plan.tables.count)
        known.remember([
            try DocumentKey(Self.namespace, .int32(1)): first.text,
            try DocumentKey(Self.namespace, .int32(2)): second.text,
            try DocumentKey(Self.namespace, .int32(3)): Array(repeating: [], count: Self.plan.tables.count),
        ])
        #expect(try known.rows(of: DocumentKey(Self.namespace, .int32(1)), plan: Self.plan) == first.rows)
        #expect(try known.rows(of: DocumentKey(Self.namespace, .int32(2)), plan: Self.plan) == second.rows)
        #expect(try known.rows(of: DocumentKey(Self.namespace, .int32(3)), plan: Self.plan) == removed)
        #expect(try known.rows(of: DocumentKey(Self.namespace, .int32(4)), plan: Self.plan) == nil)
        #expect(try known.rows(of: DocumentKey(Self.namespace, .int64(1)), plan: Self.plan) == nil, "another _id type")

        let changed = try Self.written(Self.document(10))
        known.remember([try DocumentKey(Self.namespace, .int32(1)): changed.text])
        #expect(try known.rows(of: DocumentKey(Self.namespace, .int32(1)), plan: Self.plan) == changed.rows)

        known.forget(Self.namespace)
        #expect(try known.rows(of: DocumentKey(Self.namespace, .int32(2)), plan: Self.plan) == nil)
        known.remember([try DocumentKey(Self.namespace, .int32(2)): second.text])
        known.forgetAll()
        #expect(try known.rows(of: DocumentKey(Self.namespace, .int32(2)), plan: Self.plan) == nil)
    }

    @Test("memory stays within the budget: the oldest documents are forgotten, the recently written kept")
    func budget() throws {
        var known = WrittenRows(budget: 64 * 1024)
        for id in Int32(0)..<2000 {
            known.remember([try DocumentKey(Self.namespace, .int32(id)): try Self.written(Self.document(id)).text])
        }
        let remembered = try (Int32(0)..<2000).filter {
            try known.rows(of: DocumentKey(Self.namespace, .int32($0)), plan: Self.plan) != nil
        }
        #expect(remembered.count > 100 && remembered.count < 1000)
        #expect(remembered == Array(Int32(2000 - Int32(remembered.count))..<2000), "the latest ones")
    }
}
