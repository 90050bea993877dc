import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

@Suite("Rebuilding documents from rows")
struct DocumentRebuilderTests {
    @Test("rebuild(flatten(doc)) == normalise(doc) for random documents that fit random schemas")
    func property() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in Self.checkRoundTrip(seed: seed) }
    }

    /// Seeds that once failed: 5753024407624348461 kept a NaN with a payload in `_extra`, which text gives back as
    /// the plain NaN.
    @Test("seeds that once failed the round trip pass it", arguments: [5_753_024_407_624_348_461])
    func regressions(seed: Int) { Self.checkRoundTrip(seed: seed) }

    static func checkRoundTrip(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed))
        let settings = FlattenSettings(keepExtra: Bool.random(using: &random), stripNUL: Bool.random(using: &random))
        let plan = RandomSchemas.plan(&random, settings: settings)
        let document = RandomSchemas.document(for: plan.schema, &random)
        let expected: BSONDocument
        do {
            expected = try normalise(document, plan: plan)
        } catch {
            // Only a NUL byte with strip_nul off may be refused, and then flattening refuses it too.
            let refusedNUL = error.kind == .badDocument && !settings.stripNUL
            #expect(refusedNUL, "seed \(seed): \(error)")
            #expect(throws: SchemaError.self, "seed \(seed)") { try RoundTrip.rebuild(document, plan: plan) }
            return
        }
        do {
            let rebuilt = try RoundTrip.rebuild(document, plan: plan)
            #expect(
                rebuilt == expected,
                "seed \(seed)\nschema \(plan.schema.jsonText)\ndocument \(document)\nexpected \(expected)\nrebuilt  \(rebuilt)"
            )
        } catch {
            Issue.record("seed \(seed): \(error)\nschema \(plan.schema.jsonText)\ndocument \(document)")
        }
    }

    @Test("the sample customers come back exactly as normalised, and differ from the original only as documented")
    func customers() throws {
        let plan = try SchemaFixtures.fixturePlan(
            "sample_analytics.customers.json", namespace: "sample_analytics.customers")
        for document in try SchemaFixtures.documents("sample_analytics/customers.json") {
            let rebuilt = try RoundTrip.rebuild(document, plan: plan)
            #expect(rebuilt == (try normalise(document, plan: plan)))
            // Only tier_and_details changes: jsonb orders its keys.
            var original = document
            original["tier_and_details"] = document["tier_and_details"].map(ExtendedJSONValue.jsonbOrdered)
            #expect(rebuilt == original)
        }
    }

    @Test("values kept in _extra return to their places: ill-typed elements, wrong shapes, unknown nested fields")
    func extrasReturn() throws {
        let plan = try SchemaFixtures.fixturePlan(
            "edge_cases.json", namespace: "test.edge", settings: FlattenSettings(keepExtra: true))
        let document = try BSONDocument(
            extendedJSON: #"""
                {"_id": {"$oid": "5ca4bbcea2dd94ee58162a68"}, "zz": 1, "address": {"zip": "z", "city": "c"}, "name": 5,
                 "tags": ["a", 7, null], "orders": [{"note": "n"}, "bad", {}], "matrix": "flat", "$set": true, "a.b": {"b": 1, "a": 2}}
                """#)
        let rebuilt = try RoundTrip.rebuild(document, plan: plan)
        #expect(
            rebuilt
                == (try BSONDocument(
                    extendedJSON: #"""
                        {"_id": {"$oid": "5ca4bbcea2dd94ee58162a68"}, "name": 5, "address": {"city": "c", "zip": "z"},
                         "tags": ["a", 7, null], "orders": [{"note": "n"}, "bad", null], "matrix": "flat",
                         "$set": true, "a.b": {"a": 2, "b": 1}, "zz": 1}
                        """#)))
    }

    /// "é" precomposed (U+00E9) and decomposed ("e" + U+0301): equal as Swift Strings, two keys to MongoDB and jsonb.
    static let precomposed = "\u{E9}", decomposed = "e\u{301}"

    /// The keys of a document as byte arrays, so the check itself cannot merge canonically equivalent spellings.
    static func keyBytes(_ document: BSONDocument) -> [[UInt8]] { document.keys.map { Array($0.utf8) } }

    @Test("jsonbOrdered keeps both spellings of a key that differ only in Unicode normalisation, shorter first")
    func jsonbOrderedKeepsBothSpellings() {
        let document: BSONDocument = [Self.decomposed: .int32(2), Self.precomposed: .int32(1)]
        let ordered = ExtendedJSONValue.jsonbOrdered(document)
        #expect(Self.keyBytes(ordered) == [Array(Self.precomposed.utf8), Array(Self.decomposed.utf8)])
        #expect(ordered.elements.map(\.value) == [.int32(1), .int32(2)])
    }

    @Test("a json value and _extra fields with both spellings of a key come back through the tables, both kept")
    func bothSpellingsRoundTrip() throws {
        let plan = try SchemaFixtures.fixturePlan(
            "edge_cases.json", namespace: "test.edge", settings: FlattenSettings(keepExtra: true))
        let id = BSONValue.objectID(ObjectID(hex: "5ca4bbcea2dd94ee58162a68")!)
        let free: BSONDocument = [Self.precomposed: .int32(1), Self.decomposed: .int32(2)]
        // Unknown fields, kept in `_extra`: both spellings at the top, and under `address` a key that starts with a
        // combining mark, which must not fuse with the `.` of its dotted path.
        let address: BSONDocument = ["city": .string("c"), "\u{301}x": .int32(3)]
        let document: BSONDocument = [
            "_id": id, "free": .document(free), Self.decomposed: .string("d"), Self.precomposed: .string("p"),
            "address": .document(address),
        ]
        let expected = try normalise(document, plan: plan)
        // Unknown fields follow the schema's in byte order: "e" (0x65) sorts before U+00E9 (0xC3 0xA9).
        let order = ["_id", "address", "free", Self.decomposed, Self.precomposed]
        #expect(Self.keyBytes(expected) == order.map { Array($0.utf8) })
        #expect(expected[Self.precomposed] == .string("p") && expected[Self.decomposed] == .string("d"))
        guard case .document(let normalisedFree)? = expected["free"] else {
            Issue.record("free is not a document: \(expected)")
            return
        }
        #expect(Self.keyBytes(normalisedFree) == [Array(Self.precomposed.utf8), Array(Self.decomposed.utf8)])
        #expect(expected["address"] == .document(["city": .string("c"), "\u{301}x": .int32(3)]))

        let rebuilt = try RoundTrip.rebuild(document, plan: plan)
        #expect(rebuilt == expected)
        #expect(Self.keyBytes(rebuilt) == Self.keyBytes(expected))
    }

    @Test("damaged rows are refused with a clear error, never a crash")
    func damagedRows() throws {
        let plan = try SchemaFixtures.fixturePlan("edge_cases.json", namespace: "test.edge")
        let rebuilder = DocumentRebuilder(plan: plan)
        let width = plan.rootTable.columns.count
        let root = [SQLValue.text("5ca4bbcea2dd94ee58162a68")] + Array(repeating: .null, count: width - 1)
        var tables = Array(repeating: [[SQLValue]](), count: plan.tables.count)
        tables[0] = [root]
        let idOnly = try rebuilder.rebuild(DocumentRows(tables: tables))
        #expect(idOnly == ["_id": .objectID(ObjectID(hex: "5ca4bbcea2dd94ee58162a68")!)])
        var gap = tables
        gap[1] = [[root[0], .integer(1), .text("x")]]
        var badID = tables
        badID[0] = [[.text("not hex")] + root.dropFirst()]
        var wrongType = tables
        wrongType[0] = [[root[0], .integer(5)] + root.dropFirst(2)]
        for (name, rows) in [
            ("gap", gap), ("bad _id", badID), ("wrong type", wrongType),
            ("no root", [[[SQLValue]]](repeating: [], count: plan.tables.count)),
        ] {
            #expect(throws: SchemaError.self, "\(name)") { try rebuilder.rebuild(DocumentRows(tables: rows)) }
        }
        #expect(throws: SchemaError.self) {
            try rebuilder.rebuild(copyText: [[Array("x\ty".utf8)]] + Array(repeating: [], count: plan.tables.count - 1))
        }
    }
}
