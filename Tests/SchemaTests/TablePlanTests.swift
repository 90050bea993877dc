import TestSupport
import Testing

@testable import MongoPG

@Suite("Table plans and DDL")
struct TablePlanTests {
    @Test("the customers schema gives the root table and customers_accounts, with exact DDL")
    func customersDDL() throws {
        let plan = try SchemaFixtures.fixturePlan(
            "sample_analytics.customers.json", namespace: "sample_analytics.customers")
        #expect(plan.tables.map(\.name) == ["customers", "customers_accounts"])
        #expect(
            plan.ddl == """
                CREATE TABLE "public"."customers" (
                    "_id" text NOT NULL,
                    "username" text,
                    "name" text,
                    "address" text,
                    "birthdate" timestamptz,
                    "email" text,
                    "active" boolean,
                    "tier_and_details" jsonb,
                    PRIMARY KEY ("_id")
                );

                CREATE TABLE "public"."customers_accounts" (
                    "customers_id" text NOT NULL,
                    "idx" integer NOT NULL,
                    "accounts" integer,
                    PRIMARY KEY ("customers_id", "idx")
                );

                """)
    }

    @Test("a load's staging DDL is the plan's DDL in another schema, its primary key added after the data")
    func stagingDDL() throws {
        let plan = try SchemaFixtures.fixturePlan(
            "sample_analytics.customers.json", namespace: "sample_analytics.customers")
        let child = plan.tables[1]
        #expect(
            plan.createStatement(child, inSchema: "etl_load", withPrimaryKey: false) == """
                CREATE TABLE "etl_load"."customers_accounts" (
                    "customers_id" text NOT NULL,
                    "idx" integer NOT NULL,
                    "accounts" integer
                )
                """)
        #expect(
            plan.primaryKeyStatement(child, inSchema: "etl_load")
                == #"ALTER TABLE "etl_load"."customers_accounts" ADD PRIMARY KEY ("customers_id", "idx")"#)
        #expect(
            plan.createStatements
                == plan.tables.map { plan.createStatement($0, inSchema: "public", withPrimaryKey: true) + ";" })
    }

    @Test("nested objects, arrays of objects, arrays in arrays and arrays of arrays get their tables and keys")
    func edgePlan() throws {
        let text = try String(contentsOf: Fixtures.url("schemas/edge_cases.json"), encoding: .utf8)
        let plan = try SchemaFixtures.plan(
            text, settings: FlattenSettings(keepExtra: true, tablePrefix: "mg_", targetSchema: "Data"))
        #expect(
            plan.tables.map(\.name) == [
                "mg_edge", "mg_edge_tags", "mg_edge_orders", "mg_edge_orders_lines", "mg_edge_matrix",
                "mg_edge_matrix_items",
            ])
        #expect(plan.tables.map(\.parent) == [nil, 0, 0, 2, 0, 4])
        #expect(plan.tables.map(\.arrayDepth) == [0, 1, 1, 2, 1, 2])
        let root = plan.tables[0].columns
        #expect(
            root.map(\.name) == [
                "_id", "name", "address_city", "address_geo_lat", "n", "d", "dec", "flag", "when", "ref", "blob", "key",
                "ts", "re", "code", "low", "free", "_extra",
            ])
        #expect(
            root.map(\.sqlType) == [
                .text, .text, .text, .doublePrecision, .bigint, .doublePrecision, .numeric, .boolean, .timestamptz,
                .text, .bytea, .uuid, .bigint, .text, .text, .text, .jsonb, .jsonb,
            ])
        #expect(plan.tables[1].columns.map(\.name) == ["mg_edge_id", "idx", "tags"])
        #expect(plan.tables[2].columns.map(\.name) == ["mg_edge_id", "idx", "sku", "qty", "ship_city"])
        #expect(plan.tables[3].columns.map(\.name) == ["mg_edge_id", "mg_edge_orders_idx", "idx", "lines"])
        #expect(plan.tables[4].columns.map(\.name) == ["mg_edge_id", "idx"])
        #expect(plan.tables[5].columns.map(\.name) == ["mg_edge_id", "mg_edge_matrix_idx", "idx", "items"])
        #expect(plan.tables[5].keyColumns.map(\.name) == ["mg_edge_id", "mg_edge_matrix_idx", "idx"])
        #expect(plan.tables[3].jsonPath == "$.orders[*].lines")
        #expect(plan.tables[5].jsonPath == "$.matrix[*]")
        #expect(
            plan.createStatements[3] == """
                CREATE TABLE "Data"."mg_edge_orders_lines" (
                    "mg_edge_id" text NOT NULL,
                    "mg_edge_orders_idx" integer NOT NULL,
                    "idx" integer NOT NULL,
                    "lines" bigint,
                    PRIMARY KEY ("mg_edge_id", "mg_edge_orders_idx", "idx")
                );
                """)
    }

    @Test("the catalog describes every column with its JSON path, BSON type, SQL type and parent table")
    func catalog() throws {
        let text = try String(contentsOf: Fixtures.url("schemas/edge_cases.json"), encoding: .utf8)
        let plan = try SchemaFixtures.plan(text)
        let columns = plan.catalogColumns
        #expect(columns.count == plan.tables.map(\.columns.count).reduce(0, +))
        let qty = try #require(columns.first { $0.table == "edge_orders" && $0.column == "qty" })
        #expect(
            qty
                == CatalogColumn(
                    collection: "test.edge", table: "edge_orders", column: "qty", position: 3,
                    jsonPath: "$.orders[*].qty", bsonType: "int", sqlType: "integer", parentTable: "edge", role: "value"
                ))
        let items = try #require(columns.first { $0.table == "edge_matrix_items" && $0.column == "items" })
        #expect(items.jsonPath == "$.matrix[*][*]")
        #expect(items.parentTable == "edge_matrix")
        let geo = try #require(columns.first { $0.column == "address_geo_lat" })
        #expect(geo.jsonPath == "$.address.geo.lat" && geo.sqlType == "double precision" && geo.parentTable == nil)
        #expect(plan.catalogTables.map(\.parentTable) == [nil, "edge", "edge", "edge_orders", "edge", "edge_matrix"])
        #expect(
            plan.catalogTables[0]
                == CatalogTable(collection: "test.edge", table: "edge", jsonPath: "$", parentTable: nil, arrayDepth: 0))
    }

    static let collisions: [(String, String, [String])] = [
        (#"{"_id": "objectId", "a_b": "int", "a": {"b": "int"}}"#, "column \"a_b\"", ["$.a_b", "$.a.b"]),
        (#"{"_id": "objectId", "a": ["int"], "a_": {"x": "int"}, "edge_a": ["int"]}"#, "", []),
        (#"{"_id": "objectId", "x": {"y": ["int"]}, "x_y": ["int"]}"#, "table name \"edge_x_y\"", ["$.x.y", "$.x_y"]),
        (#"{"_id": "objectId", "o": [{"idx": "int"}]}"#, "column \"idx\"", ["$.o[*].idx"]),
        (#"{"_id": "objectId", "_extra": "int"}"#, "column \"_extra\"", ["$._extra"]),
    ]

    @Test("names that collide after sanitising are refused at load, naming both paths", arguments: collisions)
    func collision(schema: String, message: String, paths: [String]) throws {
        do {
            _ = try SchemaFixtures.plan(schema, settings: FlattenSettings(keepExtra: true))
            #expect(message.isEmpty, "expected a collision")
        } catch let error as SchemaError {
            #expect(!message.isEmpty, "\(error)")
            #expect(error.kind == .identifierCollision)
            #expect(error.exitStatus == .configError)
            #expect(error.description.contains(message), "\(error)")
            for path in paths { #expect(error.description.contains(path), "\(error)") }
        }
    }

    @Test("names longer than 63 bytes are cut in tables and columns alike; colliding cuts are caught")
    func longNames() throws {
        let long = String(repeating: "n", count: 300)
        let plan = try SchemaFixtures.plan(#"{"_id": "objectId", "\#(long)": "int", "\#(long)x": ["int"]}"#)
        #expect(plan.tables[0].columns[1].name == Identifier.sanitised(long))
        #expect(plan.tables[1].name == Identifier.sanitised("edge_" + long + "x"))
        #expect(plan.tables[1].columns.last?.name == Identifier.sanitised(long + "x"))
        #expect(
            plan.tables.allSatisfy { $0.name.utf8.count <= 63 && $0.columns.allSatisfy { $0.name.utf8.count <= 63 } })
    }

    @Test("non-ObjectId _id types set the key columns' SQL type in every table")
    func idTypes() throws {
        for (type, sql) in [
            ("string", SQLType.text), ("int", .integer), ("long", .bigint), ("uuid", .uuid), ("json", .jsonb),
        ] {
            let plan = try SchemaFixtures.plan(#"{"_id": "\#(type)", "a": ["int"]}"#)
            #expect(plan.tables[0].columns[0].sqlType == sql)
            #expect(plan.tables[1].columns[0].sqlType == sql)
            #expect(plan.tables[1].columns[0].bsonType == type)
        }
    }
}
