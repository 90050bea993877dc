/// Writes one batch's outcome to the tables, set-based: per table one `DELETE` of every touched document's rows
/// (keys sent as one array parameter) and one `COPY` of the rows of the documents as they now are, flattened by the
/// same code the init load uses. Runs inside the caller's transaction, on the caller's session.
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

    func write(emptied: [Namespace], outcomes: [ChangeSet.Outcome]) async throws -> Written {
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
            var keys: [SQLValue] = []
            keys.reserveCapacity(outcomes.count)
            for outcome in outcomes { keys.append(try plan.keyValue(ofID: outcome.id)) }
            for table in plan.tables {
                let key = Identifier.quoted(table.columns[0].name)
                try await session.query(
                    "DELETE FROM \(plan.qualifiedName(table)) WHERE \(key) = ANY($1\(table.columns[0].sqlType.arrayCast))",
                    values: [.array(keys)],
                    purpose: "remove the old rows of \(outcomes.count) documents from \(table.name)")
            }
            var stream = CopyStream(plan: plan, sink: MemoryCopySink(tableCount: plan.tables.count))
            for outcome in outcomes {
                guard let document = outcome.document else {
                    written.documentsRemoved += 1
                    continue
                }
                try stream.append(document)
                written.documentsWritten += 1
            }
            try stream.flush()
            for (index, table) in plan.tables.enumerated() where !stream.sink.tables[index].isEmpty {
                var chunk: [UInt8]? = stream.sink.tables[index]
                written.rows += try await session.copyIn(
                    schema: plan.settings.targetSchema, table: table.name, columns: table.columns.map(\.name),
                    purpose: "write the new rows of \(namespace) into \(table.name)"
                ) {
                    defer { chunk = nil }
                    return chunk
                }
            }
            written.report.merge(stream.report)
        }
        return written
    }

    private func plan(for namespace: Namespace) throws -> TablePlan {
        guard let plan = plans[namespace] else {
            throw GeneralError(.internalError, "no plan for \(namespace), which is not a synced collection")
        }
        return plan
    }
}
