import TestSupport
import Testing

@testable import MongoPG

/// Writing a batch into real tables when the documents' stored rows are known: changed rows are updated in place.
@Suite("Batch writes against stored rows", .tags(.integration))
struct BatchWriterTests {
    @Test("rewritten documents come back as written: changed rows updated in place, missing rows written anyway")
    func updatedInPlace() async throws {
        try await PostgresServer.withScratchSchema("inplace") { session, schema in
            let (plan, stored, seeded) = try await StoredDocumentsTests.storedEdgeCases(
                seed: 7, schema: schema, session: session)
            var random = seeded
            // Half the documents get new values under the same _id (those that flatten); the rest stay as stored.
            var outcomes: [DocumentOutcome] = []
            for item in stored.prefix(stored.count / 2) {
                var report = FlattenReport()
                for _ in 0..<20 {
                    var document = RandomSchemas.document(for: plan.schema, &random)
                    document["_id"] = item.document["_id"]
                    guard (try? Flattener(plan: plan).flatten(document, report: &report)) != nil else { continue }
                    outcomes.append(
                        DocumentOutcome(
                            namespace: plan.namespace, id: document["_id"]!, document: document, exact: true))
                    break
                }
            }
            try #require(outcomes.count >= 8)
            let ids = try outcomes.map { try plan.keyValue(ofID: $0.id) }
            var rows: [DocumentKey: BatchWrite.Stored] = [:]
            for (outcome, read) in zip(
                outcomes, try await StoredDocuments.rows(ofIDs: ids, plan: plan, session: session))
            {
                rows[try DocumentKey(outcome.namespace, outcome.id)] = .rows(try #require(read))
            }
            let batch = try BatchWrite(emptied: [], outcomes: outcomes, stored: rows, plans: [plan.namespace: plan])
            let part = try #require(batch.collections.first)
            #expect(part.updates[0].count == outcomes.count, "each changed root row is updated in place")
            #expect(part.removals[0].isEmpty)
            // Two root rows vanish behind the writer's back: its update finds them missing and writes them.
            let idColumn = plan.rootTable.columns[0]
            try await session.query(
                "DELETE FROM \(plan.qualifiedName(plan.rootTable)) "
                    + "WHERE \(Identifier.quoted(idColumn.name)) = ANY ($1\(idColumn.sqlType.arrayCast))",
                values: [.array(Array(ids.prefix(2)))], purpose: "remove two root rows")
            let written = try await BatchWriter(session: session, plans: [plan.namespace: plan]).write(batch)
            #expect(written.documentsWritten == outcomes.count)

            let now = try await StoredDocuments.all(plan: plan, session: session)
            #expect(now.count == stored.count)
            for (outcome, id) in zip(outcomes, ids) {
                let key = try #require(try SQLParameter.text(of: id))
                #expect(now[key] == (try normalise(try #require(outcome.document), plan: plan)))
            }
            for item in stored.dropFirst(stored.count / 2) {
                let key = try #require(try SQLParameter.text(of: try plan.keyValue(ofID: item.document["_id"]!)))
                #expect(now[key] == (try normalise(item.document, plan: plan)))
            }
        }
    }
}
