import Foundation
import TestSupport
import Testing

@testable import MongoPG

/// The sample collections through the repository's schemas and mongo-reader's own path (decode, flatten, COPY
/// text), against tables, columns and row counts spelled out here and counted from the JSON text itself.
@Suite("Sample collections flatten to the expected tables")
struct SampleCollectionTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        var collection: String
        /// Per table: its name and columns.
        var tables: [(name: String, columns: [String])]
        /// The root table's rows and the array whose elements fill the one child table.
        var arrayField: String

        var testDescription: String { collection }
    }

    static let expectations = [
        Expected(
            collection: "customers",
            tables: [
                (
                    "customers",
                    ["_id", "username", "name", "address", "birthdate", "email", "active", "tier_and_details"]
                ),
                ("customers_accounts", ["customers_id", "idx", "accounts"]),
            ], arrayField: "accounts"),
        Expected(
            collection: "accounts",
            tables: [
                ("accounts", ["_id", "account_id", "limit"]),
                ("accounts_products", ["accounts_id", "idx", "products"]),
            ],
            arrayField: "products"),
    ]

    /// Documents and array elements counted from the Extended JSON lines with Foundation's JSON parser: nothing of
    /// the toolkit's takes part.
    static func counts(_ collection: String, arrayField: String) throws -> (
        documents: Int, elements: Int, nonEmpty: Int
    ) {
        var documents = 0
        var elements = 0
        var nonEmpty = 0
        for line in try Fixtures.extendedJSONLines("sample_analytics/\(collection).json") where !line.isEmpty {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            documents += 1
            let count = (object[arrayField] as? [Any])?.count ?? 0
            elements += count
            nonEmpty += count > 0 ? 1 : 0
        }
        return (documents, elements, nonEmpty)
    }

    @Test("the fixture yields exactly the expected tables, columns and row counts per table", arguments: expectations)
    func golden(expected: Expected) throws {
        let namespace = Namespace(database: "sample_analytics", collection: expected.collection)
        let schemas = ServerEnvironment.packageRoot.appendingPathComponent("schemas").path
        let plan = try SchemaFile(namespace: namespace, schemasDirectory: schemas, settings: FlattenSettings()).plan
        #expect(plan.tables.map(\.name) == expected.tables.map(\.name))
        #expect(plan.tables.map { $0.columns.map(\.name) } == expected.tables.map(\.columns))

        let reader = try DocumentFileReader(path: Fixtures.url("sample_analytics/\(expected.collection).json").path)
        var batch: [RawDocument] = []
        while let bytes = try reader.next() { batch.append(RawDocument(bytes: bytes)) }
        var stream = CopyStream(plan: plan, sink: MemoryCopySink(tableCount: plan.tables.count), chunkSize: 4096)
        try CollectionReader.flatten(batch, into: &stream, namespace: namespace)
        try stream.flush()

        let (documents, elements, nonEmpty) = try Self.counts(expected.collection, arrayField: expected.arrayField)
        #expect(documents > 0 && elements > documents)
        let lines = stream.sink.tables.map { text in
            text.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        }
        #expect(lines.map(\.count) == [documents, elements])
        #expect(stream.report.documents == documents)
        #expect(stream.report.rows == [expected.tables[0].name: documents, expected.tables[1].name: elements])
        #expect(stream.report.fields.isEmpty, "every field of the samples fits its schema")
        for (table, tableLines) in lines.enumerated() {
            let width = expected.tables[table].columns.count
            #expect(
                tableLines.allSatisfy { $0.split(separator: 0x09, omittingEmptySubsequences: false).count == width })
        }
        // idx restarts at 0 in each document whose array is not empty.
        let childIndexes = lines[1].map { String(decoding: $0.split(separator: 0x09)[1], as: UTF8.self) }
        #expect(childIndexes.filter { $0 == "0" }.count == nonEmpty)
    }
}
