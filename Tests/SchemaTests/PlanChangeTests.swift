import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("A schema file's plan against the catalog's: additive steps or conflicts")
struct PlanChangeTests {
    static let base = """
        {"_id": "objectId", "name": "string", "age": "int", "score": "long", "tags": ["string"],
         "address": {"city": "string"}}
        """

    static func change(_ old: String, _ new: String, keepExtra: Bool = false) throws -> PlanChange {
        let settings = FlattenSettings(keepExtra: keepExtra)
        let loaded = try SchemaFixtures.plan(old, settings: settings)
        // As oplog-sync has it: the old plan compiled back from the catalog, the new one with its settings.
        let catalogPlan = try TablePlan(catalog: loaded.catalog, settings: settings)
        let schema = try SchemaFixtures.schema(new, namespace: "test.edge")
        return PlanChange(from: catalogPlan, to: try TablePlan(schema: schema, settings: catalogPlan.settings))
    }

    @Test("an unchanged schema, fields in another order, changes nothing")
    func unchanged() throws {
        let reordered = """
            {"_id": "objectId", "tags": ["string"], "age": "int", "name": "string", "score": "long",
             "address": {"city": "string"}}
            """
        #expect(try Self.change(Self.base, reordered).isEmpty)
    }

    @Test("a new field, a new array of objects, a new nested object and widenings give exact DDL")
    func additiveDDL() throws {
        let new = """
            {"_id": "objectId", "name": "string", "age": "long", "score": "double", "tags": ["string"],
             "address": {"city": "json", "zip": "string"}, "email": "string",
             "orders": [{"sku": "string", "lines": ["int"]}], "profile": {"bio": "string", "links": ["string"]}}
            """
        let change = try Self.change(Self.base, new)
        #expect(change.isAdditive)
        #expect(
            change.additions.map(\.description) == [
                "column edge.age widened from int to long ($.age)",
                "column edge.score widened from long to double ($.score)",
                "column edge.address_city widened from string to json ($.address.city)",
                "new column edge.address_zip ($.address.zip, string)",
                "new column edge.email ($.email, string)",
                "new column edge.profile_bio ($.profile.bio, string)",
                "new table edge_orders ($.orders)",
                "new table edge_orders_lines ($.orders[*].lines)",
                "new table edge_profile_links ($.profile.links)",
            ])
        #expect(
            change.statements == [
                #"ALTER TABLE "public"."edge" ALTER COLUMN "age" TYPE bigint USING "age"::bigint"#,
                #"ALTER TABLE "public"."edge" ALTER COLUMN "score" TYPE double precision USING "score"::double precision"#,
                #"ALTER TABLE "public"."edge" ALTER COLUMN "address_city" TYPE jsonb USING to_jsonb("address_city")"#,
                #"ALTER TABLE "public"."edge" ADD COLUMN "address_zip" text"#,
                #"ALTER TABLE "public"."edge" ADD COLUMN "email" text"#,
                #"ALTER TABLE "public"."edge" ADD COLUMN "profile_bio" text"#,
                """
                CREATE TABLE "public"."edge_orders" (
                    "edge_id" text NOT NULL,
                    "idx" integer NOT NULL,
                    "sku" text,
                    PRIMARY KEY ("edge_id", "idx")
                )
                """,
                """
                CREATE TABLE "public"."edge_orders_lines" (
                    "edge_id" text NOT NULL,
                    "edge_orders_idx" integer NOT NULL,
                    "idx" integer NOT NULL,
                    "lines" integer,
                    PRIMARY KEY ("edge_id", "edge_orders_idx", "idx")
                )
                """,
                """
                CREATE TABLE "public"."edge_profile_links" (
                    "edge_id" text NOT NULL,
                    "idx" integer NOT NULL,
                    "links" text,
                    PRIMARY KEY ("edge_id", "idx")
                )
                """,
            ])
    }

    @Test("keep_extra turned on since the load is no schema change; a plan loaded with it keeps _extra")
    func extraColumnFollowsTheLoad() throws {
        let new = Self.base.replacingOccurrences(
            of: "\"name\": \"string\"", with: "\"name\": \"string\", \"x\": \"int\"")
        let change = try Self.change(Self.base, new, keepExtra: true)
        #expect(change.additions.map(\.description) == ["new column edge.x ($.x, int)"])
        #expect(change.new.rootTable.columns.last?.name == "_extra")
    }

    @Test(
        "a change no ALTER brings about is a conflict naming the path",
        arguments: [
            (#""name": "string", "#, "", "$.name", "no longer gives"),
            (#""tags": ["string"]"#, #""tags": "string""#, "$.tags", "now gives as string"),
            (#""name": "string""#, #""name": ["string"]"#, "$.name", "now gives as an array"),
            (#""age": "int""#, #""age": "decimal""#, "$.age", "from int to decimal, which is not a widening"),
            (#""score": "long""#, #""score": "int""#, "$.score", "from long to int, which is not a widening"),
            (#""name": "string""#, #""name": "int""#, "$.name", "from string to int"),
            (#""address": {"city": "string"}"#, #""address": "json""#, "$.address.city", "no longer gives"),
            (#""_id": "objectId""#, #""_id": "string""#, "$._id", "key column"),
        ])
    func conflicts(old: String, new: String, path: String, reason: String) throws {
        let change = try Self.change(Self.base, Self.base.replacingOccurrences(of: old, with: new))
        #expect(!change.isAdditive)
        #expect(
            change.conflicts.contains { $0.jsonPath == path && $0.reason.contains(reason) },
            "\(change.conflicts.map(\.description))")
    }

    @Test("widenings: int to long, int or long to double, any scalar but json to json; nothing else")
    func widenings() {
        for from in ScalarType.allCases {
            for to in ScalarType.allCases where to != from {
                let expected =
                    [(.int, .long), (.int, .double), (.long, .double)].contains { $0 == (from, to) }
                    || (to == .json)
                #expect(PlanChange.widens(from, to: to) == expected, "\(from) -> \(to)")
            }
        }
    }

    @Test("a random schema grown by new fields, arrays and widenings changes additively, and back is a conflict")
    func randomGrowth() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let settings = FlattenSettings(keepExtra: Bool.random(using: &random))
            let old = RandomSchemas.plan(&random, settings: settings)
            var counter = 0
            var widened = 0
            let fields = Self.grown(old.schema.fields, &random, counter: &counter, widened: &widened, isRoot: true)
            let schema = CollectionSchema(namespace: old.namespace, fields: fields)
            guard let catalogPlan = try? TablePlan(catalog: old.catalog, settings: settings),
                let new = try? TablePlan(schema: schema, settings: catalogPlan.settings)
            else { return }  // a new name colliding after sanitising: the schema file is refused anyway
            let change = PlanChange(from: catalogPlan, to: new)
            #expect(change.isAdditive, "seed \(seed): \(change.conflicts.map(\.description))")
            #expect(change.additions.filter { $0.kind == .widening }.count == widened, "seed \(seed)")
            let oldTables = Set(old.tables.map(\.name)),
                oldColumns = Set(old.catalogColumns.map { [$0.table, $0.column] })
            let created = Set(change.additions.filter { $0.kind == .table }.map(\.table))
            #expect(created == Set(new.tables.map(\.name)).subtracting(oldTables), "seed \(seed)")
            let added = Set(change.additions.filter { $0.kind == .column }.map { [$0.table, $0.column ?? ""] })
            let expected = Set(
                new.catalogColumns.filter { oldTables.contains($0.table) }.map { [$0.table, $0.column] }
            ).subtracting(oldColumns)
            #expect(added == expected, "seed \(seed)")
            #expect(change.statements.count == change.additions.count, "seed \(seed)")
            if let reloaded = try? TablePlan(catalog: new.catalog, settings: settings) {
                #expect(PlanChange(from: reloaded, to: new).isEmpty, "seed \(seed): applied, nothing is left")
            }
            if !change.additions.isEmpty {
                #expect(!PlanChange(from: new, to: catalogPlan).isAdditive, "seed \(seed): the way back")
            }
        }
    }

    /// The fields with new ones added and scalars widened at random (`_id` kept).
    static func grown(
        _ fields: [SchemaField], _ random: inout SeededRandom, counter: inout Int, widened: inout Int, isRoot: Bool
    ) -> [SchemaField] {
        var result = fields.map { field -> SchemaField in
            guard !(isRoot && field.name == "_id") else { return field }
            return SchemaField(field.name, grown(field.node, &random, counter: &counter, widened: &widened))
        }
        if Int.random(in: 0..<3, using: &random) == 0 {
            counter += 1
            let nodes: [SchemaNode] = [
                .scalar(.string), .array(.scalar(.int)), .object([SchemaField("inner", .scalar(.date))]),
                .array(.object([SchemaField("k", .scalar(.long)), SchemaField("v", .array(.scalar(.bool)))])),
            ]
            result.insert(SchemaField("added\(counter)", nodes.randomElement(using: &random)!), at: 0)
        }
        return result
    }

    static func grown(_ node: SchemaNode, _ random: inout SeededRandom, counter: inout Int, widened: inout Int)
        -> SchemaNode
    {
        switch node {
        case .scalar(let type):
            let wider = ScalarType.allCases.filter { PlanChange.widens(type, to: $0) }
            guard Int.random(in: 0..<4, using: &random) == 0, let to = wider.randomElement(using: &random) else {
                return node
            }
            widened += 1
            return .scalar(to)
        case .excluded, .hashed: return node
        case .object(let fields):
            // An empty object has no column: its new fields would be columns all the same.
            return .object(grown(fields, &random, counter: &counter, widened: &widened, isRoot: false))
        case .array(let element):
            return .array(grown(element, &random, counter: &counter, widened: &widened))
        }
    }
}
