/// Documents as PostgreSQL holds them: every table of a collection read back and rebuilt through the plan.
public enum StoredDocuments {
    /// Every stored document of the plan's collection, keyed by the text of its root `_id` column. Reads whole tables:
    /// for verification of a load and for tests, not for a collection larger than memory.
    public static func all(plan: TablePlan, session: PostgresSession) async throws -> [String: BSONDocument] {
        var rowsByDocument: [String: [[[SQLValue]]]] = [:]
        for (index, table) in plan.tables.enumerated() {
            let columns = table.columns.map { Identifier.quoted($0.name) }.joined(separator: ", ")
            let result = try await session.query(
                "SELECT \(columns) FROM \(plan.qualifiedName(table))", purpose: "read back \(table.name) for verification")
            let types = table.columns.map(\.sqlType)
            for row in result.rows {
                // The root `_id` (or `<root>_id` in a child) is the first column of every table.
                guard let key = row[0] else { throw SchemaError(.badRows, "table \(table.name) holds a row without its document's _id") }
                var typed: [SQLValue] = []
                typed.reserveCapacity(types.count)
                for (field, type) in zip(row, types) {
                    do {
                        typed.append(try CopyTextDecoder.value(field.map { Array($0.utf8) }, type))
                    } catch {
                        throw SchemaError(.badRows, "table \(table.name): \(error.message)", documentID: key)
                    }
                }
                if rowsByDocument[key] == nil { rowsByDocument[key] = Array(repeating: [], count: plan.tables.count) }
                rowsByDocument[key]![index].append(typed)
            }
        }
        let rebuilder = DocumentRebuilder(plan: plan)
        var documents: [String: BSONDocument] = [:]
        for (key, rows) in rowsByDocument { documents[key] = try rebuilder.rebuild(rows) }
        return documents
    }
}
