import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

/// Malformed and hostile documents through flattening, against a schema that expects them and schemas that do not:
/// nothing crashes, what is refused is refused with a typed error naming the document, and what is accepted comes
/// back from its rows as `normalise` says (`rebuild(flatten(d)) == normalise(d)`).
@Suite("Flattening hostile documents")
struct HostileDocumentTests {
    static let oid = BSONValue.objectID(ObjectID(hex: "5ca4bbcea2dd94ee58162a68")!)

    static func document(_ fields: [(String, BSONValue)]) -> BSONDocument { BSONDocument([("_id", oid)] + fields) }

    /// `value` wrapped in `depth` documents under `key`: `{key: {key: ... value}}`.
    static func nestedObjects(_ key: String, depth: Int, _ value: BSONValue) -> BSONValue {
        (0..<depth).reduce(value) { inner, _ in .document([key: inner]) }
    }

    static let long = String(repeating: "n", count: 300)
    static let longUnicode = String(repeating: "é", count: 150)  // 300 bytes

    /// The hostile documents, by name. Nesting stops at 100 levels, MongoDB's limit, counting the document itself.
    static let documents: [String: BSONDocument] = [
        "objects nested 100 levels": document([
            ("d", nestedObjects("d", depth: 98, .document(["v": .int32(1), "s": .string("deep")])))
        ]),
        "arrays nested 100 levels": document([
            ("a", (0..<98).reduce(BSONValue.array([.int32(1), .int32(2)])) { inner, _ in .array([inner, .null]) })
        ]),
        "arrays nested 32 levels, as deep as a primary key allows": document([
            ("a", (0..<30).reduce(BSONValue.array([.int32(1), .int32(2)])) { inner, _ in .array([.null, inner]) })
        ]),
        "objects in arrays nested 100 levels": document([
            (
                "m",
                (0..<49).reduce(BSONValue.array([.string("leaf")])) { inner, level in
                    .array([.document(["m": inner, "i": .int32(Int32(level))])])
                }
            )
        ]),
        "10k-element arrays": document([
            ("numbers", .array((0..<10_000).map { .int32(Int32($0)) })),
            ("rows", .array((0..<10_000).map { .document(["i": .int64(Int64($0)), "s": .string("row \($0)")]) })),
        ]),
        "quotes in names and values": document([
            (#"a"b"#, .string(#"say "hi""#)), (#""q""#, .int32(1)), ("it's", .string("it's")),
            (#"back\slash"#, .string(#"\N\t"#)),
            ("o", .document([#"""#: .string("'"), "'": .array([.string(#"""#)])])),
        ]),
        "dots in names and values": document([
            ("x.y", .string("a.b.c")), ("a..b", .string("..")), (".", .int32(1)), ("x.", .string("$x.y")),
            ("o", .document([".y": .string("."), "p.q": .document(["r.s": .int32(2)])])),
            ("l", .array([.document(["k.v": .string("v.k")])])),
        ]),
        "dotted and dollar names beside the nested paths they read like": document([
            ("meta", .document(["dims": .document(["w": .int32(1)]), "dims.w": .int32(7), "$w": .int32(2)])),
            ("meta.dims", .document(["w": .int32(3)])),
        ]),
        "dollar-prefixed names": document([
            ("$set", .int32(1)), ("$", .string("$")), ("$ref", .string("coll")), ("$id", .int32(7)),
            ("a$b", .string("$$")),
            ("o", .document(["$inc": .document(["n": .int32(1)]), "$unset": .string("")])),
            ("l", .array([.document(["$push": .int32(1)])])),
        ]),
        "Extended JSON keywords as names": document([
            ("w", .document(["$oid": .string("not an id")])), ("n", .document(["$numberLong": .string("5")])),
            ("l", .array([.document(["$date": .int32(1)])])), ("$numberDouble", .string("x")),
        ]),
        "empty names": document([
            ("", .int32(1)), ("e", .document(["": .string("empty"), "x": .document(["": .string("y")])])),
            ("l", .array([.document(["": .int32(2)])])),
        ]),
        "unicode names and values": document([
            ("\u{E9}", .int32(1)), ("e\u{301}", .int32(2)), ("\u{2126}", .string("ohm")), ("\u{3A9}", .string("omega")),
            ("日本", .array([.string("語")])),
            ("🙂", .document(["👍🏽": .string("🙂🙃")])), ("\u{FEFF}bom", .string("\u{200D}")), ("עברית", .string("שלום")),
            ("ﬁ", .string("fi")),
        ]),
        "300-byte names": document([
            (long, .int32(1)), (long + "x", .array([.int32(1), .int32(2)])),
            (longUnicode, .document([long: .string("deep long")])),
            ("l", .array([.document([long: .array([.string("x")])])])),
        ]),
        "control characters in names and values": document([
            ("tab\tkey", .string("a\tb")), ("new\nline", .string("\r\n")), ("\u{1}", .string("\u{1F}\u{7F}")),
            ("bell\u{7}", .array([.string("\u{8}\u{C}\u{B}")])),
        ]),
        "NUL inside strings": document([
            ("s", .string("a\0b")), ("l", .array([.string("\0")])), ("o", .document(["k": .string("x\0")])),
        ]),
    ]

    // MARK: Schemas

    /// The schema a document's own shape asks for: leaves typed as found, arrays typed by their first element that
    /// is not null (or `int` when there is none), later duplicates of a name left out.
    static func schema(expecting document: BSONDocument) -> CollectionSchema {
        CollectionSchema(namespace: Namespace(database: "test", collection: "hostile"), fields: fields(of: document))
    }

    static func fields(of document: BSONDocument) -> [SchemaField] {
        var seen: Set<[UInt8]> = []
        return document.elements.compactMap { element in
            guard seen.insert(Array(element.key.utf8)).inserted else { return nil }
            return SchemaField(element.key, node(of: element.value))
        }
    }

    static func node(of value: BSONValue) -> SchemaNode {
        switch value {
        case .document(let document): return .object(fields(of: document))
        case .array(let elements): return .array(elements.first { $0 != .null }.map(node(of:)) ?? .scalar(.int))
        case .null: return .scalar(.string)
        default: return .scalar(ScalarType(rawValue: value.typeAlias) ?? .json)
        }
    }

    /// The same shape with every leaf typed otherwise and objects and arrays swapped: every value a mismatch.
    static func mismatched(_ node: SchemaNode) -> SchemaNode {
        switch node {
        case .scalar(let type): return .scalar(type == .string ? .long : .string)
        case .excluded, .hashed: return node  // any value fits
        case .object(let fields): return .array(.object(fields.map { SchemaField($0.name, mismatched($0.node)) }))
        case .array(let element): return .object([SchemaField("x", mismatched(element))])
        }
    }

    /// The same shape with its places excluded, hashed whole or hashed leaf by leaf, in turn (array elements are
    /// hashed, never excluded one by one).
    static func privatised(_ fields: [SchemaField]) -> [SchemaField] {
        fields.enumerated().map { index, field in
            guard field.name != "_id" else { return field }
            switch index % 3 {
            case 0: return SchemaField(field.name, .excluded)
            case 1: return SchemaField(field.name, .hashed(.bytea))
            default: return SchemaField(field.name, privatised(field.node))
            }
        }
    }

    static func privatised(_ node: SchemaNode) -> SchemaNode {
        switch node {
        case .scalar, .excluded, .hashed: .hashed(.text)
        case .object(let fields): .object(privatised(fields))
        case .array(let element):
            if case .object(let fields) = element {
                .array(.object(privatised(fields)))
            } else {
                .array(.hashed(.text))
            }
        }
    }

    /// A schema that expects the document, one that expects nothing but `_id`, one that expects other types, one
    /// that excludes and hashes its places.
    static func schemas(for document: BSONDocument) -> [(String, CollectionSchema)] {
        let expecting = schema(expecting: document)
        let namespace = expecting.namespace
        return [
            ("expecting", expecting),
            ("only _id", CollectionSchema(namespace: namespace, fields: [SchemaField("_id", .scalar(.objectId))])),
            (
                "other types",
                CollectionSchema(
                    namespace: namespace,
                    fields: expecting.fields.map { $0.name == "_id" ? $0 : SchemaField($0.name, mismatched($0.node)) })
            ),
            ("excluded and hashed", CollectionSchema(namespace: namespace, fields: privatised(expecting.fields))),
        ]
    }

    static let hashKey = HashKey("hostile test key")
    static let settings: [FlattenSettings] = [
        FlattenSettings(hashKey: hashKey), FlattenSettings(keepExtra: true, hashKey: hashKey),
        FlattenSettings(keepExtra: true, stripNUL: true, hashKey: hashKey),
    ]

    // MARK: Checks

    /// What happens to one document: "refused at plan" / "refused" / "accepted" with the check that applies.
    @discardableResult
    static func check(
        _ document: BSONDocument, _ schema: CollectionSchema, _ settings: FlattenSettings, _ label: String
    ) -> String {
        let plan: TablePlan
        do {
            plan = try TablePlan(schema: schema, settings: settings)
        } catch {
            #expect([.identifierCollision, .badSchemaFile].contains(error.kind), "\(label): \(error)")
            #expect(error.exitStatus == .configError && !error.description.isEmpty, "\(label)")
            return "refused at plan"
        }
        let rebuilt: BSONDocument
        do {
            rebuilt = try RoundTrip.rebuild(document, plan: plan)
        } catch let error as SchemaError {
            #expect(error.kind == .badDocument, "\(label): \(error)")
            #expect(error.documentID?.contains("5ca4bbcea2dd94ee58162a68") == true, "\(label): \(error)")
            #expect(error.exitStatus == .dataError, "\(label)")
            #expect(throws: SchemaError.self, "\(label): normalise accepts what flattening refuses") {
                try normalise(document, plan: plan)
            }
            return "refused: \(error.message)"
        } catch {
            Issue.record("\(label): untyped error \(error)")
            return "untyped error"
        }
        do {
            let expected = try normalise(document, plan: plan)
            #expect(
                rebuilt == expected,
                "\(label)\nexpected \(expected.description.prefix(600))\nrebuilt  \(rebuilt.description.prefix(600))")
        } catch {
            Issue.record("\(label): flattening accepts what normalise refuses: \(error)")
        }
        return "accepted"
    }

    @Test(
        "each hostile document, against a schema expecting it and schemas that do not: typed refusal or a faithful round trip",
        arguments: documents.keys.sorted())
    func hostile(name: String) throws {
        let document = try #require(Self.documents[name])
        for (schemaName, schema) in Self.schemas(for: document) {
            for settings in Self.settings {
                Self.check(
                    document, schema, settings,
                    "\(name), schema \(schemaName), keep_extra \(settings.keepExtra), strip_nul \(settings.stripNUL)")
            }
        }
    }

    @Test(
        "a schema expecting the hostile names compiles, and its documents are accepted where nothing in them is refused by policy"
    )
    func expectedSchemasAccept() throws {
        for name in [
            "objects nested 100 levels", "arrays nested 32 levels, as deep as a primary key allows",
            "10k-element arrays",
            "quotes in names and values", "dots in names and values", "dollar-prefixed names", "empty names",
            "300-byte names",
            "control characters in names and values",
        ] {
            let document = try #require(Self.documents[name])
            let outcome = Self.check(document, Self.schema(expecting: document), FlattenSettings(keepExtra: true), name)
            #expect(outcome == "accepted", "\(name): \(outcome)")
        }
    }

    @Test("arrays nested deeper than a primary key can index are refused when the schema loads, naming the path")
    func tooDeepForAKey() throws {
        for name in ["arrays nested 100 levels", "objects in arrays nested 100 levels"] {
            let document = try #require(Self.documents[name])
            let error = #expect(throws: SchemaError.self) { try TablePlan(schema: Self.schema(expecting: document)) }
            #expect(error?.kind == .badSchemaFile && error?.exitStatus == .configError, "\(name)")
            #expect(error?.description.contains("PostgreSQL allows 32") == true, "\(String(describing: error))")
            #expect(error?.path?.hasPrefix("$.") == true, "\(String(describing: error))")
        }
        let deepest = try #require(Self.documents["arrays nested 32 levels, as deep as a primary key allows"])
        let plan = try TablePlan(schema: Self.schema(expecting: deepest))
        #expect(plan.tables.map(\.keyColumns.count).max() == TablePlan.maximumKeyColumns)
    }

    @Test("an array of 10k elements gives 10k rows with idx 0 to 9999")
    func bigArrays() throws {
        let document = try #require(Self.documents["10k-element arrays"])
        let plan = try TablePlan(schema: Self.schema(expecting: document))
        var report = FlattenReport()
        let rows = try Flattener(plan: plan).flatten(document, report: &report).rows
        #expect(rows[1].count == 10_000 && rows[2].count == 10_000)
        #expect(rows[1].map { $0[1] } == (0..<10_000).map { .integer(Int64($0)) })
        #expect(
            rows[2].last == [.text("5ca4bbcea2dd94ee58162a68"), .integer(9_999), .integer(9_999), .text("row 9999")])
    }

    // MARK: Random corruption

    @Test("random corruption of documents' bytes, decoded and flattened: typed errors or rows, never a crash")
    func corruptedBytes() async throws {
        let customers = try SchemaFixtures.fixturePlan(
            "sample_analytics.customers.json", namespace: "sample_analytics.customers")
        let samples = try SchemaFixtures.documents("sample_analytics/customers.json").prefix(20).map {
            try BSONEncoder.encode($0)
        }
        await propertyCheck(count: 3000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let settings = FlattenSettings(
                keepExtra: Bool.random(using: &random), stripNUL: Bool.random(using: &random))
            let fixture = Bool.random(using: &random)
            let plan = fixture ? customers : RandomSchemas.plan(&random, settings: settings)
            let original =
                fixture
                ? samples.randomElement(using: &random)!
                : (try? BSONEncoder.encode(RandomSchemas.document(for: plan.schema, &random)))
            guard var bytes = original, bytes.count > 5 else { return }
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &random)
                case 2: bytes.remove(at: at)
                case 3: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
                default: bytes.removeLast(Int.random(in: 0...min(8, bytes.count - 1), using: &random))
                }
                if bytes.isEmpty { return }
            }
            let document: BSONDocument
            do {
                document = try BSONDecoder.decode(bytes)
            } catch {
                return  // the decoder's typed errors are BSONTests' concern
            }
            var stream = CopyStream(plan: plan, sink: MemoryCopySink(tableCount: plan.tables.count))
            do {
                try stream.append(document)
                try stream.flush()
                #expect(stream.report.documents == 1, "seed \(seed)")
            } catch let error as SchemaError {
                #expect(error.kind == .badDocument && error.exitStatus == .dataError, "seed \(seed): \(error)")
            } catch {
                Issue.record("seed \(seed): untyped error \(error)")
            }
        }
    }
}
