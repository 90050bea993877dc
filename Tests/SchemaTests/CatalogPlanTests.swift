import Foundation
import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

/// Plans compiled back from catalog rows (`TablePlan(catalog:settings:)`): the same tables, columns and types as the
/// schema file's plan, the same schema up to the order of array fields, and documents rebuilt alike.
@Suite("Plans from the catalog")
struct CatalogPlanTests {
    /// Checks that the plan compiled from `plan`'s catalog rows is `plan` up to field order; returns it.
    @discardableResult
    static func checkSamePlan(_ plan: TablePlan, configured: FlattenSettings, _ comment: Comment = "") throws
        -> TablePlan
    {
        let back = try TablePlan(catalog: plan.catalog, settings: configured)
        #expect(
            SchemaFixtures.sortedTables(back.catalogTables) == SchemaFixtures.sortedTables(plan.catalogTables), comment)
        #expect(
            SchemaFixtures.sortedColumns(back.catalogColumns) == SchemaFixtures.sortedColumns(plan.catalogColumns),
            comment)
        #expect(back.settings == plan.settings, comment)
        #expect(back.idType == plan.idType, comment)
        #expect(back.namespace == plan.namespace, comment)
        #expect(SchemaFixtures.unordered(back.schema.fields) == SchemaFixtures.unordered(plan.schema.fields), comment)
        // Compiling the compiled plan's catalog gives it back exactly: its order is the catalog's own.
        #expect(try TablePlan(catalog: back.catalog, settings: configured).schema == back.schema, comment)
        return back
    }

    /// The settings the catalog does not record (strip_nul, target schema), with a keep_extra and (unless the root
    /// table's name was cut, which hides it) a prefix that the catalog must override.
    static func configured(_ plan: TablePlan) -> FlattenSettings {
        let settings = plan.settings
        let hidden = plan.rootTable.name != settings.tablePrefix + plan.namespace.collection
        return FlattenSettings(
            keepExtra: !settings.keepExtra, stripNUL: settings.stripNUL,
            tablePrefix: hidden ? settings.tablePrefix : "other_",
            targetSchema: settings.targetSchema)
    }

    @Test(
        "the fixture schemas' plans come back from their catalog rows",
        arguments: [
            ("edge_cases.json", FlattenSettings()),
            (
                "edge_cases.json",
                FlattenSettings(keepExtra: true, stripNUL: true, tablePrefix: "Mg \"x\" ", targetSchema: "t")
            ),
            ("sample_analytics.customers.json", FlattenSettings(tablePrefix: "mongo_")),
        ])
    func fixtures(file: String, settings: FlattenSettings) throws {
        let plan = try SchemaFixtures.fixturePlan(file, namespace: "test.edge", settings: settings)
        try Self.checkSamePlan(plan, configured: Self.configured(plan))
    }

    @Test("a schema whose arrays come after its other fields (sibling arrays in path order) comes back exactly")
    func exactOrder() throws {
        let plan = try SchemaFixtures.plan(
            #"""
            {"_id": "long", "n": "int",
             "o": {"a": "string", "b": {"c": "date"}, "arr": [{"x": "uuid", "in": [["int"]]}]},
             "free": "json", "p": {"q": [["decimal"]]}, "tags": ["string"]}
            """#)
        let back = try TablePlan(catalog: plan.catalog, settings: FlattenSettings())
        #expect(back.schema == plan.schema)
        #expect(back.tables.map(\.name) == plan.tables.map(\.name))
    }

    @Test("names cut and hashed (long fields, a long collection name) come back; the prefix must then be configured")
    func hashedNames() throws {
        let long = String(repeating: "ü", count: 40)
        let collection = "c" + String(repeating: "x", count: 70)
        let json = #"{"_id": "string", "\#(long)": {"\#(long)": "int", "list": [{"\#(long)": ["bool"]}]}}"#
        let settings = FlattenSettings(keepExtra: true, tablePrefix: "pre_")
        let plan = try SchemaFixtures.plan(json, namespace: "db.\(collection)", settings: settings)
        #expect(plan.rootTable.name.utf8.count <= Identifier.maximumBytes && plan.rootTable.name != "pre_" + collection)
        try Self.checkSamePlan(plan, configured: FlattenSettings(tablePrefix: "pre_"))
        let error = #expect(throws: CatalogError.self) {
            try TablePlan(catalog: plan.catalog, settings: FlattenSettings(tablePrefix: "changed_"))
        }
        #expect(error?.kind == .mismatch && error?.table == plan.rootTable.name)
    }

    @Test("random schemas' plans come back from their catalog rows, and rebuild documents as the schema's plan does")
    func randomSchemas() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let prefixes = ["", "p_", "Mg \"x\" ", String(repeating: "é", count: 30)]
            let settings = FlattenSettings(
                keepExtra: Bool.random(using: &random), stripNUL: Bool.random(using: &random),
                tablePrefix: prefixes.randomElement(using: &random)!)
            let plan = RandomSchemas.plan(&random, settings: settings)
            do {
                let back = try Self.checkSamePlan(plan, configured: Self.configured(plan), "seed \(seed)")
                for _ in 0..<3 {
                    try Self.checkRebuild(
                        RandomSchemas.document(for: plan.schema, &random), plan: plan, back: back, seed: seed)
                }
            } catch {
                Issue.record("seed \(seed): \(error)\nschema \(plan.schema.jsonText)")
            }
        }
    }

    /// The rows the schema's plan gives, rebuilt through the catalog's plan: the catalog's `normalise`, which is the
    /// schema's up to field order.
    static func checkRebuild(_ document: BSONDocument, plan: TablePlan, back: TablePlan, seed: Int) throws {
        var report = FlattenReport()
        guard let flattened = try? Flattener(plan: plan).flatten(document, report: &report) else { return }
        // As COPY text, the way rows reach PostgreSQL and come back (numeric as it prints, NaN without payload).
        var lines: [[[UInt8]]] = Array(repeating: [], count: back.tables.count)
        for (table, tableRows) in zip(plan.tables, flattened.rows) {
            let index = try #require(back.tables.firstIndex { $0.name == table.name })
            lines[index] = tableRows.map { row in
                var line: [UInt8] = []
                CopyTextEncoder.appendRow(row, to: &line)
                return Array(line.dropLast())
            }
        }
        let rebuilt = try DocumentRebuilder(plan: back).rebuild(copyText: lines)
        let expected = try normalise(document, plan: back)
        let context: Comment = "seed \(seed)\nschema \(plan.schema.jsonText)\ndocument \(document)\nrebuilt \(rebuilt)"
        #expect(rebuilt == expected, "\(context)\nexpected \(expected)")
        #expect(unordered(rebuilt) == unordered(.document(try normalise(document, plan: plan))), context)
    }

    static func unordered(_ document: BSONDocument) -> BSONValue { unordered(.document(document)) }

    static func unordered(_ value: BSONValue) -> BSONValue {
        switch value {
        case .document(let document):
            let elements = document.elements.map { BSONDocument.Element(key: $0.key, value: unordered($0.value)) }
            return .document(
                BSONDocument(elements: elements.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) }))
        case .array(let values): return .array(values.map(unordered))
        default: return value
        }
    }

    @Test("JSON paths of any field name parse back to the name")
    func jsonPaths() async {
        let alphabet =
            RandomSchemas.names + ["'", "\\", "\u{1}", "\u{1F}", "[*]", "]", ".", "['", "\u{7F}", "e\u{301}"]
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let names = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                RandomDocuments.string(&random, alphabet: alphabet, maxLength: 4)
            }
            let path = "$" + names.map(JSONPath.member).joined() + JSONPath.anyElement
            let steps = JSONPathStep.steps(of: path)
            #expect(steps == names.map { JSONPathStep.member($0) } + [.anyElement], "\(path)")
            #expect(
                steps?.dropLast().map { step -> [UInt8] in
                    guard case .member(let name) = step else { return [] }
                    return Array(name.utf8)
                } == names.map { Array($0.utf8) }, "\(path)")
        }
        for bad in ["", "a", "$.", "$[", "$['x", "$['x'", "$[x]", "$['\\q']", "$['\\u12']"] {
            #expect(JSONPathStep.steps(of: bad) == nil, "\(bad)")
        }
    }

    // MARK: Catalogs that do not give the plan back

    static func edgePlan() throws -> TablePlan {
        try SchemaFixtures.fixturePlan("edge_cases.json", namespace: "test.edge")
    }

    static func expectError(
        _ kind: CatalogError.Kind, table: String?, column: String? = nil, _ edit: (inout CollectionCatalog) -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var catalog = try edgePlan().catalog
        edit(&catalog)
        let error = #expect(throws: CatalogError.self, sourceLocation: sourceLocation) {
            try TablePlan(catalog: catalog, settings: FlattenSettings())
        }
        guard let error else { return }
        let named = [error.table, error.column].compactMap { $0 }.allSatisfy { "\(error)".contains($0) }
        #expect(
            error.kind == kind && error.table == table && error.column == column, "\(error)",
            sourceLocation: sourceLocation)
        #expect(
            named && error.collection == "test.edge" && error.exitStatus == .initLoadNeeded,
            sourceLocation: sourceLocation)
    }

    static func editColumn(
        _ catalog: inout CollectionCatalog, _ table: String, _ column: String, _ edit: (inout CatalogColumn) -> Void
    ) {
        let index = catalog.columns.firstIndex { $0.table == table && $0.column == column }!
        edit(&catalog.columns[index])
    }

    @Test("an edited catalog is refused with a typed error naming the table and column at fault")
    func mismatches() throws {
        try Self.expectError(.mismatch, table: "edge", column: "n") {
            Self.editColumn(&$0, "edge", "n") { $0.sqlType = "integer" }
        }
        try Self.expectError(.mismatch, table: "edge", column: "n") {
            Self.editColumn(&$0, "edge", "n") { $0.bsonType = "int" }
        }
        try Self.expectError(.mismatch, table: "edge_orders", column: "edge_id") {
            Self.editColumn(&$0, "edge_orders", "edge_id") { $0.sqlType = "bigint" }
        }
        try Self.expectError(.mismatch, table: "edge", column: "city") {
            Self.editColumn(&$0, "edge", "address_city") { $0.column = "city" }
        }
        try Self.expectError(.mismatch, table: "edge_tags") {
            let index = $0.tables.firstIndex { $0.table == "edge_tags" }!
            $0.tables[index].arrayDepth = 2
        }
        try Self.expectError(.mismatch, table: "edge_labels") {
            let index = $0.tables.firstIndex { $0.table == "edge_tags" }!
            $0.tables[index].table = "edge_labels"
            for column in $0.columns.indices where $0.columns[column].table == "edge_tags" {
                $0.columns[column].table = "edge_labels"
            }
        }
        try Self.expectError(.damaged, table: "edge", column: "d") {
            Self.editColumn(&$0, "edge", "d") { $0.jsonPath = "$.[" }
        }
        try Self.expectError(.damaged, table: "edge", column: "d") {
            Self.editColumn(&$0, "edge", "d") { $0.bsonType = "float" }
        }
        try Self.expectError(.damaged, table: "edge", column: "d") {
            Self.editColumn(&$0, "edge", "d") { $0.jsonPath = "$.n" }
        }
        try Self.expectError(.damaged, table: "edge", column: "d") {
            Self.editColumn(&$0, "edge", "d") { $0.jsonPath = "$.tags[*]" }
        }
        try Self.expectError(.damaged, table: "edge") {
            $0.columns.removeAll { $0.table == "edge" && $0.column == "d" }
        }
        try Self.expectError(.damaged, table: "edge_orders_lines") {
            let index = $0.tables.firstIndex { $0.table == "edge_orders_lines" }!
            $0.tables[index].parentTable = "nowhere"
        }
        try Self.expectError(.missing, table: nil) {
            $0.tables = []
            $0.columns = []
        }
    }
}
