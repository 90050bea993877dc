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
            var stream = CopyStream(
                plan: plan, sink: MemoryCopySink(tableCount: plan.tables.count),
                chunkSize: Int.random(in: 1...300, using: &random))
            for (index, document) in documents.enumerated() {
                // The stream refuses exactly the documents the flattener refuses, with the same error, and writes
                // nothing of them.
                let flattened = Result { () throws(SchemaError) in
                    try Flattener(plan: plan).flatten(document, report: &report)
                }
                let appended = Result { try stream.append(document) }
                switch (flattened, appended) {
                case (.success(let flattened), .success):
                    for (table, tableRows) in flattened.rows.enumerated() {
                        for row in tableRows { CopyTextEncoder.appendRow(row, to: &expected.tables[table]) }
                    }
                case (.failure(let refused), .failure(let error)):
                    #expect(error as? SchemaError == refused, "seed \(seed), document \(index)")
                case (.success, .failure(let error)):
                    Issue.record(
                        "seed \(seed), document \(index): the stream refused what the flattener took: \(error)")
                case (.failure(let refused), .success):
                    Issue.record(
                        "seed \(seed), document \(index): the stream took what the flattener refused: \(refused)")
                }
            }
            do {
                try stream.flush()
            } catch {
                Issue.record("seed \(seed): flushing into memory failed: \(error)")
            }
            #expect(stream.sink.tables == expected.tables, "seed \(seed)")
            #expect(stream.report == report, "seed \(seed)")
            #expect(stream.bytesWritten == expected.tables.map(\.count), "seed \(seed)")
        }
    }
}
