/// The catalog (DESIGN.md, "Catalog"): `catalog_tables` and `catalog_columns`, one row per table and column of each
/// loaded collection. psql-copy replaces a collection's rows in the transaction that swaps its tables in, so the
/// catalog always describes the live tables; verification compiles its plan back from them.
extension StateStore {
    /// The tables the catalog lists for `collection` (the previous load's, during a swap), inside the caller's
    /// transaction.
    public static func catalogTableNames(
        on session: isolated PostgresSession, schema: String, collection: Namespace
    ) throws(PostgresError) -> [String] {
        let tables = PostgresSQL.qualifiedName(schema: schema, "catalog_tables")
        return try session.query(
            "SELECT table_name FROM \(tables) WHERE collection = $1", parameters: [collection.description],
            purpose: "read the tables of the previous load of \(collection)"
        ).column("table_name")?.compactMap { $0 } ?? []
    }

    /// Replaces the catalog rows of the plan's collection with the plan's, inside the caller's transaction
    /// (psql-copy's swap). `distributed`: the tables are Citus distributed tables (`distribution_column` names the
    /// column each is distributed by).
    public static func replaceCatalog(
        on session: isolated PostgresSession, schema: String, plan: TablePlan, distributed: Bool
    ) throws(PostgresError) {
        let catalogTables = PostgresSQL.qualifiedName(schema: schema, "catalog_tables")
        let catalogColumns = PostgresSQL.qualifiedName(schema: schema, "catalog_columns")
        let catalogExcluded = PostgresSQL.qualifiedName(schema: schema, "catalog_excluded")
        let collection = plan.namespace.description
        try session.query(
            "DELETE FROM \(catalogExcluded) WHERE collection = $1", parameters: [collection],
            purpose: "clear the old catalog of excluded places")
        for path in plan.excludedPaths {
            try session.query(
                "INSERT INTO \(catalogExcluded) (collection, json_path) VALUES ($1, $2)",
                parameters: [collection, path],
                purpose: "write the catalog of an excluded place of \(collection)")
        }
        try session.query(
            "DELETE FROM \(catalogColumns) WHERE collection = $1", parameters: [collection],
            purpose: "clear the old catalog columns")
        try session.query(
            "DELETE FROM \(catalogTables) WHERE collection = $1", parameters: [collection],
            purpose: "clear the old catalog tables")
        for (table, planned) in zip(plan.catalogTables, plan.tables) {
            try session.query(
                """
                INSERT INTO \(catalogTables)
                    (collection, table_name, parent_table, json_path, depth, distribution_column)
                VALUES ($1, $2, $3, $4, $5, $6)
                """,
                parameters: [
                    table.collection, table.table, table.parentTable, table.jsonPath, String(table.arrayDepth),
                    distributed ? plan.distributionColumn(planned).name : nil,
                ],
                purpose: "write the catalog of \(table.table)")
        }
        for column in plan.catalogColumns {
            try session.query(
                """
                INSERT INTO \(catalogColumns)
                    (collection, table_name, column_name, ordinal, json_path, bson_type, sql_type, parent_table, role)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """,
                parameters: [
                    column.collection, column.table, column.column, String(column.position), column.jsonPath,
                    column.bsonType, column.sqlType, column.parentTable, column.role,
                ],
                purpose: "write the catalog of \(column.table).\(column.column)")
        }
    }

    /// The catalog rows of `collection` (none when it was never loaded), in one snapshot.
    public func catalog(of collection: Namespace) async throws -> CollectionCatalog {
        let tablesTable = table("catalog_tables")
        let columnsTable = table("catalog_columns")
        let excludedTable = table("catalog_excluded")
        let name = collection.description
        let purpose = "read the catalog of \(name)"
        let (tableRows, columnRows, excludedRows) = try await session.withTransaction(purpose: purpose) { session in
            try session.execute(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                purpose: "read the catalog of \(name) in one snapshot")
            let tables = try session.query(
                """
                SELECT table_name, parent_table, json_path, depth::text, (distribution_column IS NOT NULL)::text
                FROM \(tablesTable) WHERE collection = $1
                """,
                parameters: [name], purpose: "read the catalog tables of \(name)")
            let columns = try session.query(
                """
                SELECT table_name, column_name, ordinal::text, json_path, bson_type, sql_type, parent_table, role
                FROM \(columnsTable) WHERE collection = $1
                """, parameters: [name], purpose: "read the catalog columns of \(name)")
            let excluded = try session.query(
                "SELECT json_path FROM \(excludedTable) WHERE collection = $1 ORDER BY json_path", parameters: [name],
                purpose: "read the excluded places of \(name)")
            return (tables, columns, excluded)
        }
        func damaged(_ message: String, table: String?, column: String? = nil) -> CatalogError {
            CatalogError(.damaged, collection: name, message, table: table, column: column)
        }
        var tables: [CatalogTable] = []
        for row in tableRows.rows {
            guard let table = row[0], let jsonPath = row[2], let depth = row[3].flatMap({ Int($0) }) else {
                throw damaged("a catalog_tables row lacks its name, path or depth", table: row[0])
            }
            tables.append(
                CatalogTable(collection: name, table: table, jsonPath: jsonPath, parentTable: row[1], arrayDepth: depth)
            )
        }
        var columns: [CatalogColumn] = []
        for row in columnRows.rows {
            guard let table = row[0], let column = row[1], let position = row[2].flatMap({ Int($0) }),
                let jsonPath = row[3], let bsonType = row[4], let sqlType = row[5], let role = row[7]
            else {
                throw damaged("a catalog_columns row lacks a value", table: row[0], column: row[1])
            }
            columns.append(
                CatalogColumn(
                    collection: name, table: table, column: column, position: position, jsonPath: jsonPath,
                    bsonType: bsonType, sqlType: sqlType, parentTable: row[6], role: role))
        }
        let excluded = excludedRows.rows.compactMap { $0[0] }
        let distributed = tableRows.rows.contains { $0[1] == nil && $0[4] == "true" }
        return CollectionCatalog(
            collection: name, tables: tables, columns: columns, excluded: excluded, distributed: distributed)
    }

    /// The plan `collection`'s live tables were loaded with, compiled from its catalog (`TablePlan(catalog:settings:)`,
    /// which says what `settings` supplies), once its tables are found in the target schema: the catalog does not
    /// record that schema, so a `target_schema` changed since the load is caught here rather than by a failing read.
    /// Throws `CatalogError` (`.missing` when the collection was never loaded, `.mismatch` naming a table that is not
    /// in the target schema).
    public func catalogPlan(of collection: Namespace, settings: FlattenSettings) async throws -> TablePlan {
        let catalog = try await catalog(of: collection)
        // A missing key is a configuration error (78), not a catalog that does not compile (1).
        if settings.hashKey == nil, let hashed = catalog.columns.first(where: { $0.bsonType == PlannedColumn.hashType })
        {
            throw SchemaError.missingHashKey(path: hashed.jsonPath, variable: settings.hashKeyVariable)
        }
        let plan = try TablePlan(catalog: catalog, settings: settings)
        let target = plan.settings.targetSchema
        let names = plan.tables.map(\.name)
        let present =
            try await session.query(
                "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = ANY($2::text[])",
                values: [.value(.text(target)), .array(names.map { .text($0) })],
                purpose: "find the tables of \(collection) in \(target)"
            ).column("tablename")?.compactMap { $0 }.map(FieldName.init) ?? []
        if let absent = names.first(where: { !present.contains(FieldName($0)) }) {
            throw CatalogError(
                .mismatch, collection: collection.description,
                "the catalog lists it, but the target schema \(target) holds no such table "
                    + "(was target_schema changed since the load?)", table: absent)
        }
        return plan
    }
}

extension StateStore {
    /// Every table the catalog gives to another collection than `collection`, as claims (a loaded collection owns
    /// its tables whatever its schema file says now).
    public func catalogClaims(except collection: Namespace) async throws -> [TableClaims.Claim] {
        let rows = try await session.query(
            "SELECT collection, table_name, json_path FROM \(table("catalog_tables")) WHERE collection <> $1",
            parameters: [collection.description], purpose: "read the tables other collections loaded")
        return rows.rows.compactMap { row in
            guard let owner = row[0], let name = row[1] else { return nil }
            return TableClaims.Claim(
                table: name, collection: owner, jsonPath: row[2] ?? "$", source: "loaded, in \(schema).catalog_tables")
        }
    }

    /// Which of `names` exist in `targetSchema` without the catalog listing them for any collection: tables the
    /// toolkit did not make, which a load must never drop.
    public func unownedTables(_ names: [String], in targetSchema: String) async throws -> [String] {
        try await session.query(
            """
            SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = ANY($2::text[])
            AND NOT EXISTS (SELECT 1 FROM \(table("catalog_tables")) t WHERE t.table_name = c.relname)
            ORDER BY c.relname
            """,
            values: [.value(.text(targetSchema)), .array(names.map { .text($0) })],
            purpose: "find tables of \(targetSchema) the toolkit did not load"
        ).column("relname")?.compactMap { $0 } ?? []
    }
}
