/// Writes one batch's outcome to the tables, set-based: per table one `DELETE` of the touched documents' rows (keys
/// sent as one array parameter) and one `COPY` of their rows as they now are, flattened by the same code the init
/// load uses. A document whose rows in a table were read for this batch (`stored`) and come out the same is left
/// alone there: an update of a root field rewrites no child table. Runs inside the caller's transaction, on the
/// caller's session.
struct BatchWriter {
    let session: PostgresSession
    /// Each synced collection's plan, compiled from the catalog.
    let plans: [Namespace: TablePlan]

    /// What a batch changed in the tables.
    struct Written: Sendable {
        var documentsWritten = 0
        var documentsRemoved = 0
        var rows = 0
        var report = FlattenReport()
    }

    /// `stored`: the rows PostgreSQL holds now for documents the batch read back (nil entries: none known).
    func write(
        emptied: [Namespace], outcomes: [ChangeSet.Outcome], stored: [DocumentKey: DocumentRows] = [:]
    ) async throws -> Written {
        var written = Written()
        for namespace in emptied {
            let plan = try plan(for: namespace)
            let tables = plan.tables.map { plan.qualifiedName($0) }.joined(separator: ", ")
            try await session.execute("TRUNCATE \(tables)", purpose: "empty the tables of dropped \(namespace)")
        }
        var byCollection: [Namespace: [ChangeSet.Outcome]] = [:]
        for outcome in outcomes { byCollection[outcome.namespace, default: []].append(outcome) }
        for (namespace, outcomes) in byCollection.sorted(by: { $0.key.description < $1.key.description }) {
            let plan = try plan(for: namespace)
            let flattener = Flattener(plan: plan)
            var removals = Array(repeating: [SQLValue](), count: plan.tables.count)
            var text = Array(repeating: [UInt8](), count: plan.tables.count)
            for outcome in outcomes {
                let key = try plan.keyValue(ofID: outcome.id)
                var rows: [[[SQLValue]]] = Array(repeating: [], count: plan.tables.count)
                if let document = outcome.document {
                    rows = try flattener.flatten(document, report: &written.report).rows
                    written.documentsWritten += 1
                } else {
                    written.documentsRemoved += 1
                }
                let old = stored[try DocumentKey(namespace, outcome.id)]
                for table in plan.tables.indices {
                    if let old, Self.sameRows(old.tables[table], rows[table]) { continue }
                    removals[table].append(key)
                    for row in rows[table] { CopyTextEncoder.appendRow(row, to: &text[table]) }
                }
            }
            for (index, table) in plan.tables.enumerated() {
                if !removals[index].isEmpty {
                    // `key = ANY($1)` leaves the plan to row estimates: on tables of tens of thousands of rows,
                    // PostgreSQL's default costs scan the whole table for every batch. One index lookup per document
                    // (the key leads the primary key), the rows found deleted by their ctid, keeps the cost that of
                    // the batch; `OFFSET 0` keeps the lateral lookup from being flattened into a join.
                    let key = Identifier.quoted(table.columns[0].name), name = plan.qualifiedName(table)
                    try await session.query(
                        """
                        DELETE FROM \(name) WHERE ctid = ANY (ARRAY(
                            SELECT s.ctid FROM unnest($1\(table.columns[0].sqlType.arrayCast)) AS ids (id)
                            CROSS JOIN LATERAL (SELECT ctid FROM \(name) WHERE \(key) = ids.id OFFSET 0) AS s))
                        """,
                        values: [.array(removals[index])],
                        purpose: "remove the old rows of \(removals[index].count) documents from \(table.name)")
                }
                guard !text[index].isEmpty else { continue }
                var chunk: [UInt8]? = text[index]
                written.rows += try await session.copyIn(
                    schema: plan.settings.targetSchema, table: table.name, columns: table.columns.map(\.name),
                    purpose: "write the new rows of \(namespace) into \(table.name)"
                ) {
                    defer { chunk = nil }
                    return chunk
                }
            }
        }
        return written
    }

    /// Whether a table holds a document's rows already: the same rows in any order (PostgreSQL returns them in its
    /// own), compared by their COPY text. jsonb comes back spelt its own way, so rows holding json are rewritten.
    static func sameRows(_ old: [[SQLValue]], _ new: [[SQLValue]]) -> Bool {
        guard old.count == new.count else { return false }
        if old.isEmpty { return true }
        func encoded(_ rows: [[SQLValue]]) -> [[UInt8]] {
            rows.map { row in
                var bytes: [UInt8] = []
                CopyTextEncoder.appendRow(row, to: &bytes)
                return bytes
            }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        return encoded(old) == encoded(new)
    }

    private func plan(for namespace: Namespace) throws -> TablePlan {
        guard let plan = plans[namespace] else {
            throw GeneralError(.internalError, "no plan for \(namespace), which is not a synced collection")
        }
        return plan
    }
}
