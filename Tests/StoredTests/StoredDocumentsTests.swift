import Foundation
import TestSupport
import Testing

@testable import MongoPG

/// Reading documents back from real tables: a batch of `_id`s against the whole collection.
@Suite("Stored documents by _id", .tags(.integration))
struct StoredDocumentsTests {
    /// Creates the plan's tables in `schema` (its target schema) and inserts the documents' rows with typed
    /// parameters; returns the documents that flattened, with their rows.
    static func store(
        _ documents: [BSONDocument], plan: TablePlan, session: PostgresSession
    ) async throws -> [(document: BSONDocument, rows: FlattenedDocument)] {
        try await session.execute(
            "CREATE SCHEMA IF NOT EXISTS \(PostgresSQL.quoteIdentifier(plan.settings.targetSchema))",
            purpose: "create the target schema")
        try await session.execute(plan.ddl, purpose: "create the tables")
        var stored: [(BSONDocument, FlattenedDocument)] = []
        for document in documents {
            var report = FlattenReport()
            guard let flattened = try? Flattener(plan: plan).flatten(document, report: &report) else { continue }
            for (table, rows) in zip(plan.tables, flattened.rows) {
                let columns = table.columns.map { Identifier.quoted($0.name) }.joined(separator: ", ")
                let placeholders = table.columns.enumerated().map {
                    "$\($0.offset + 1)::\($0.element.sqlType.rawValue)"
                }
                for row in rows {
                    try await session.query(
                        "INSERT INTO \(plan.qualifiedName(table)) (\(columns)) "
                            + "VALUES (\(placeholders.joined(separator: ", ")))",
                        values: row.map { .value($0) }, purpose: "insert a test row")
                }
            }
            stored.append((document, flattened))
        }
        return stored
    }

    /// The edge-case fixture's plan (`_extra` kept) in `schema`, and 40 random documents fitting its schema stored in
    /// its tables: those that flattened, at least 20.
    static func storedEdgeCases(seed: UInt64, schema: String, session: PostgresSession) async throws
        -> (plan: TablePlan, stored: [(document: BSONDocument, rows: FlattenedDocument)], random: SeededRandom)
    {
        let plan = try SchemaFixtures.fixturePlan(
            "edge_cases.json", namespace: "test.edge", settings: FlattenSettings(keepExtra: true, targetSchema: schema))
        var random = SeededRandom(seed: seed)
        let documents = (0..<40).map { _ in RandomSchemas.document(for: plan.schema, &random) }
        let stored = try await store(documents, plan: plan, session: session)
        try #require(stored.count >= 20)
        return (plan, stored, random)
    }

    /// Rows in a fixed order (by their COPY text), so two reads compare whatever order the server returned.
    static func sorted(_ rows: DocumentRows) -> DocumentRows {
        DocumentRows(
            tables: rows.tables.map { table in
                table.sorted { a, b in
                    var x: [UInt8] = []
                    var y: [UInt8] = []
                    CopyTextEncoder.appendRow(a, to: &x)
                    CopyTextEncoder.appendRow(b, to: &y)
                    return x.lexicographicallyPrecedes(y)
                }
            })
    }

    @Test(
        "rows read for some _ids are exactly those documents' rows, equal to the whole-table read's; others stay unread"
    )
    func someIDs() async throws {
        try await PostgresServer.withScratchSchema("stored") { session, schema in
            let (plan, stored, _) = try await Self.storedEdgeCases(seed: 42, schema: schema, session: session)
            let all = try await StoredDocuments.allRows(plan: plan, session: session)
            #expect(all.count == stored.count)

            let chosen = [stored[3], stored[0], stored[11], stored[3]]
            let ids = try chosen.map { try plan.keyValue(ofID: $0.document["_id"]!) }
            let absent = SQLValue.text(ObjectID((0..<12).map { _ in 0xEE })!.hex)
            let rows = try await StoredDocuments.rows(ofIDs: ids + [absent], plan: plan, session: session)
            #expect(rows.count == 5)
            #expect(rows[4] == nil)
            for (index, item) in chosen.enumerated() {
                let read = try #require(rows[index])
                // As many rows per table as the document flattened to (their cells come back in PostgreSQL's forms:
                // jsonb reordered, numeric expanded), and the very rows the whole-table read gives it.
                #expect(read.tables.map(\.count) == item.rows.rows.map(\.count))
                let key = try #require(try SQLParameter.text(of: ids[index]))
                #expect(Self.sorted(read) == Self.sorted(try #require(all[key])))
            }
            // Nothing of the documents not asked for: the rows read are exactly the chosen documents' rows.
            let readCount: Int = rows.compactMap { $0?.rowCount }.reduce(0, +)
            let chosenCount: Int = chosen.map { item in item.rows.rows.reduce(0) { $0 + $1.count } }.reduce(0, +)
            #expect(readCount == chosenCount)

            let rebuilt = try await StoredDocuments.documents(withIDs: ids + [absent], plan: plan, session: session)
            let whole = try await StoredDocuments.all(plan: plan, session: session)
            for (index, item) in chosen.enumerated() {
                #expect(rebuilt[index] == (try normalise(item.document, plan: plan)))
                #expect(rebuilt[index] == whole[try #require(try SQLParameter.text(of: ids[index]))])
            }
            #expect(rebuilt[4] == nil)
            #expect(try await StoredDocuments.rows(ofIDs: [], plan: plan, session: session).isEmpty)
        }
    }

    @Test("child rows without their root row are refused, never taken for an absent document")
    func orphanRows() async throws {
        try await PostgresServer.withScratchSchema("stored") { session, schema in
            let plan = try SchemaFixtures.plan(
                #"{"_id": "int", "tags": ["string"]}"#, settings: FlattenSettings(targetSchema: schema))
            _ = try await Self.store(
                [["_id": .int32(1), "tags": .array([.string("a"), .string("b")])]], plan: plan, session: session)
            try await session.execute("DELETE FROM \(plan.qualifiedName(plan.rootTable))", purpose: "drop the root row")
            let rows = try await StoredDocuments.rows(ofIDs: [.integer(1), .integer(2)], plan: plan, session: session)
            #expect(rows[0]?.rowCount == 2 && rows[0]?[table: 0].isEmpty == true && rows[1] == nil)
            let error = await #expect(throws: SchemaError.self) {
                try await StoredDocuments.documents(withIDs: [.integer(1)], plan: plan, session: session)
            }
            #expect(error?.kind == .badRows)
        }
    }

    /// `_id`s of each schema type, edge values included: quotes, commas, braces and NULL in strings, jsonb whose
    /// keys come back in another order, dates before 1 AD.
    static let idCases: [(type: ScalarType, ids: [BSONValue])] = [
        (
            .objectId,
            [
                .objectID(ObjectID(hex: "5ca4bbcea2dd94ee58162a68")!),
                .objectID(ObjectID(hex: "000000000000000000000000")!),
            ]
        ),
        (.string, [.string(#"a,"{}\ "#), .string("NULL"), .string(""), .string("日本 🙂")]),
        (.int, [.int32(.min), .int32(0), .int32(.max)]),
        (.long, [.int64(.min), .int64(7), .int64(.max)]),
        (.double, [.double(-.infinity), .double(0.1), .double(.nan), .double(-1e300)]),
        (.decimal, [.decimal128(Decimal128("1.50")!), .decimal128(Decimal128("-12345678901234567890.1")!)]),
        (.date, [.datetime(-62_135_596_800_001), .datetime(0), .datetime(1_700_000_000_123)]),
        (
            .uuid,
            [
                .binary(BSONBinary(subtype: 4, data: Array(0...15))),
                .binary(BSONBinary(subtype: 4, data: Array(repeating: 0xFF, count: 16))),
            ]
        ),
        (
            .binData,
            [.binary(BSONBinary(subtype: 0, data: [])), .binary(BSONBinary(subtype: 0, data: [0, 0x5C, 0x22]))]
        ),
        (
            .timestamp,
            [
                .timestamp(BSONTimestamp(seconds: .max, increment: 1)),
                .timestamp(BSONTimestamp(seconds: 1, increment: 0)),
            ]
        ),
        (.bool, [.bool(false), .bool(true)]),
        (
            .json,
            [.document(["k": .int32(1), "a": .string("x")]), .document(["a": .array([.int32(1)])]), .string("j")]
        ),
    ]

    @Test(
        "a batch finds documents by _id of every schema type, in the order asked, absent ones as nil",
        arguments: 0..<idCases.count)
    func idTypes(index: Int) async throws {
        let (type, ids) = Self.idCases[index]
        try await PostgresServer.withScratchSchema("ids") { session, schema in
            let plan = try SchemaFixtures.plan(
                #"{"_id": "\#(type.rawValue)", "n": "int", "tags": ["string"], "o": {"in": [{"x": "long"}]}}"#,
                settings: FlattenSettings(targetSchema: schema))
            let documents = ids.enumerated().map { position, id -> BSONDocument in
                [
                    "_id": id, "n": .int32(Int32(position)), "tags": .array([.string("t\(position)"), .string("u")]),
                    "o": .document(["in": .array([.document(["x": .int64(9)]), .null])]),
                ]
            }
            // The last id stays out of the tables: asked for, it comes back absent.
            let stored = try await Self.store(Array(documents.dropLast()), plan: plan, session: session)
            #expect(stored.count == documents.count - 1, "every document but the last fits its schema")
            let keys = try ids.map { try plan.keyValue(ofID: $0) }
            let asked = Array((keys + keys.prefix(1)).reversed())
            let read = try await StoredDocuments.documents(withIDs: asked, plan: plan, session: session)
            let expected = try (documents + documents.prefix(1)).reversed().map { document in
                document == documents.last ? nil : try normalise(document, plan: plan)
            }
            #expect(read == expected, "\(type.rawValue)")
        }
    }
}
