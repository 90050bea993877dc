import Foundation
import TestSupport
import Testing

@testable import MongoPG

/// Schema leaves `{"exclude": true}` and `{"hash": ...}` (DESIGN.md, "Schema files"): parsing, plans, flattening,
/// rebuilding and the catalog, with a document whose private values are spelled so that any leak shows.
@Suite("Excluded and hashed fields (pure)")
struct PrivateFieldsTests {
    static let key = HashKey("test key, never printed")!
    static let settings = FlattenSettings(keepExtra: true, hashKeyVariable: "TEST_HASH_KEY", hashKey: key)

    static let schemaText = """
        {
          "_id": "int",
          "name": "string",
          "ssn": {"exclude": true},
          "email": {"hash": "text"},
          "profile": {"phone": {"hash": "bytea"}, "notes": {"exclude": true}, "city": "string"},
          "emails": [{"hash": "text"}],
          "cards": [{"number": {"hash": "text"}, "pin": {"exclude": true}, "brand": "string"}],
          "secrets": {"exclude": true}
        }
        """

    /// Every value here that must never reach a table.
    static let plainValues = [
        "SSN-111-22-3333", "alice@example.org", "+41-PHONE-555", "NOTES-private", "second@example.org",
        "CARD-4111-1111", "PIN-9876", "SECRET-blob",
    ]

    static let documentText = """
        {"_id": 1, "name": "Alice", "ssn": "SSN-111-22-3333", "email": "alice@example.org",
         "profile": {"phone": "+41-PHONE-555", "notes": "NOTES-private", "city": "Bern", "extra": "kept"},
         "emails": ["alice@example.org", "second@example.org", null],
         "cards": [{"number": "CARD-4111-1111", "pin": "PIN-9876", "brand": "visa"}],
         "secrets": {"blob": "SECRET-blob"}, "unknown": "is kept"}
        """

    static func plan(_ settings: FlattenSettings = settings) throws -> TablePlan {
        try SchemaFixtures.plan(schemaText, settings: settings)
    }

    static func hashText(_ value: BSONValue) throws -> SQLValue {
        .text(Hex.encode(try ValueHash.hash(of: value, key: key)))
    }

    /// Every cell's text, as a plain value would show in it.
    static func cellTexts(_ flattened: FlattenedDocument) -> String {
        flattened.rows.flatMap { $0 }.flatMap { $0 }.map(\.description).joined(separator: "\n")
    }

    @Test("a schema file spells the leaves as objects, writes them back alike, and refuses their misspellings")
    func schemaFile() throws {
        let schema = try SchemaFixtures.schema(Self.schemaText)
        #expect(schema.fields.first { $0.name == "ssn" }?.node == .excluded)
        #expect(schema.fields.first { $0.name == "email" }?.node == .hashed(.text))
        #expect(try SchemaFixtures.schema(schema.jsonText) == schema)
        #expect(schema.jsonText.contains(#""ssn": {"exclude": true}"#))
        #expect(schema.jsonText.contains(#""phone": {"hash": "bytea"}"#))
        // A field named "hash" or "exclude" with a type is an object of one field, as before.
        let named = try SchemaFixtures.schema(#"{"_id": "int", "a": {"hash": "string"}, "b": {"exclude": "bool"}}"#)
        #expect(named.fields[1].node == .object([SchemaField("hash", .scalar(.string))]))
        #expect(named.fields[2].node == .object([SchemaField("exclude", .scalar(.bool))]))
        let refused = [
            #"{"_id": "int", "a": {"hash": "md5"}}"#: "unknown hash column type",
            #"{"_id": "int", "a": {"exclude": false}}"#: "\"exclude\" takes true",
            #"{"_id": "int", "a": [{"exclude": true}]}"#: "exclude the array itself",
            #"{"_id": {"hash": "text"}}"#: "\"_id\" must be a type name",
            #"{"_id": {"exclude": true}}"#: "\"_id\" must be a type name",
        ]
        for (text, reason) in refused {
            let error = #expect(throws: SchemaError.self) { try SchemaFixtures.schema(text) }
            #expect(error?.kind == .badSchemaFile && error?.message.contains(reason) == true, "\(text): \(error!)")
        }
    }

    @Test("a hashed leaf is a text or bytea column of BSON type hash; an excluded one has no column but a path")
    func plan() throws {
        let plan = try Self.plan()
        let columns = Dictionary(
            plan.catalogColumns.map { ("\($0.table).\($0.column)", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(columns["edge.email"]?.sqlType == "text" && columns["edge.email"]?.bsonType == "hash")
        #expect(columns["edge.profile_phone"]?.sqlType == "bytea" && columns["edge.profile_phone"]?.bsonType == "hash")
        #expect(columns["edge_emails.emails"]?.bsonType == "hash")
        #expect(columns["edge_cards.number"]?.bsonType == "hash")
        #expect(!columns.keys.contains { $0.contains("ssn") || $0.contains("notes") || $0.contains("pin") })
        #expect(!columns.keys.contains { $0.contains("secrets") })
        #expect(plan.excludedPaths == ["$.ssn", "$.profile.notes", "$.cards[*].pin", "$.secrets"])
        #expect(plan.hashesValues)
    }

    @Test("a plan that hashes without a key is a configuration error naming the variable, never the key")
    func missingKey() throws {
        var settings = Self.settings
        settings.hashKey = nil
        let error = #expect(throws: SchemaError.self) { try Self.plan(settings) }
        #expect(error?.kind == .missingHashKey && error?.exitStatus == .configError)
        #expect(error?.description.contains("TEST_HASH_KEY") == true && error?.path == "$.email")
        settings.hashKeyVariable = nil
        let unnamed = #expect(throws: SchemaError.self) { try Self.plan(settings) }
        #expect(unnamed?.description.contains("hash_key_env") == true)
        // Without hashed leaves no key is needed.
        _ = try SchemaFixtures.plan(#"{"_id": "int", "ssn": {"exclude": true}}"#)
        #expect("\(Self.settings)".contains("never printed") == false)
        #expect(String(reflecting: Self.key).contains("never printed") == false)
        let encoded = String(decoding: try JSONEncoder().encode(Self.settings), as: UTF8.self)
        #expect(!encoded.contains("never printed") && !encoded.contains("hashKey"))
    }

    @Test("flattening loads hashes, drops excluded values uncounted, and no cell, _extra or count holds a plain value")
    func flatten() throws {
        let plan = try Self.plan()
        let document = try BSONDocument(extendedJSON: Self.documentText)
        var report = FlattenReport()
        let flattened = try Flattener(plan: plan).flatten(document, report: &report)
        let texts = Self.cellTexts(flattened)
        for plain in Self.plainValues { #expect(!texts.contains(plain), "\(plain) reached a cell") }
        #expect(texts.contains("is kept") && texts.contains("Bern") && texts.contains("visa"))
        let root = Dictionary(
            zip(plan.rootTable.columns.map(\.name), flattened.rows[0][0]), uniquingKeysWith: { first, _ in first })
        #expect(root["email"] == (try Self.hashText(.string("alice@example.org"))))
        let phone = try ValueHash.hash(of: .string("+41-PHONE-555"), key: Self.key)
        #expect(root["profile_phone"] == .bytes(phone))
        let emails = flattened.rows[plan.tables.firstIndex { $0.name == "edge_emails" }!]
        #expect(
            emails.map { $0.last } == [
                try Self.hashText(.string("alice@example.org")), try Self.hashText(.string("second@example.org")),
                .null,
            ])
        // Excluded places are not unknown: nothing counts them. The unknown fields count as before.
        #expect(Set(report.fields.keys) == ["$.profile.extra", "$.unknown"])
    }

    @Test("a value of another shape where private fields lie is counted but never kept in _extra")
    func withheldMisfits() throws {
        let plan = try Self.plan()
        let document = try BSONDocument(
            extendedJSON: #"{"_id": 2, "profile": "PHONE-as-a-string", "cards": {"number": "CARD-as-object"}}"#)
        var report = FlattenReport()
        let texts = Self.cellTexts(try Flattener(plan: plan).flatten(document, report: &report))
        #expect(!texts.contains("PHONE-as-a-string") && !texts.contains("CARD-as-object"))
        #expect(report.fields["$.profile"]?.mismatched == 1 && report.fields["$.profile"]?.keptInExtra == 0)
        #expect(report.fields["$.cards"]?.mismatched == 1 && report.fields["$.cards"]?.keptInExtra == 0)
        let rebuilt = try DocumentRebuilder(plan: plan).rebuild(
            DocumentRows(tables: try Flattener(plan: plan).flatten(document, report: &report).rows))
        #expect(rebuilt == (try normalise(document, plan: plan)))
    }

    @Test(
        "hash input is canonical: equal numbers of any type hash alike, other types never, decimals as written",
        arguments: [
            (BSONValue.int32(1), BSONValue.int64(1), true), (.int32(1), .double(1.0), true),
            (.int64(-7), .double(-7.0), true), (.double(0.0), .double(-0.0), true),
            (.double(.nan), .double(-.nan), true), (.int32(1), .string("1"), false),
            (.double(1.5), .int64(1), false), (.string("a"), .symbol("a"), false),
            (.document(["a": .int32(1)]), .document(["a": .double(1)]), true),
            (.document(["a": .int32(1), "b": .int32(2)]), .document(["b": .int32(2), "a": .int32(1)]), false),
            (.array([.int32(1)]), .document(["0": .int32(1)]), false),
            (.decimal128(Decimal128("1.0")!), .decimal128(Decimal128("1.00")!), false),
            (.decimal128(Decimal128("1")!), .int32(1), false), (.bool(true), .int32(1), false),
        ])
    func canonicalInput(left: BSONValue, right: BSONValue, equal: Bool) throws {
        let a = try ValueHash.hash(of: left, key: Self.key), b = try ValueHash.hash(of: right, key: Self.key)
        #expect((a == b) == equal, "\(left) vs \(right)")
        #expect(a != (try ValueHash.hash(of: left, key: HashKey("another key")!)))
    }

    @Test("rows rebuild to the normalised document, hashed values as stand-ins; flattened again they stay the same")
    func roundTrip() throws {
        let plan = try Self.plan()
        let document = try BSONDocument(extendedJSON: Self.documentText)
        var report = FlattenReport()
        let flattener = Flattener(plan: plan)
        let rows = try flattener.flatten(document, report: &report)
        let rebuilt = try DocumentRebuilder(plan: plan).rebuild(DocumentRows(tables: rows.rows))
        #expect(rebuilt == (try normalise(document, plan: plan)))
        #expect(!"\(rebuilt)".contains("alice") && !"\(rebuilt)".contains("SSN") && rebuilt["ssn"] == nil)
        // A replay flattens rebuilt documents with updates applied: a stand-in keeps its hash.
        #expect(try flattener.flatten(rebuilt, report: &report) == rows)
        // A value shaped like a stand-in but made without the key is hashed like any other.
        var forged = rebuilt
        let hash = try ValueHash.hash(of: .string("x"), key: Self.key)
        forged["email"] = .binary(BSONBinary(subtype: 0x80, data: hash + [UInt8](repeating: 0, count: 16)))
        let forgedRows = try flattener.flatten(forged, report: &report)
        #expect(forgedRows.rows[0][0] != rows.rows[0][0])
        #expect(!forgedRows.rows[0][0].contains(.text(Hex.encode(hash))))
    }

    @Test("the catalog records hashed columns and excluded paths, and compiles back to the same plan")
    func catalog() throws {
        let plan = try Self.plan()
        let back = try TablePlan(catalog: plan.catalog, settings: Self.settings)
        #expect(back.excludedPaths.sorted() == plan.excludedPaths.sorted())
        #expect(back.catalogColumns.count == plan.catalogColumns.count)
        let document = try BSONDocument(extendedJSON: Self.documentText)
        var report = FlattenReport()
        func rowsByTable(_ plan: TablePlan) throws -> [String: [[SQLValue]]] {
            let rows = try Flattener(plan: plan).flatten(document, report: &report).rows
            return Dictionary(uniqueKeysWithValues: zip(plan.tables.map(\.name), rows))
        }
        #expect(try rowsByTable(back) == rowsByTable(plan))
        var damaged = plan.catalog
        damaged.excluded.append("$.name")
        #expect(throws: CatalogError.self) { try TablePlan(catalog: damaged, settings: Self.settings) }
    }

    @Test("hashing or excluding a loaded field, or no longer doing so, needs a load; a new hashed field is additive")
    func planChanges() throws {
        let plain = try SchemaFixtures.plan(
            #"{"_id": "int", "email": "string", "ssn": "string", "old": {"exclude": true}}"#, settings: Self.settings)
        let changed = try SchemaFixtures.plan(
            #"{"_id": "int", "email": {"hash": "text"}, "ssn": {"exclude": true}, "old": "string", "new": {"hash": "bytea"}}"#,
            settings: Self.settings)
        let change = PlanChange(from: plain, to: changed)
        let conflicts = change.conflicts.map(\.jsonPath)
        #expect(conflicts.contains("$.email") && conflicts.contains("$.ssn") && conflicts.contains("$.old"))
        #expect(change.conflicts.first { $0.jsonPath == "$.email" }?.reason.contains("hashed (text)") == true)
        #expect(change.additions.map(\.jsonPath).contains("$.new"))
        let formats = PlanChange(
            from: changed,
            to: try SchemaFixtures.plan(
                #"{"_id": "int", "email": {"hash": "bytea"}, "ssn": {"exclude": true}, "old": "string", "new": {"hash": "bytea"}}"#,
                settings: Self.settings))
        #expect(formats.conflicts.map(\.jsonPath) == ["$.email"])
        let additive = PlanChange(
            from: plain,
            to: try SchemaFixtures.plan(
                #"{"_id": "int", "email": "string", "ssn": "string", "old": {"exclude": true}, "new": {"hash": "text"}}"#,
                settings: Self.settings))
        #expect(additive.isAdditive && additive.additions.map(\.jsonPath) == ["$.new"])
    }

    @Test("a schema inferred again keeps the private leaves of the one it replaces, even of fields the sample lacks")
    func inferredAgain() throws {
        let current = try SchemaFixtures.schema(Self.schemaText)
        let sampled = try SchemaFixtures.schema(
            #"{"_id": "int", "name": "string", "email": "string", "profile": {"phone": "string", "city": "string"}, "cards": [{"number": "string", "brand": "string"}]}"#
        )
        let merged = sampled.keepingPrivateLeaves(of: current)
        let mergedPlan = try TablePlan(schema: merged, settings: Self.settings)
        #expect(mergedPlan.excludedPaths.sorted() == (try Self.plan()).excludedPaths.sorted())
        #expect(Set(mergedPlan.catalogColumns.map(\.column)) == Set((try Self.plan()).catalogColumns.map(\.column)))
        #expect(merged.fields.first { $0.name == "email" }?.node == .hashed(.text))
    }
}
