/// One batch's writes, computed from its outcomes before any statement runs (pure): per collection and table, the
/// documents whose rows are replaced and the COPY text of their new rows, flattened by the same code the init load
/// uses. A document whose rows in a table are known (`stored`) and come out the same is left alone there: an update
/// of a root field rewrites no child table; in a child table, only the rows that changed are (`RowDiff`). Every
/// touched document is also kept as the batch leaves it (`images`), so that later batches need not read it back.
struct BatchWrite: Sendable {
    /// One collection's part, per plan table: the key values of the documents whose rows there are all deleted, the
    /// keys of single rows deleted, the rows updated in place (whole rows, matched by their key cells), and the COPY
    /// text of the rows written.
    struct Collection: Sendable {
        var namespace: Namespace
        var removals: [[SQLValue]]
        var rowRemovals: [RowKeys]
        var updates: [[[SQLValue]]]
        var text: [[UInt8]]
    }

    /// Keys of single rows of a child table, a column each: the documents' key values, then each index column's.
    struct RowKeys: Sendable {
        var documents: [SQLValue] = []
        var indexes: [[SQLValue]] = []
        var isEmpty: Bool { documents.isEmpty }

        mutating func append(document: SQLValue, indexes rowIndexes: [Int64]) {
            documents.append(document)
            if indexes.isEmpty { indexes = Array(repeating: [], count: rowIndexes.count) }
            for (column, index) in rowIndexes.enumerated() { indexes[column].append(.integer(index)) }
        }
    }

    /// A touched document as the batch leaves it, kept compact (a run may hold many, see `DocumentImages`): the COPY
    /// text of its rows per plan table, as written, and the document's BSON, in one buffer.
    struct Image: Sendable {
        /// Each table's text length (4 bytes, little-endian), the texts, then the BSON (none: no document).
        private let bytes: [UInt8]
        private let tableCount: Int

        init(bson: [UInt8]?, text: [[UInt8]]) {
            tableCount = text.count
            var bytes: [UInt8] = []
            bytes.reserveCapacity(4 * text.count + text.reduce(0) { $0 + $1.count } + (bson?.count ?? 0))
            for table in text { withUnsafeBytes(of: UInt32(table.count).littleEndian) { bytes.append(contentsOf: $0) } }
            for table in text { bytes.append(contentsOf: table) }
            if let bson { bytes.append(contentsOf: bson) }
            self.bytes = bytes
        }

        private func length(_ table: Int) -> Int {
            (0..<4).reduce(0) { $0 | Int(bytes[4 * table + $1]) << (8 * $1) }
        }

        /// The COPY text of the document's rows in the plan table at `index`.
        func text(_ index: Int) -> ArraySlice<UInt8> {
            var start = 4 * tableCount
            for table in 0..<index { start += length(table) }
            return bytes[start..<(start + length(index))]
        }

        /// The document (nil: none).
        func document() throws -> BSONDocument? {
            let start = tableCount == 0 ? 0 : text(tableCount - 1).endIndex
            guard start < bytes.count else { return nil }
            return try bytes[start...].withUnsafeBytes { try BSONDecoder.decode($0) }
        }

        /// Bytes held, for `DocumentImages`' budget.
        var size: Int { bytes.count }
    }

    /// What PostgreSQL holds of a document the batch rewrites, when known: its rows as read back, or the image an
    /// earlier batch of this run left (its rows' COPY text).
    enum Stored: Sendable {
        case rows(DocumentRows)
        case image(Image)
    }

    /// Collections dropped by the batch: their tables are emptied before anything else is written.
    var emptied: [Namespace]
    /// In collection-name order.
    var collections: [Collection] = []
    var images: [DocumentKey: Image] = [:]
    var documentsWritten = 0
    var documentsRemoved = 0
    var report = FlattenReport()
    /// `report`, by collection.
    var reports: [Namespace: FlattenReport] = [:]

    /// `stored`: what PostgreSQL holds of documents the batch read back or an earlier batch wrote (no entry: not
    /// known). `keepingImages`: whether `images` are wanted (a run that verifies, whose repairs change rows behind
    /// them, uses none, and spares their encoding).
    init(
        emptied: [Namespace], outcomes: [DocumentOutcome], stored: [DocumentKey: Stored] = [:],
        plans: [Namespace: TablePlan], keepingImages: Bool = true
    ) throws {
        self.emptied = emptied
        var byCollection: [Namespace: [DocumentOutcome]] = [:]
        for outcome in outcomes { byCollection[outcome.namespace, default: []].append(outcome) }
        for (namespace, outcomes) in byCollection.sorted(by: { $0.key.description < $1.key.description }) {
            let plan = try BatchWriter.plan(for: namespace, in: plans)
            let flattener = Flattener(plan: plan)
            var collectionReport = FlattenReport()
            defer {
                report.merge(collectionReport)
                reports[namespace] = collectionReport
            }
            var part = Collection(
                namespace: namespace, removals: Array(repeating: [], count: plan.tables.count),
                rowRemovals: Array(repeating: RowKeys(), count: plan.tables.count),
                updates: Array(repeating: [], count: plan.tables.count),
                text: Array(repeating: [], count: plan.tables.count))
            // Row by row only where the key cells lead the table's columns (as the plan makes them). Changed rows are
            // updated in place where a table has cells beside its key, but not on Citus (`BatchWriter.update`);
            // there a change to a root row, its document's only row, deletes the document's rows whole.
            let keyCounts = plan.tables.map { table in
                let count = table.keyColumns.count
                return table.columns.prefix(count).allSatisfy(\.isKey) ? count : nil
            }
            let inPlace = plan.tables.indices.map { table in
                !plan.isDistributed && keyCounts[table].map { plan.tables[table].columns.count > $0 } == true
            }
            for outcome in outcomes {
                let key = try plan.keyValue(ofID: outcome.id)
                var rows = DocumentRows(tableCount: plan.tables.count)
                if let document = outcome.document {
                    rows.tables = try flattener.flatten(document, report: &collectionReport).rows
                    documentsWritten += 1
                } else {
                    documentsRemoved += 1
                }
                let documentKey = try DocumentKey(namespace, outcome.id)
                let old = stored[documentKey]
                let bson = keepingImages ? try outcome.document.map(BSONEncoder.encode) : nil
                var texts: [[UInt8]] = []
                texts.reserveCapacity(plan.tables.count)
                for table in plan.tables.indices {
                    let new = RowDiff.Lines(rows: rows.tables[table])
                    if keepingImages { texts.append(Array(new.text)) }
                    let earlier: RowDiff.Lines? =
                        switch old {
                        case .image(let image)?: RowDiff.Lines(text: image.text(table))
                        case .rows(let read)?: RowDiff.Lines(rows: read.tables[table])
                        case nil: nil
                        }
                    if let earlier, earlier.text.elementsEqual(new.text) { continue }  // the common case, at once
                    // Rows read back may differ in order and jsonb spelling only: then the diff is empty.
                    if let keyCount = keyCounts[table], let earlier,
                        let diff = RowDiff.diff(old: earlier, new: new, keyCount: keyCount, inPlace: inPlace[table])
                    {
                        for indexes in diff.removed { part.rowRemovals[table].append(document: key, indexes: indexes) }
                        for line in diff.changed { part.updates[table].append(rows.tables[table][line]) }
                        part.text[table].append(contentsOf: diff.added)
                        continue
                    }
                    part.removals[table].append(key)
                    part.text[table].append(contentsOf: new.text)
                }
                if keepingImages { images[documentKey] = Image(bson: bson, text: texts) }
            }
            collections.append(part)
        }
    }

    /// Whether a row read back from PostgreSQL is the row written: the COPY text of every cell but json ones, then json
    /// cells by the value jsonb holds. PostgreSQL spells jsonb its own way (keys sorted, its own spacing), so an update
    /// of an array leaves a root row alone. `RowDiff` asks this of each row whose text differs.
    static func sameRow(_ old: [SQLValue], _ new: [SQLValue]) -> Bool {
        func withoutJSON(_ row: [SQLValue]) -> [UInt8] {
            var bytes: [UInt8] = []
            CopyTextEncoder.appendRow(row.map { if case .json = $0 { .null } else { $0 } }, to: &bytes)
            return bytes
        }
        guard old.count == new.count, withoutJSON(old) == withoutJSON(new) else { return false }
        for (a, b) in zip(old, new) {
            switch (a, b) {
            case (.json(let x), .json(let y)): if !JSONText.sameAsJSONB(stored: x, written: y) { return false }
            case (.json, _), (_, .json): return false
            default: continue
            }
        }
        return true
    }
}

/// Writes a batch (`BatchWrite`) to the tables, set-based: per table one `DELETE` of the touched documents' rows (keys
/// sent as one array parameter), one of single rows, one `UPDATE` of the rows changed in place (a column each an array
/// parameter) and one `COPY` of the rows written. Runs inside the caller's transaction, on the caller's session.
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
        /// `report`, by collection.
        var reports: [Namespace: FlattenReport] = [:]
    }

    /// Computes the writes (`BatchWrite`) of documents whose stored rows are not known (repairs) and writes them.
    func write(emptied: [Namespace], outcomes: [DocumentOutcome]) async throws -> Written {
        try await write(BatchWrite(emptied: emptied, outcomes: outcomes, plans: plans, keepingImages: false))
    }

    func write(_ batch: BatchWrite) async throws -> Written {
        var written = Written(
            documentsWritten: batch.documentsWritten, documentsRemoved: batch.documentsRemoved, report: batch.report,
            reports: batch.reports)
        for namespace in batch.emptied {
            let plan = try Self.plan(for: namespace, in: plans)
            let tables = plan.tables.map { plan.qualifiedName($0) }.joined(separator: ", ")
            try await session.execute("TRUNCATE \(tables)", purpose: "empty the tables of dropped \(namespace)")
        }
        for part in batch.collections {
            let plan = try Self.plan(for: part.namespace, in: plans)
            for (index, table) in plan.tables.enumerated() {
                if !part.removals[index].isEmpty {
                    try await delete(
                        from: table, of: plan, byKey: [part.removals[index]],
                        purpose: "remove the old rows of \(part.removals[index].count) documents from \(table.name)")
                }
                let rows = part.rowRemovals[index]
                if !rows.isEmpty {
                    try await delete(
                        from: table, of: plan, byKey: [rows.documents] + rows.indexes,
                        purpose: "remove \(rows.documents.count) changed rows from \(table.name)")
                }
                if !part.updates[index].isEmpty {
                    written.rows += try await update(
                        table, of: plan, rows: part.updates[index],
                        purpose: "update \(part.updates[index].count) changed rows of \(table.name)")
                }
                guard !part.text[index].isEmpty else { continue }
                var chunk: [UInt8]? = part.text[index]
                written.rows += try await session.copyIn(
                    schema: plan.settings.targetSchema, table: table.name, columns: table.columns.map(\.name),
                    purpose: "write the new rows of \(part.namespace) into \(table.name)"
                ) {
                    defer { chunk = nil }
                    return chunk
                }
            }
        }
        return written
    }

    /// Deletes the rows whose leading key columns hold `key` (one array per column, a row's values at one index): the
    /// documents' whole rows by their document-ID column alone, single child rows by their whole key. Found by the
    /// document-ID column (`TablePlan.documentCondition`: on Citus only the shards of those documents, on plain
    /// PostgreSQL one index lookup per document), never by `ctid`, which Citus refuses in such a delete; single rows
    /// are then matched by their whole key among those documents' rows.
    private func delete(from table: PlannedTable, of plan: TablePlan, byKey key: [[SQLValue]], purpose: String)
        async throws
    {
        let columns = Array(table.keyColumns.prefix(key.count))
        let arrays = columns.enumerated().map { "$\($0.offset + 1)\($0.element.sqlType.arrayCast)" }
        var sql = "DELETE FROM \(plan.qualifiedName(table)) WHERE \(plan.documentCondition(table, array: arrays[0]))"
        if columns.count > 1 {
            let list = columns.map { Identifier.quoted($0.name) }.joined(separator: ", ")
            sql += " AND (\(list)) IN (SELECT * FROM unnest(\(arrays.joined(separator: ", "))))"
        }
        try await session.query(sql, values: key.map { .array($0) }, purpose: purpose)
    }

    /// Updates rows in place, matched by their key cells (the table's leading columns); answers the rows written. No
    /// key cell changes, so where the row's page has room PostgreSQL adds no index entry (a HOT update): cheaper than
    /// a `DELETE` and a `COPY` of the row, whose index entry is always inserted again. The rows come as one array
    /// parameter per column, found by the document-ID column as `delete` finds them. A row not found (changed behind
    /// the run's back) is inserted, so the table ends as the batch says either way. Plain PostgreSQL only: on Citus,
    /// changed rows are deleted and written again (`BatchWrite`), the statements its distributed planner is known to
    /// take.
    private func update(_ table: PlannedTable, of plan: TablePlan, rows: [[SQLValue]], purpose: String)
        async throws -> Int
    {
        let names = table.columns.map { Identifier.quoted($0.name) }
        let keys = names.prefix(table.keyColumns.count)
        let arrays = table.columns.enumerated().map { "$\($0.offset + 1)\($0.element.sqlType.arrayCast)" }
        let values = table.columns.indices.map { column in SQLParameter.array(rows.map { $0[column] }) }
        let changes = "unnest(\(arrays.joined(separator: ", "))) AS v (\(names.joined(separator: ", ")))"
        let sameKey = keys.map { "t.\($0) = v.\($0)" }.joined(separator: " AND ")
        let target = plan.qualifiedName(table)
        let sql = """
            UPDATE \(target) AS t SET \(names.dropFirst(keys.count).map { "\($0) = v.\($0)" }.joined(separator: ", "))
            FROM \(changes) WHERE \(plan.documentCondition(table, array: arrays[0], alias: "t")) AND \(sameKey)
            """
        let updated = try await session.query(sql, values: values, purpose: purpose).affectedRows ?? 0
        guard updated < rows.count else { return updated }
        let inserted = try await session.query(
            """
            INSERT INTO \(target) (\(names.joined(separator: ", "))) SELECT * FROM \(changes)
            WHERE NOT EXISTS (SELECT FROM \(target) AS t WHERE \(sameKey))
            """, values: values, purpose: purpose)
        return updated + (inserted.affectedRows ?? 0)
    }

    static func plan(for namespace: Namespace, in plans: [Namespace: TablePlan]) throws -> TablePlan {
        guard let plan = plans[namespace] else {
            throw GeneralError(.internalError, "no plan for \(namespace), which is not a synced collection")
        }
        return plan
    }
}
