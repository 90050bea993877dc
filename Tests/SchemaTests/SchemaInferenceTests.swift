import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("Schema inference")
struct SchemaInferenceTests {
    static let namespace = Namespace(database: "test", collection: "infer")

    /// Infers from documents `{_id: n, x: value}`, one per value.
    static func infer(x values: [BSONValue]) -> InferredSchema {
        infer(values.enumerated().map { ["_id": .int32(Int32($0.offset)), "x": $0.element] })
    }

    static func infer(_ documents: [BSONDocument], limits: SchemaInference.Limits = .init()) -> InferredSchema {
        var inference = SchemaInference(namespace: namespace, limits: limits)
        for document in documents { inference.add(document) }
        return inference.finish()
    }

    static func field(_ inferred: InferredSchema, _ path: String) -> FieldReport? {
        inferred.report.fields.first { $0.path == path }
    }

    static let uuid = BSONValue.binary(BSONBinary(subtype: 4, data: Array(0..<16)))
    static let binData = BSONValue.binary(BSONBinary(subtype: 0, data: [1, 2]))

    static let unificationCases: [(values: [BSONValue], node: SchemaNode, conflicts: [String: Int])] = [
        ([.int32(1), .int64(2)], .scalar(.long), [:]),
        ([.int32(1), .double(2.5)], .scalar(.double), [:]),
        ([.int64(1), .double(2.5), .int32(3)], .scalar(.double), [:]),
        ([.int32(1), .null], .scalar(.int), [:]),
        ([.null, .string("a"), .null], .scalar(.string), [:]),
        ([.null, .null], .scalar(.json), [:]),
        ([.string("a"), .string("b"), .int32(1)], .scalar(.string), ["int": 1]),
        ([.int32(1), .int64(2), .string("c")], .scalar(.long), ["string": 1]),
        ([.int32(1), .string("c")], .scalar(.string), ["int": 1]),
        ([.decimal128(Decimal128("1")!), .double(1), .double(2)], .scalar(.double), ["decimal": 1]),
        ([.int64(1 << 53 + 1), .double(0.5)], .scalar(.double), ["long": 1]),
        ([.datetime(0), .datetime(.min)], .scalar(.date), ["date": 1]),
        ([uuid, uuid], .scalar(.uuid), [:]),
        ([uuid, binData], .scalar(.binData), [:]),
        ([.binary(BSONBinary(subtype: 4, data: [1, 2, 3]))], .scalar(.binData), [:]),
        ([.regex(BSONRegex(pattern: "^a", options: "")), .null], .scalar(.regex), [:]),
        ([.timestamp(BSONTimestamp(seconds: 1, increment: 2))], .scalar(.timestamp), [:]),
        (
            [.document(["a": .int32(1)]), .document(["a": .int64(2), "b": .string("s")]), .string("no")],
            .object([SchemaField("a", .scalar(.long)), SchemaField("b", .scalar(.string))]), ["string": 1]
        ),
        ([.document([:]), .null], .scalar(.json), [:]),
        ([.document([:]), .array([.int32(1)])], .scalar(.json), [:]),
        ([.array([.int32(1)]), .array([.int64(2), .null])], .array(.scalar(.long)), [:]),
        ([.array([]), .array([])], .array(.scalar(.json)), [:]),
        ([.array([.array([.int32(1)])]), .array([.array([])])], .array(.array(.scalar(.int))), [:]),
        (
            [.array([.document(["a": .int32(1)])]), .array([.document(["a": .null, "b": .bool(true)]), .null])],
            .array(.object([SchemaField("a", .scalar(.int)), SchemaField("b", .scalar(.bool))])), [:]
        ),
        ([.array([.int32(1)]), .string("a"), .string("b")], .scalar(.string), ["array": 1]),
    ]

    @Test(
        "types unify: int+long → long, int+double → double, x+null → x, conflicts → the most common, rest reported",
        arguments: unificationCases)
    func unification(values: [BSONValue], node: SchemaNode, conflicts: [String: Int]) throws {
        let inferred = Self.infer(x: values)
        #expect(inferred.schema.fields.map(\.name) == ["_id", "x"])
        #expect(inferred.schema.fields[1].node == node, "\(inferred.report.text)")
        let report = try #require(Self.field(inferred, "$.x"))
        #expect(Dictionary(uniqueKeysWithValues: report.conflicts.map { ($0.type, $0.count) }) == conflicts)
        #expect(report.count == values.count)
        #expect(report.types.reduce(0) { $0 + $1.count } == values.count)
    }

    @Test("_id is inferred like any field, but an embedded-document _id becomes json and a missing one objectId")
    func idTypes() throws {
        #expect(Self.infer([["_id": .string("a")], ["_id": .string("b")]]).schema.fields[0].node == .scalar(.string))
        #expect(Self.infer([["_id": .int32(1)], ["_id": .int64(2)]]).schema.fields[0].node == .scalar(.long))
        let embedded = Self.infer([["_id": .document(["a": .int32(1)])], ["_id": .document(["a": .int32(2)])]])
        #expect(embedded.schema.fields.map(\.node) == [.scalar(.json)])
        #expect(Self.field(embedded, "$._id")?.note?.contains("_id") == true)
        #expect(embedded.report.fields.count == 1, "nothing reported below a json _id")
        let missing = Self.infer([
            ["x": .int32(1)], ["y": .int32(2), "_id": .objectID(ObjectID(hex: "5ca4bbcea2dd94ee58162a68")!)],
        ])
        #expect(missing.schema.fields.map(\.name) == ["_id", "x", "y"], "_id first, the rest in order first seen")
        #expect(Self.field(missing, "$._id")?.count == 1)
        #expect(
            Self.infer([]).schema
                == CollectionSchema(namespace: Self.namespace, fields: [SchemaField("_id", .scalar(.objectId))]))
        #expect(Self.infer([]).report.problems.count == 1)
    }

    @Test("field names are told apart byte for byte, as MongoDB does: precomposed and decomposed é are two fields")
    func byteWiseNames() {
        let precomposed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let inferred = Self.infer([
            BSONDocument([("_id", .int32(1)), (precomposed, .int32(1)), (decomposed, .string("x"))])
        ])
        #expect(inferred.schema.fields.count == 3)
        let nodes = inferred.schema.fields.filter { $0.name.utf8.count > 3 }.map {
            ($0.name.unicodeScalars.count, $0.node)
        }
        #expect(nodes.first { $0.0 == 4 }?.1 == .scalar(.int))
        #expect(nodes.first { $0.0 == 5 }?.1 == .scalar(.string))
    }

    @Test("tier_and_details in sample_analytics.customers has dynamic keys and becomes json, from one document up")
    func customersDynamicKeys() throws {
        let documents = try SchemaFixtures.documents("sample_analytics/customers.json")
        for count in [1, 2, 4, documents.count] {
            let inferred = Self.infer(Array(documents.prefix(count)))
            #expect(inferred.schema.fields.last == SchemaField("tier_and_details", .scalar(.json)), "first \(count)")
            let report = try #require(Self.field(inferred, "$.tier_and_details"))
            #expect(report.note?.hasPrefix("dynamic keys: keys look like ids") == true, "\(report)")
            #expect(!inferred.report.fields.contains { $0.path.hasPrefix("$.tier_and_details.") })
        }
    }

    @Test("many rarely shared keys with values of one kind are dynamic; field names shared by the objects are not")
    func rareKeys() throws {
        let days = (0..<60).map { day in
            BSONDocument([
                ("_id", .int32(Int32(day))),
                ("visits", .document(BSONDocument([("2024-01-\(day)", .int32(1)), ("2024-02-\(day)", .int64(2))]))),
            ])
        }
        let visits = try #require(Self.field(Self.infer(days), "$.visits"))
        #expect(visits.schemaType == "json")
        #expect(visits.note?.contains("120 distinct keys in 60 objects") == true, "\(visits)")

        // The same keys with values of two kinds: not uniform, so they stay columns.
        let mixed = days.enumerated().map { offset, document in
            var document = document
            if offset == 0 { document["visits"] = .document(["2024-03-01": .string("many")]) }
            return document
        }
        #expect(Self.field(Self.infer(mixed), "$.visits")?.schemaType == "object")

        // Twenty fields every object has: a wide object, not a dynamic one.
        let wide = (0..<30).map { id in
            BSONDocument([
                ("_id", .int32(Int32(id))),
                ("m", .document(BSONDocument((0..<20).map { ("f\($0)", .int32(Int32(id))) }))),
            ])
        }
        let inferred = Self.infer(wide)
        guard case .object(let fields) = inferred.schema.fields[1].node else {
            Issue.record("m is not an object: \(inferred.schema.jsonText)")
            return
        }
        #expect(fields.map(\.name) == (0..<20).map { "f\($0)" })
        #expect(DynamicKeys.looksLikeIdentifier("0df078f33aa74a2e9696e0520c1a828a"))
        #expect(DynamicKeys.looksLikeIdentifier("73ffd264-44b3-4c69-90e8-e7d1dfc035d4"))
        #expect(!DynamicKeys.looksLikeIdentifier("deadbeef"))
        #expect(!DynamicKeys.looksLikeIdentifier("tier_and_details"))
    }

    @Test("memory stays bounded: keys beyond the limits are only counted, and their object becomes json")
    func boundedKeys() throws {
        let wide = BSONDocument([
            ("_id", .int32(0)), ("w", .document(BSONDocument((0..<5000).map { ("k\($0)", .int32(1)) }))),
        ])
        var inference = SchemaInference(namespace: Self.namespace)
        inference.add(wide)
        #expect(inference.root.fields[FieldName("w")]?.fields.count == SchemaInference.Limits().keysPerObject)
        #expect(inference.root.fields[FieldName("w")]?.untrackedKeys == 5000 - SchemaInference.Limits().keysPerObject)
        let inferred = inference.finish()
        #expect(inferred.schema.fields[1].node == .scalar(.json))
        #expect(Self.field(inferred, "$.w")?.note?.contains("more distinct keys than the 1000 tracked") == true)

        // The bound on all paths holds across documents and nesting levels.
        var bounded = SchemaInference(namespace: Self.namespace, limits: .init(keysPerObject: 1000, fields: 50))
        for id in 0..<100 {
            bounded.add([
                "_id": .int32(Int32(id)),
                "o\(id)": .document(["a\(id)": .int32(1), "b": .array([.document(["c\(id)": .null])])]),
            ])
        }
        #expect(bounded.trackedFields == 50)
        let boundedReport = bounded.finish().report
        #expect(boundedReport.problems.contains { $0.contains("after the tracking limits were reached") })
        #expect(boundedReport.fields.contains { $0.note?.contains("tracked") == true })
    }

    @Test("the customers schema prints as the committed schema file, loads back and plans the expected tables")
    func customersRoundTrip() throws {
        let inferred = Self.infer(try SchemaFixtures.documents("sample_analytics/customers.json"))
        let text = inferred.schema.jsonText
        #expect(
            text == (try String(contentsOf: Fixtures.url("schemas/sample_analytics.customers.json"), encoding: .utf8)))
        let loaded = try CollectionSchema(namespace: Self.namespace, jsonText: text)
        #expect(loaded == inferred.schema)
        let plan = try TablePlan(schema: loaded)
        #expect(plan.tables.map(\.name) == ["infer", "infer_accounts"])
        #expect(
            plan.rootTable.columns.map(\.name) == [
                "_id", "username", "name", "address", "birthdate", "email", "active", "tier_and_details",
            ])
        #expect(
            plan.rootTable.columns.map(\.sqlType) == [
                .text, .text, .text, .text, .timestamptz, .text, .boolean, .jsonb,
            ])
        #expect(plan.tables[1].columns.map(\.name) == ["infer_id", "idx", "accounts"])
        #expect(inferred.report.documents == 500)
        #expect(Self.field(inferred, "$.active")?.count == 1)
        #expect(Self.field(inferred, "$.accounts[*]")?.types == [FieldReport.TypeCount(type: "int", count: 1746)])
        #expect(inferred.report.problems.isEmpty)
        #expect(inferred.report.text.contains("$.tier_and_details"))

        let accounts = Self.infer(try SchemaFixtures.documents("sample_analytics/accounts.json"))
        #expect(
            accounts.schema.jsonText == """
                {
                  "_id": "objectId",
                  "account_id": "int",
                  "limit": "int",
                  "products": ["string"]
                }

                """)
    }

    @Test("a schema whose names collide after sanitising is printed with the collision reported")
    func collision() {
        let inferred = Self.infer([["_id": .int32(1), "a": .document(["b": .int32(1)]), "a_b": .int32(2)]])
        #expect(inferred.report.problems.count == 1)
        #expect(inferred.report.problems.first?.contains("a_b") == true)
    }

    @Test("for random documents the schema loads back, and its plan loads every value except the reported conflicts")
    func randomDocuments() async {
        await propertyCheck(count: 1000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let documents = (0..<Int.random(in: 1...20, using: &random)).map { index in
                let fields = RandomDocuments.document(&random).elements.filter { $0.key != "_id" }
                return BSONDocument(elements: [.init(key: "_id", value: .int32(Int32(index)))] + fields)
            }
            let inferred = Self.infer(documents)
            let text = inferred.schema.jsonText
            #expect(
                (try? CollectionSchema(namespace: Self.namespace, jsonText: text)) == inferred.schema,
                "seed \(seed)\n\(text)")
            guard let plan = try? TablePlan(schema: inferred.schema, settings: FlattenSettings(stripNUL: true)) else {
                #expect(!inferred.report.problems.isEmpty, "seed \(seed): a schema that does not compile is reported")
                return
            }
            var flattened = FlattenReport()
            for document in documents {
                do {
                    _ = try Flattener(plan: plan).flatten(document, report: &flattened)
                } catch {
                    Issue.record("seed \(seed): \(error)")
                }
            }
            var conflicts: [String: Int] = [:]
            for field in inferred.report.fields where !field.conflicts.isEmpty {
                conflicts[field.path] = field.conflicts.reduce(0) { $0 + $1.count }
            }
            let mismatched = flattened.fields.mapValues(\.mismatched).filter { $0.value > 0 }
            #expect(mismatched == conflicts, "seed \(seed)\n\(text)\n\(inferred.report.text)")
            #expect(
                flattened.fields.values.allSatisfy { $0.unknown == 0 }, "seed \(seed): every field is in the schema")
        }
    }
}
