import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("COPY streams")
struct CopyStreamTests {
    @Test("a stream writes each table's rows exactly as the flattener gives them, whatever the chunk size")
    func sameAsFlattener() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let settings = FlattenSettings(keepExtra: Bool.random(using: &random), stripNUL: true)
            let plan = RandomSchemas.plan(&random, settings: settings)
            let documents = (0..<Int.random(in: 1...20, using: &random)).map { _ in
                RandomSchemas.document(for: plan.schema, &random)
            }
            var expected = MemoryCopySink(tableCount: plan.tables.count)
            var report = FlattenReport()
            for document in documents {
                guard let rows = try? Flattener(plan: plan).flatten(document, report: &report).rows else { continue }
                for (table, tableRows) in rows.enumerated() {
                    for row in tableRows { CopyTextEncoder.appendRow(row, to: &expected.tables[table]) }
                }
            }
            var stream = CopyStream(
                plan: plan, sink: MemoryCopySink(tableCount: plan.tables.count), chunkSize: Int.random(in: 1...300, using: &random))
            for document in documents { try? stream.append(document) }
            try? stream.flush()
            #expect(stream.sink.tables == expected.tables, "seed \(seed)")
            #expect(stream.report == report, "seed \(seed)")
            #expect(stream.bytesWritten == expected.tables.map(\.count), "seed \(seed)")
        }
    }
}
