/// Documents as PostgreSQL holds them: a collection's tables read back and rebuilt through the plan, either for a
/// batch of root `_id`s (one query per table, the ids in one array parameter) or for the whole collection.
public enum StoredDocuments {
    /// The rows of the documents whose key column (`_id` in the root, `<root>_id` in children) holds `ids`, one
    /// entry per id in the same order: nil when no table holds a row of that id. One query per table for the whole
    /// batch, the ids sent as one array parameter cast to the key column's SQL type; rows of other ids are not read.
    /// A duplicate id gets the same rows at each of its places. `firstTable`: the plan tables before it are not read
    /// (their rows stay empty), for a caller that has the root rows in hand already.
    public static func rows(ofIDs ids: [SQLValue], plan: TablePlan, session: PostgresSession, firstTable: Int = 0)
        async throws -> [DocumentRows?]
    {
        guard !ids.isEmpty else { return [] }
        let parameter = SQLParameter.array(ids)
        let rows = try await read(plan: plan, session: session, key: "ordinal", firstTable: firstTable) {
            table, columns in
            // Each row comes with the position of its id, so no returned key text need be matched with the ids
            // (jsonb and timestamptz print forms of their own, and equal ids may be spelt differently).
            let key = Identifier.quoted(table.columns[0].name), ids = "$1\(table.columns[0].sqlType.arrayCast)"
            let selected = columns.map { "s." + $0 }.joined(separator: ", ")
            if plan.isDistributed {
                // On Citus, the ids as a constant array on the distribution column: only their shards are read,
                // each shard joining its rows to the ids (a lateral subquery on a distributed table is refused).
                return (
                    """
                    SELECT ids.ordinal::text, \(selected) FROM \(plan.qualifiedName(table)) AS s
                    JOIN unnest(\(ids)) WITH ORDINALITY AS ids (id, ordinal) ON s.\(key) = ids.id
                    WHERE \(plan.documentCondition(table, array: ids, alias: "s"))
                    """,
                    [parameter]
                )
            }
            // One index lookup per id (the key is the leading column of the primary key). A plain join leaves the
            // plan to row estimates: with PostgreSQL's default costs, 700 ids against a child table of 77k rows got
            // a hash join over the whole table, 38 ms against 7 ms by index. `OFFSET 0` keeps the lateral subquery
            // from being flattened into such a join.
            return (
                """
                SELECT ids.ordinal::text, \(columns.map { "t." + $0 }.joined(separator: ", "))
                FROM unnest(\(ids)) WITH ORDINALITY AS ids (id, ordinal)
                CROSS JOIN LATERAL (
                    SELECT \(selected) FROM \(plan.qualifiedName(table)) AS s WHERE s.\(key) = ids.id OFFSET 0
                ) AS t
                """,
                [parameter]
            )
        }
        return ids.indices.map { rows[String($0 + 1)] }
    }

    /// The documents whose root `_id` columns hold `ids`, in the same order; nil when none is stored. Throws
    /// `SchemaError.badRows` for rows that cannot be a document (child rows without their root row, a damaged cell).
    public static func documents(withIDs ids: [SQLValue], plan: TablePlan, session: PostgresSession) async throws
        -> [BSONDocument?]
    {
        let rebuilder = DocumentRebuilder(plan: plan)
        var documents: [BSONDocument?] = []
        for rows in try await rows(ofIDs: ids, plan: plan, session: session) {
            documents.append(try rows.map(rebuilder.rebuild))
        }
        return documents
    }

    /// The rows of every stored document of the plan's collection, keyed by the text of its root `_id` column.
    /// Reads whole tables: for verification of a load and for tests, not for a collection larger than memory.
    public static func allRows(plan: TablePlan, session: PostgresSession) async throws -> [String: DocumentRows] {
        try await read(plan: plan, session: session, key: "_id") { table, columns in
            ("SELECT \(columns[0]), \(columns.joined(separator: ", ")) FROM \(plan.qualifiedName(table))", [])
        }
    }

    /// Every stored document of the plan's collection, keyed by the text of its root `_id` column (see `allRows`).
    public static func all(plan: TablePlan, session: PostgresSession) async throws -> [String: BSONDocument] {
        let rebuilder = DocumentRebuilder(plan: plan)
        var documents: [String: BSONDocument] = [:]
        for (key, rows) in try await allRows(plan: plan, session: session) {
            documents[key] = try rebuilder.rebuild(rows)
        }
        return documents
    }

    /// Runs one statement per table (`statement` gives it for the table and its quoted columns); each must return a
    /// grouping key (`key` names it in errors) and then the table's columns in plan order. Rows are decoded by
    /// column type and grouped into one `DocumentRows` per key.
    private static func read(
        plan: TablePlan, session: PostgresSession, key: String, firstTable: Int = 0,
        statement: (PlannedTable, [String]) -> (sql: String, parameters: [SQLParameter])
    ) async throws -> [String: DocumentRows] {
        var rowsByDocument: [String: DocumentRows] = [:]
        for (index, table) in plan.tables.enumerated().dropFirst(firstTable) {
            let (sql, parameters) = statement(table, table.columns.map { Identifier.quoted($0.name) })
            let result = try await session.query(
                sql, values: parameters, purpose: "read back \(table.name) for verification")
            let types = table.columns.map(\.sqlType)
            for row in result.rows {
                guard let group = row[0], let id = row[1] else {
                    throw SchemaError(.badRows, "table \(table.name) holds a row without its document's \(key)")
                }
                var typed: [SQLValue] = []
                typed.reserveCapacity(types.count)
                for (field, type) in zip(row.dropFirst(), types) {
                    do {
                        typed.append(try CopyTextDecoder.value(text: field, type))
                    } catch {
                        throw SchemaError(.badRows, "table \(table.name): \(error.message)", documentID: id)
                    }
                }
                rowsByDocument[group, default: DocumentRows(tableCount: plan.tables.count)].append(
                    typed, toTable: index)
            }
        }
        return rowsByDocument
    }
}

extension TablePlan {
    /// The key-column value of a document `_id` (what `_id` holds in the root table and `<root>_id` in children), for
    /// `StoredDocuments.rows(ofIDs:)`. Throws `SchemaError.badDocument` when the `_id` does not fit the schema's type.
    public func keyValue(ofID id: BSONValue) throws(SchemaError) -> SQLValue {
        switch ValueMapping.convert(id, to: idType, stripNUL: settings.stripNUL) {
        case .fits(let value, _): return value
        case .mismatch, .holdsNUL, .unstorable:
            throw SchemaError(
                .badDocument, "_id of type \(id.typeAlias) does not fit the schema's \(idType.rawValue)",
                documentID: id.description)
        }
    }
}
