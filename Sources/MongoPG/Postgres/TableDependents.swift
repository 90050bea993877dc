import Logging

/// Users' objects on tables that a load replaces (psql-copy's swap drops the live tables and moves new ones in):
/// views and materialized views on them (and views on those), the grants, owner and comment of each table and
/// view, indexes users added to the tables or to materialized views. PostgreSQL binds a view to a table's oid, not
/// its name, so no view can be repointed at the new table: inside the swap's transaction, `capture` records each
/// object's definition (`pg_get_viewdef`, `pg_get_indexdef`, `aclexplode`), `dropViews` drops the views (deepest
/// first), and once the new tables are in, `restore` creates everything again, so readers see the old objects until
/// COMMIT and the same objects on the new tables after it.
///
/// What cannot be carried over is refused (`DependentObjectError`, exit 78) naming the object, before anything
/// changes: triggers, row security policies and rules on the tables. A view or index the new tables can no longer
/// hold (a column the new schema lost) fails `restore` with the same error, naming it, and the swap rolls back.
/// Other objects that PostgreSQL says depend on a table (a foreign key of another table, a function taking its row
/// type) make the DROP fail with 2BP01, which `PostgresError` maps to 78 as well.
struct TableDependents: Sendable {
    struct Grant: Sendable, Equatable {
        /// nil: PUBLIC.
        var grantee: String?
        var privilege: String
        var grantable: Bool
        /// A column privilege's column.
        var column: String? = nil
    }

    /// A table being replaced: what its replacement gets back.
    struct Table: Sendable {
        var schema: String
        var name: String
        var owner: String
        var grants: [Grant]
        var comment: String?
        /// `CREATE INDEX` statements of indexes the toolkit did not make (all but the primary key).
        var indexes: [(name: String, definition: String)]
    }

    struct View: Sendable {
        var schema: String
        var name: String
        var materialized: Bool
        /// The query, names qualified (captured with `search_path` empty but pg_catalog).
        var definition: String
        var options: [String]
        var owner: String
        var grants: [Grant]
        var comment: String?
        var populated: Bool
        var indexes: [(name: String, definition: String)]
        /// 1 for a view on a replaced table, 2 for a view on such a view, ...
        var depth: Int

        var kind: String { materialized ? "materialized view" : "view" }
        var qualifiedName: String { PostgresSQL.qualifiedName(schema: schema, name) }
    }

    var tables: [Table]
    var views: [View]

    /// What depends on `names` in `schema` (tables that exist; others are skipped). Run inside the swap's
    /// transaction, before anything is dropped; it sets `search_path` to `pg_catalog` for the rest of it, so that
    /// captured definitions name every relation with its schema.
    static func capture(
        of names: [String], in schema: String, on session: isolated PostgresSession
    ) throws -> TableDependents {
        try session.execute(
            "SELECT set_config('search_path', 'pg_catalog', true)",
            purpose: "qualify every name in the definitions of views on the replaced tables")
        let tablesSQL = """
            SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')
            """
        let parameters: [SQLParameter] = [.value(.text(schema)), .array(names.map { .text($0) })]
        try refuseUncarried(tablesSQL: tablesSQL, parameters: parameters, on: session)

        let tableRows = try session.query(
            """
            SELECT c.oid::text, c.relname, pg_catalog.pg_get_userbyid(c.relowner),
                   pg_catalog.obj_description(c.oid, 'pg_class')
            FROM pg_catalog.pg_class c WHERE c.oid IN (\(tablesSQL)) ORDER BY c.relname
            """, values: parameters, purpose: "read the owners and comments of the tables to replace")
        var tables: [Table] = []
        for row in tableRows.rows {
            guard let oid = row[0], let name = row[1], let owner = row[2] else { continue }
            tables.append(
                Table(
                    schema: schema, name: name, owner: owner, grants: try grants(of: oid, on: session),
                    comment: row[3], indexes: try indexes(of: oid, on: session)))
        }

        let viewRows = try session.query(
            """
            WITH RECURSIVE dependents(oid, depth) AS (
                SELECT r.ev_class, 1
                FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
                WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                AND d.refobjid IN (\(tablesSQL)) AND r.ev_class <> d.refobjid
              UNION
                SELECT r.ev_class, dependents.depth + 1
                FROM dependents JOIN pg_catalog.pg_depend d ON d.refobjid = dependents.oid
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
                WHERE r.ev_class <> dependents.oid
            )
            SELECT c.oid::text, n.nspname, c.relname, c.relkind::text, pg_catalog.pg_get_viewdef(c.oid),
                   pg_catalog.array_to_string(c.reloptions, E'\\x1f'), pg_catalog.pg_get_userbyid(c.relowner),
                   pg_catalog.obj_description(c.oid, 'pg_class'), c.relispopulated::text, max(dependents.depth)::text
            FROM dependents JOIN pg_catalog.pg_class c ON c.oid = dependents.oid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            GROUP BY c.oid, n.nspname, c.relname, c.relkind, c.reloptions, c.relowner, c.relispopulated
            ORDER BY max(dependents.depth), n.nspname, c.relname
            """, values: parameters, purpose: "find the views on the tables to replace")
        var views: [View] = []
        for row in viewRows.rows {
            guard let oid = row[0], let viewSchema = row[1], let name = row[2], let kind = row[3],
                let definition = row[4], let owner = row[6], let depth = row[9].flatMap({ Int($0) })
            else { continue }
            var query = Substring(definition)
            while let last = query.last, last == ";" || last.isWhitespace { query = query.dropLast() }
            let materialized = kind == "m"
            views.append(
                View(
                    schema: viewSchema, name: name, materialized: materialized, definition: String(query),
                    options: row[5].map { $0.split(separator: "\u{1f}").map(String.init) } ?? [], owner: owner,
                    grants: try grants(of: oid, on: session), comment: row[7], populated: row[8] == "true",
                    indexes: materialized ? try indexes(of: oid, on: session) : [], depth: depth))
        }
        try refuseForeignOwners(
            tables.map { ("table \($0.schema).\($0.name)", $0.owner) }
                + views.map { ("\($0.kind) \($0.schema).\($0.name)", $0.owner) }, on: session)
        return TableDependents(tables: tables, views: views)
    }

    /// Giving an object back to its owner (`ALTER ... OWNER TO`) needs the loading role to be a member of the owner's
    /// role (superusers are members of every role); without it the swap would fail half way (42501 "must be member
    /// of role"). Refused before any change, naming each object and the grant that lets the load carry it over.
    private static func refuseForeignOwners(
        _ objects: [(label: String, owner: String)], on session: isolated PostgresSession
    ) throws {
        let owners = Array(Set(objects.map(\.owner))).sorted()
        guard !owners.isEmpty else { return }
        let answer = try session.query(
            """
            SELECT current_user::text, r.name FROM pg_catalog.unnest($1::text[]) AS r(name)
            WHERE NOT pg_catalog.pg_has_role(current_user, r.name, 'MEMBER') ORDER BY r.name
            """, values: [.array(owners.map { .text($0) })],
            purpose: "check that the loading role may give the replaced objects back to their owners")
        let foreign = Set(answer.rows.compactMap { $0[1] })
        guard let loader = answer.rows.first?[0] ?? nil, !foreign.isEmpty else { return }
        let refused = objects.filter { foreign.contains($0.owner) }
        let grants = foreign.sorted().map {
            "GRANT \(PostgresSQL.quoteIdentifier($0)) TO \(PostgresSQL.quoteIdentifier(loader))"
        }
        throw DependentObjectError(
            refused.map { "\($0.label) is owned by role \($0.owner)" }.joined(separator: ", ")
                + ", which the loading role \(loader) may not give \(refused.count == 1 ? "it" : "them") back to: "
                + grants.joined(separator: "; ") + " lets the load carry \(refused.count == 1 ? "it" : "them") "
                + "over (or drop \(refused.count == 1 ? "it" : "them") before the reload and create "
                + "\(refused.count == 1 ? "it" : "them") again after); the live tables are unchanged")
    }

    /// Triggers, policies and rules on the tables cannot be carried over: refused, naming them, before any change.
    private static func refuseUncarried(
        tablesSQL: String, parameters: [SQLParameter], on session: isolated PostgresSession
    ) throws {
        let rows = try session.query(
            """
            SELECT 'trigger ' || pg_catalog.quote_ident(t.tgname) || ' on table ' || c.relname
            FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
            WHERE t.tgrelid IN (\(tablesSQL)) AND NOT t.tgisinternal
            UNION ALL
            SELECT 'row security policy ' || pg_catalog.quote_ident(p.polname) || ' on table ' || c.relname
            FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
            WHERE p.polrelid IN (\(tablesSQL))
            UNION ALL
            SELECT 'rule ' || pg_catalog.quote_ident(r.rulename) || ' on table ' || c.relname
            FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
            WHERE r.ev_class IN (\(tablesSQL)) AND r.rulename <> '_RETURN'
            ORDER BY 1
            """, values: parameters, purpose: "look for triggers, policies and rules on the tables to replace")
        let objects = rows.rows.compactMap { $0[0] }
        guard objects.isEmpty else {
            throw DependentObjectError(
                "\(objects.joined(separator: ", ")) cannot be carried over to the new tables (\(Tool.psqlCopy) "
                    + "recreates views, materialized views, indexes and grants, not these): drop "
                    + "\(objects.count == 1 ? "it" : "them") before the reload and create "
                    + "\(objects.count == 1 ? "it" : "them") again after; the live tables are unchanged")
        }
    }

    private static func grants(of oid: String, on session: isolated PostgresSession) throws -> [Grant] {
        let rows = try session.query(
            """
            SELECT CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee) END,
                   e.privilege_type, e.is_grantable::text, NULL::text
            FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) e
            WHERE c.oid = $1::oid AND e.grantee <> c.relowner
            UNION ALL
            SELECT CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee) END,
                   e.privilege_type, e.is_grantable::text, a.attname::text
            FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid,
                 pg_catalog.aclexplode(a.attacl) e
            WHERE a.attrelid = $1::oid AND a.attacl IS NOT NULL AND NOT a.attisdropped AND e.grantee <> c.relowner
            ORDER BY 4 NULLS FIRST, 1 NULLS FIRST, 2
            """, parameters: [oid], purpose: "read the grants on a table or view to replace")
        return rows.rows.compactMap { row in
            guard let privilege = row[1] else { return nil }
            return Grant(grantee: row[0], privilege: privilege, grantable: row[2] == "true", column: row[3])
        }
    }

    private static func indexes(
        of oid: String, on session: isolated PostgresSession
    ) throws -> [(name: String, definition: String)] {
        try session.query(
            """
            SELECT c.relname, pg_catalog.pg_get_indexdef(i.indexrelid)
            FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = $1::oid AND NOT i.indisprimary ORDER BY c.relname
            """, parameters: [oid], purpose: "read the indexes users added"
        ).rows.compactMap { row in row[0].flatMap { name in row[1].map { (name, $0) } } }
    }

    /// Drops the views, deepest first, so that the tables can be dropped.
    func dropViews(on session: isolated PostgresSession) throws {
        for view in views.reversed() {
            try session.execute(
                "DROP \(view.materialized ? "MATERIALIZED VIEW" : "VIEW") \(view.qualifiedName)",
                purpose: "drop the \(view.kind) \(view.schema).\(view.name) until the new tables are in")
        }
    }

    /// Gives the new tables (of the same names) their indexes, grants, comments and owners back, then creates the
    /// views again in dependency order with theirs. Anything the new tables cannot hold is a `DependentObjectError`
    /// naming the object.
    func restore(on session: isolated PostgresSession, logger: Logger) throws {
        for table in tables {
            let qualified = PostgresSQL.qualifiedName(schema: table.schema, table.name)
            for index in table.indexes {
                try recreate(index.definition, "index \(index.name) on table \(table.name)", on: session)
            }
            try restore(
                table.grants, comment: table.comment, owner: table.owner, on: qualified, kind: "TABLE",
                label: "table \(table.name)", session: session, logger: logger)
        }
        for view in views {
            let options = view.options.isEmpty ? "" : " WITH (\(view.options.joined(separator: ", ")))"
            let statement =
                view.materialized
                ? "CREATE MATERIALIZED VIEW \(view.qualifiedName)\(options) AS \(view.definition) "
                    + (view.populated ? "WITH DATA" : "WITH NO DATA")
                : "CREATE VIEW \(view.qualifiedName)\(options) AS \(view.definition)"
            try recreate(statement, "\(view.kind) \(view.schema).\(view.name)", on: session)
            for index in view.indexes {
                try recreate(index.definition, "index \(index.name) on \(view.kind) \(view.name)", on: session)
            }
            try restore(
                view.grants, comment: view.comment, owner: view.owner, on: view.qualifiedName,
                kind: view.materialized ? "MATERIALIZED VIEW" : "VIEW", label: "\(view.kind) \(view.name)",
                session: session, logger: logger)
        }
    }

    private func recreate(_ statement: String, _ object: String, on session: isolated PostgresSession) throws {
        do {
            try session.execute(statement, purpose: "create the \(object) again on the new tables")
        } catch {
            guard let state = error.sqlState, Self.schemaChangeStates.contains(state) else { throw error }
            throw DependentObjectError(
                "the \(object) cannot be created again on the new tables: \(error.serverMessage) (the schema "
                    + "changed under it): drop or change it, then load again; the live tables are unchanged")
        }
    }

    /// What a definition meets when the new tables lack what it used: undefined column, table, function; a
    /// changed type.
    private static let schemaChangeStates: Set<String> = ["42703", "42P01", "42883", "42804", "42P10"]

    private func restore(
        _ grants: [Grant], comment: String?, owner: String, on qualified: String, kind: String, label: String,
        session: isolated PostgresSession, logger: Logger
    ) throws {
        for grant in grants {
            let grantee = grant.grantee.map(PostgresSQL.quoteIdentifier) ?? "PUBLIC"
            let columns = grant.column.map { " (\(PostgresSQL.quoteIdentifier($0)))" } ?? ""
            let statement =
                "GRANT \(grant.privilege)\(columns) ON \(qualified) TO \(grantee)"
                + (grant.grantable ? " WITH GRANT OPTION" : "")
            do {
                try session.execute(statement, purpose: "grant \(grant.privilege) on \(label) again")
            } catch {
                guard error.sqlState == "42703", grant.column != nil else { throw error }
                // The column is gone from the new schema: its grant has nothing left to apply to.
                logger.warning(
                    "a column privilege is not carried over: the new table has no such column",
                    metadata: [
                        LogKey.table: "\(label)", "column": "\(grant.column ?? "")",
                        "grantee": "\(grant.grantee ?? "PUBLIC")", "privilege": "\(grant.privilege)",
                    ])
            }
        }
        if let comment {
            try session.execute(
                "COMMENT ON \(kind) \(qualified) IS \(PostgresSQL.quoteLiteral(comment))",
                purpose: "comment \(label) again")
        }
        let current = try session.query("SELECT current_user", purpose: "read the loading role").scalar
        if owner != current {
            try session.execute(
                "ALTER \(kind) \(qualified) OWNER TO \(PostgresSQL.quoteIdentifier(owner))",
                purpose: "give \(label) back to its owner \(owner)")
        }
    }
}

/// A user's object on a table that a load replaces which psql-copy cannot carry over, or cannot create again on
/// the new tables (exit 78): the target database's setup must change, never the data.
struct DependentObjectError: ToolError {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }  // runTool puts the tool's name before it
    var exitStatus: ExitStatus { .configError }
}
