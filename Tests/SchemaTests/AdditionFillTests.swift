import TestSupport
import Testing

@testable import MongoPG

@Suite("An additive schema change's new places written from a projection: what is read, staged and applied")
struct AdditionFillTests {
    static let base = """
        {"_id": "int", "name": "string", "orders": [{"sku": "string"}], "address": {"city": "string"}}
        """

    static func change(_ old: String, _ new: String, keepExtra: Bool = false) throws -> PlanChange {
        try PlanChangeTests.change(old, new, keepExtra: keepExtra)
    }

    static func fill(_ new: String, keepExtra: Bool = false) throws -> AdditionFill {
        try #require(AdditionFill(try change(base, new, keepExtra: keepExtra)))
    }

    /// The staged COPY text of `document`, per target.
    static func staged(_ fill: AdditionFill, _ document: BSONDocument) throws -> [String] {
        var flattening = Flattening(plan: fill.plan)
        var fields: [String: FlattenReport.FieldCounts] = [:]
        try flattening.flatten(document, fields: &fields)
        var buffers = [[UInt8]](repeating: [], count: fill.targets.count)
        fill.appendRows(of: flattening.cells, to: &buffers)
        return buffers.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("a new root field: only _id and it are read, staged and set where they differ")
    func newRootColumn() throws {
        let fill = try Self.fill(
            #"{"_id": "int", "name": "string", "note": "string", "orders": [{"sku": "string"}], "#
                + #""address": {"city": "string"}}"#)
        #expect(fill.projection == ["note"])
        #expect(fill.projectionDocument == ["_id": .int32(1), "note": .int32(1)])
        #expect(fill.targets.map(\.isNew) == [false])
        #expect(fill.columnNames(fill.targets[0]) == ["_id", "note"])
        #expect(
            fill.stagingStatements == [
                #"CREATE TEMPORARY TABLE "mongo_pg_fill_0" ("_id" integer, "note" text) ON COMMIT DROP"#
            ])
        #expect(
            fill.applyStatement
                == #"WITH "fill_0" AS (UPDATE "public"."edge" AS t SET "note" = s."note" FROM "mongo_pg_fill_0" AS s "#
                + #"WHERE t."_id" = s."_id" AND (t."note" IS DISTINCT FROM s."note") RETURNING t."_id" AS document) "#
                + #"SELECT count(*) FROM (SELECT document FROM "fill_0") AS written"#)
        #expect(try Self.staged(fill, ["_id": .int32(1), "note": .string("a\tb")]) == ["1\ta\\tb\n"])
        #expect(try Self.staged(fill, ["_id": .int32(2)]) == [""], "a document without the field stages nothing")
    }

    @Test("a new array inside array elements and a new field of theirs: the enclosing field is read")
    func newPlacesInsideArrays() throws {
        let fill = try Self.fill(
            #"{"_id": "int", "name": "string", "orders": [{"sku": "string", "qty": "int", "lines": ["int"]}], "#
                + #""address": {"city": "string", "zip": "string"}}"#)
        #expect(fill.projection == ["address", "orders"])
        let tables = fill.targets.map { fill.plan.tables[$0.table].name }
        #expect(tables == ["edge", "edge_orders", "edge_orders_lines"])
        #expect(fill.targets.map(\.isNew) == [false, false, true])
        #expect(fill.columnNames(fill.targets[0]) == ["_id", "address_zip"])
        #expect(fill.columnNames(fill.targets[1]) == ["edge_id", "idx", "qty"])
        #expect(fill.columnNames(fill.targets[2]) == ["edge_id", "edge_orders_idx", "idx", "lines"])
        let document: BSONDocument = [
            "_id": .int32(7), "address": .document(["city": .string("x"), "zip": .string("z1")]),
            "orders": .array([
                .document(["sku": .string("a"), "qty": .int32(2), "lines": .array([.int32(5), .int32(6)])]),
                .document(["sku": .string("b")]),
            ]),
        ]
        #expect(try Self.staged(fill, document) == ["7\tz1\n", "7\t0\t2\n", "7\t0\t0\t5\n7\t0\t1\t6\n"])
        let apply = fill.applyStatement
        #expect(apply.contains(#"INSERT INTO "public"."edge_orders_lines" ("edge_id", "edge_orders_idx", "idx", "#))
        #expect(
            apply.contains(
                #"WHERE EXISTS (SELECT FROM "public"."edge_orders" AS p WHERE p."edge_id" = s."edge_id" AND p."idx" = s."edge_orders_idx")"#
            ))
        #expect(apply.contains(#"WHERE t."edge_id" = s."edge_id" AND t."idx" = s."idx" AND (t."qty" IS DISTINCT"#))
        #expect(
            apply.hasSuffix(
                #"(SELECT document FROM "fill_0" UNION SELECT document FROM "fill_1" UNION "#
                    + #"SELECT document FROM "fill_2") AS written"#))
    }

    @Test("an array inside a new array: its rows need the row of the nearest table not created by the change")
    func nestedNewTables() throws {
        let fill = try Self.fill(
            #"{"_id": "int", "name": "string", "orders": [{"sku": "string"}], "address": {"city": "string"}, "#
                + #""boxes": [{"label": "string", "items": ["string"]}]}"#)
        #expect(fill.projection == ["boxes"])
        #expect(fill.targets.map { fill.plan.tables[$0.table].name } == ["edge_boxes", "edge_boxes_items"])
        #expect(fill.targets.map(\.isNew) == [true, true])
        let apply = fill.applyStatement
        #expect(
            apply.contains(
                #"INSERT INTO "public"."edge_boxes_items" ("edge_id", "edge_boxes_idx", "idx", "items") SELECT "#
                    + #""edge_id", "edge_boxes_idx", "idx", "items" FROM "mongo_pg_fill_3" AS s WHERE EXISTS "#
                    + #"(SELECT FROM "public"."edge" AS p WHERE p."_id" = s."edge_id")"#), "\(apply)")
    }

    @Test("with keep_extra, _extra is rewritten: the stored entries under the fields read give way to the staged ones")
    func extraRewritten() throws {
        let fill = try Self.fill(
            #"{"_id": "int", "name": "string", "orders": [{"sku": "string"}], "address": {"city": "string"}, "#
                + #""tags": ["string"]}"#, keepExtra: true)
        #expect(fill.projection == ["tags"])
        #expect(fill.columnNames(fill.targets[0]) == ["_id", "_extra"], "the root, for _extra alone")
        #expect(fill.targets[1].isNew)
        #expect(
            fill.applyStatement.contains(
                #"SET "_extra" = nullif(coalesce((SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(t."_extra") "#
                    + #"AS e WHERE NOT (e.key = 'tags' OR starts_with(e.key, 'tags.'))), '{}'::jsonb) || "#
                    + #"coalesce(s."_extra", '{}'::jsonb), '{}'::jsonb)"#))
        // Every document's root row is staged: its stored `_extra` may hold a value the new table now holds.
        #expect(
            try Self.staged(fill, ["_id": .int32(3), "tags": .array([.string("a")])]) == ["3\t\\N\n", "3\t0\ta\n"])
        let misfit = try Self.staged(fill, ["_id": .int32(4), "tags": .int32(1)])[0].filter { $0 != " " }
        #expect(misfit == "4\t{\"tags\":{\"$numberInt\":\"1\"}}\n", "a value the table cannot hold stays in _extra")
    }

    @Test("a name a projection cannot spell, or a new _extra: whole documents are read")
    func wholeDocuments() throws {
        let dotted = try Self.fill(
            #"{"_id": "int", "name": "string", "orders": [{"sku": "string"}], "address": {"city": "string"}, "#
                + #""a.b": "string"}"#)
        #expect(dotted.projection == nil)
        for name in ["a.\u{301}b", "$\u{301}b", "\u{301}."] {
            let schema =
                #"{"_id": "int", "name": "string", "orders": [{"sku": "string"}], "address": {"city": "string"}, "#
                + "\"\(name)\": \"string\"}"
            let change = try Self.change(Self.base, schema)
            #expect(try #require(AdditionFill(change)).projection == nil, "\(name.unicodeScalars.map(\.value))")
        }
        #expect(dotted.projectionDocument == nil)
        let extra = try #require(AdditionFill(try Self.change(Self.base, Self.base, keepExtra: false).withKeepExtra()))
        #expect(extra.projection == nil)
        #expect(!extra.applyStatement.contains("jsonb_each"), "the staged _extra is the whole one")
    }

    @Test("a widening, distributed tables or nothing to add: no fill (the convergence does it)")
    func notExact() throws {
        let widened = #"{"_id": "int", "name": "json", "orders": [{"sku": "string"}], "address": {"city": "string"}}"#
        #expect(AdditionFill(try Self.change(Self.base, widened)) == nil)
        #expect(AdditionFill(try Self.change(Self.base, Self.base)) == nil)
        let settings = FlattenSettings()
        var old = try TablePlan(
            catalog: try SchemaFixtures.plan(Self.base, settings: settings).catalog, settings: settings)
        old.isDistributed = true
        let new = try SchemaFixtures.plan(
            #"{"_id": "int", "name": "string", "note": "string", "orders": [{"sku": "string"}], "#
                + #""address": {"city": "string"}}"#)
        #expect(AdditionFill(PlanChange(from: old, to: new)) == nil)
    }
}

extension PlanChange {
    /// The same schema with `keep_extra` turned on: `_extra` is the one addition.
    fileprivate func withKeepExtra() throws -> PlanChange {
        var settings = old.settings
        settings.keepExtra = true
        return PlanChange(from: old, to: try TablePlan(schema: new.schema, settings: settings))
    }
}
