/// The quick way to bring the rows of an additive change's collection to the new plan, when it is exact: the change
/// only adds columns and tables, and the rows already stored are right for every old column (the tables stand for
/// their sync point), so only the new places are written. The documents are read with only `_id` and the top-level
/// fields that hold a new place (`projection`), flattened with the whole new plan, and the cells of the new places
/// staged (COPY into temporary tables); one statement then sets the new columns of the rows whose values differ
/// (`UPDATE ... FROM`), fills the new tables (empty: just created) and takes out of `_extra` what the new places now
/// hold. Pure: the SQL and the staged rows; `AdditionFiller` runs them.
///
/// Nil where the convergence does it: a widening (existing values change, not only new places), distributed tables
/// (an `UPDATE ... FROM` a temporary table is not written for Citus' routing, the convergence's statements are), a
/// change that adds nothing (a rerun after a kill).
struct AdditionFill: Sendable {
    /// One table the fill writes: its key columns and the columns it writes, staged in `staging`.
    struct Target: Sendable, Equatable {
        /// Position in `plan.tables`.
        var table: Int
        /// A table the change creates: every row of it is inserted.
        var isNew: Bool
        /// The columns staged, by position in the table: the keys, then the written ones.
        var columns: [Int]
        /// How many of `columns` are keys.
        var keyCount: Int
        /// The temporary table holding the staged rows.
        var staging: String
    }

    let plan: TablePlan
    /// The top-level fields read besides `_id`; nil: whole documents (a new `_extra`, or a name a projection cannot
    /// spell: one holding `.`, starting with `$`, or empty).
    let projection: [String]?
    let targets: [Target]

    init?(_ change: PlanChange) {
        guard !change.additions.isEmpty, !change.old.isDistributed,
            change.additions.allSatisfy({ $0.kind != .widening })
        else { return nil }
        plan = change.new
        var fields: [String] = []
        var whole = false
        for addition in change.additions {
            guard let steps = JSONPathStep.steps(of: addition.jsonPath), case .member(let name) = steps.first,
                // By Unicode scalars: a combining mark after `.` or `$` must not hide it (MongoDB reads bytes).
                let first = name.unicodeScalars.first, first != "$",
                !name.unicodeScalars.contains(where: { $0 == "." || $0 == "\0" })
            else {
                whole = true
                continue
            }
            if !fields.contains(where: { FieldName($0) == FieldName(name) }) { fields.append(name) }
        }
        projection = whole ? nil : fields
        var targets: [Target] = []
        for (index, table) in plan.tables.enumerated() {
            let additions = change.additions.filter { FieldName($0.table) == FieldName(table.name) }
            let keys = table.columns.indices.filter { table.columns[$0].isKey }
            if additions.contains(where: { $0.kind == .table }) {
                let values = table.columns.indices.filter { !table.columns[$0].isKey }
                targets.append(
                    Target(
                        table: index, isNew: true, columns: keys + values, keyCount: keys.count,
                        staging: "mongo_pg_fill_\(index)"))
                continue
            }
            var written = table.columns.indices.filter { column in
                additions.contains { FieldName($0.column ?? "") == FieldName(table.columns[column].name) }
            }
            // Values of the new places may sit in `_extra` (kept before the schema knew them): it is rewritten too.
            if let extra = table.columns.firstIndex(where: { $0.role == .extra }), !written.contains(extra) {
                written.append(extra)
            }
            guard !written.isEmpty else { continue }
            targets.append(
                Target(
                    table: index, isNew: false, columns: keys + written, keyCount: keys.count,
                    staging: "mongo_pg_fill_\(index)"))
        }
        self.targets = targets
    }

    /// The `find` projection: `_id` and the fields read; nil for whole documents.
    var projectionDocument: BSONDocument? {
        guard let projection else { return nil }
        var document: BSONDocument = ["_id": .int32(1)]
        for field in projection { document.append(field, .int32(1)) }
        return document
    }

    /// The temporary tables, dropped when the fill's transaction ends.
    var stagingStatements: [String] {
        targets.map { target in
            let table = plan.tables[target.table]
            let columns = target.columns.map { column in
                "\(Identifier.quoted(table.columns[column].name)) \(table.columns[column].sqlType.rawValue)"
            }
            return "CREATE TEMPORARY TABLE \(Identifier.quoted(target.staging)) (\(columns.joined(separator: ", "))) "
                + "ON COMMIT DROP"
        }
    }

    /// The staged columns' names of `target`, in COPY order.
    func columnNames(_ target: Target) -> [String] {
        target.columns.map { plan.tables[target.table].columns[$0].name }
    }

    /// Appends one flattened document's staged rows to `buffers` (COPY text, one buffer per target). A row of an
    /// existing table whose written cells are all NULL is left out (its columns were just added, NULL everywhere),
    /// unless it writes `_extra`, which may hold what moves out of it.
    func appendRows(of cells: RowCells, to buffers: inout [[UInt8]]) {
        for (position, target) in targets.enumerated() {
            let table = plan.tables[target.table]
            let writesExtra = target.columns.contains { table.columns[$0].role == .extra }
            for row in 0..<cells.rowCount(target.table) {
                let complete = cells.completeRow(target.table, row)
                let staged = target.columns.map { complete[$0] }
                if !target.isNew, !writesExtra, staged[target.keyCount...].allSatisfy({ $0 == .null }) { continue }
                CopyTextEncoder.appendRow(staged, to: &buffers[position])
            }
        }
    }

    /// One statement applying every staged row: per existing table an `UPDATE ... FROM` of the rows whose written
    /// columns differ, per new table an `INSERT` of the rows whose parent row is stored (`parentExists`); its one
    /// value is the number of documents whose rows it wrote.
    var applyStatement: String {
        var parts: [String] = []
        var written: [String] = []
        for (position, target) in targets.enumerated() {
            let table = plan.tables[target.table]
            let name = plan.qualifiedName(table)
            let staging = Identifier.quoted(target.staging)
            let documentID = Identifier.quoted(table.columns[target.columns[0]].name)
            let step = "\"fill_\(position)\""
            if target.isNew {
                let columns = columnNames(target).map(Identifier.quoted).joined(separator: ", ")
                parts.append(
                    "\(step) AS (INSERT INTO \(name) (\(columns)) SELECT \(columns) FROM \(staging) AS s "
                        + "WHERE \(parentExists(of: target)) RETURNING \(documentID) AS document)")
            } else {
                let keys = target.columns[..<target.keyCount].map { Identifier.quoted(table.columns[$0].name) }
                var assignments: [String] = []
                var differences: [String] = []
                for column in target.columns[target.keyCount...] {
                    let quoted = Identifier.quoted(table.columns[column].name)
                    let value = table.columns[column].role == .extra ? extraValue(quoted) : "s.\(quoted)"
                    assignments.append("\(quoted) = \(value)")
                    differences.append("t.\(quoted) IS DISTINCT FROM \(value)")
                }
                parts.append(
                    "\(step) AS (UPDATE \(name) AS t SET \(assignments.joined(separator: ", ")) FROM \(staging) AS s "
                        + "WHERE \(keys.map { "t.\($0) = s.\($0)" }.joined(separator: " AND ")) "
                        + "AND (\(differences.joined(separator: " OR "))) RETURNING t.\(documentID) AS document)")
            }
            written.append("SELECT document FROM \(step)")
        }
        return "WITH \(parts.joined(separator: ", ")) SELECT count(*) FROM (\(written.joined(separator: " UNION "))) "
            + "AS written"
    }

    /// Whether a staged row of the new table `target` has its parent row: that of its nearest enclosing table the
    /// change did not create (the rows the statement inserts are not visible to it), whose key columns are the
    /// row's first ones. A document MongoDB inserted after the sync point, or an element added to its arrays since,
    /// gets those rows from the replay.
    private func parentExists(of target: Target) -> String {
        var parent = plan.tables[target.table].parent ?? 0
        while let enclosing = plan.tables[parent].parent, targets.contains(where: { $0.table == parent && $0.isNew }) {
            parent = enclosing
        }
        let keys = zip(plan.tables[parent].keyColumns, plan.tables[target.table].keyColumns).map { key, column in
            "p.\(Identifier.quoted(key.name)) = s.\(Identifier.quoted(column.name))"
        }
        return "EXISTS (SELECT FROM \(plan.qualifiedName(plan.tables[parent])) AS p WHERE "
            + "\(keys.joined(separator: " AND ")))"
    }

    /// `_extra` under the new plan: the stored one without the entries under the fields read (the staged one has
    /// theirs, from the flattener), the rest kept as stored (the plan places every other field as before); NULL when
    /// empty, as the flattener leaves it. With whole documents read, the staged one.
    private func extraValue(_ quoted: String) -> String {
        guard let projection else { return "s.\(quoted)" }
        let conditions = projection.map { field in
            let dotted = PathSegment.dotted([.key(field)])
            return "e.key = \(PostgresSQL.quoteLiteral(dotted)) OR starts_with(e.key, "
                + "\(PostgresSQL.quoteLiteral(dotted + ".")))"
        }
        let kept =
            "(SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(t.\(quoted)) AS e "
            + "WHERE NOT (\(conditions.joined(separator: " OR "))))"
        return "nullif(coalesce(\(kept), '{}'::jsonb) || coalesce(s.\(quoted), '{}'::jsonb), '{}'::jsonb)"
    }
}
