import TestSupport
import Testing

@testable import MongoPG

@Suite("Schema files")
struct CollectionSchemaTests {
    @Test("the fixture schema loads into a typed tree in file order and prints back identically")
    func loadsAndPrints() throws {
        let text = try String(contentsOf: Fixtures.url("schemas/edge_cases.json"), encoding: .utf8)
        let schema = try SchemaFixtures.schema(text)
        #expect(schema.fields.map(\.name).prefix(5) == ["_id", "name", "address", "tags", "orders"])
        #expect(
            schema.fields[2].node
                == .object([
                    SchemaField("city", .scalar(.string)),
                    SchemaField("geo", .object([SchemaField("lat", .scalar(.double))])),
                ]))
        #expect(schema.fields[5].node == .array(.array(.scalar(.int))))
        let reparsed = try SchemaFixtures.schema(schema.jsonText)
        #expect(reparsed == schema)
        #expect(schema.jsonText.contains("\"tags\": [\"string\"]"))
    }

    static let badFiles: [(String, String, String)] = [
        ("{", "$", "not valid JSON"),
        ("[\"string\"]", "$", "must be a JSON object"),
        (#"{"name": "string"}"#, "$", "no \"_id\""),
        (#"{"_id": "objectId", "a": "strnig"}"#, "$.a", "unknown type \"strnig\""),
        (#"{"_id": "objectId", "a": {"b": 5}}"#, "$.a.b", "expected a type name"),
        (#"{"_id": "objectId", "a": []}"#, "$.a", "exactly one element"),
        (#"{"_id": "objectId", "a": ["int", "long"]}"#, "$.a", "exactly one element"),
        (#"{"_id": "objectId", "a": [[{"x": null}]]}"#, "$.a[0][0].x", "expected a type name"),
        (#"{"_id": "objectId", "a": "int", "a": "long"}"#, "$.a", "duplicate field"),
        (#"{"_id": {"a": "int"}}"#, "$._id", "\"_id\" must be a type name"),
        (#"{"_id": "objectId", "odd name": true}"#, "$['odd name']", "expected a type name"),
    ]

    @Test("a bad schema file is refused with its JSON path, the reason and exit status 78", arguments: badFiles)
    func badFile(text: String, path: String, reason: String) {
        do {
            _ = try CollectionSchema(namespace: Namespace("db.c")!, jsonText: text, file: "schemas/db.c.json")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.kind == .badSchemaFile)
            #expect(error.path == path, "\(error)")
            #expect(error.description.contains(reason), "\(error)")
            #expect(error.description.contains("schemas/db.c.json"))
            #expect(error.exitStatus == .configError)
        }
    }

    @Test("a missing schema file is a configuration error naming it")
    func missingFile() {
        #expect {
            try SchemaFile(namespace: Namespace("db.c")!, path: "/nonexistent/db.c.json", settings: FlattenSettings())
        } throws: { error in
            error.exitStatus == .configError && "\(error)".contains("/nonexistent/db.c.json")
        }
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    @Test("names up to 63 bytes keep their spelling and case; longer ones are cut with a stable hash suffix")
    func truncation() {
        #expect(Identifier.sanitised("tomatoes_viewer_numReviews") == "tomatoes_viewer_numReviews")
        let exact = String(repeating: "a", count: 63)
        #expect(Identifier.sanitised(exact) == exact)
        let long = String(repeating: "a", count: 64)
        let cut = Identifier.sanitised(long)
        #expect(cut.utf8.count == 63)
        #expect(cut == String(repeating: "a", count: 54) + "_" + hex(FNV1a.hash32(Array(long.utf8))))
        #expect(Identifier.sanitised(long) == cut, "stable")
        #expect(Identifier.sanitised(long + "b") != cut, "different names get different hashes")
        #expect(Identifier.sanitised("") == "_")
    }

    @Test("cutting never splits a UTF-8 character")
    func utf8Boundary() {
        for prefixLength in 0..<4 {
            let name = String(repeating: "x", count: prefixLength) + String(repeating: "日", count: 40)
            let cut = Identifier.sanitised(name)
            #expect(cut.utf8.count <= 63)
            #expect(cut.hasPrefix(String(repeating: "x", count: prefixLength) + "日"))
            #expect(String(validating: Array(cut.utf8), as: UTF8.self) != nil)
        }
    }

    @Test("quoting doubles inner quotes, also a quote that a combining mark follows")
    func quoting() {
        #expect(Identifier.quoted(#"a"b"#) == #""a""b""#)
        #expect(Identifier.quoted("Robert'); DROP TABLE x;--") == "\"Robert'); DROP TABLE x;--\"")
        // `"` + U+0301 is one Character, not `"`: compared as bytes, since String == would hide a missing quote.
        #expect(Array(Identifier.quoted("a\"\u{301}b").utf8) == Array("\"a\"\"\u{301}b\"".utf8))
    }

    func hex(_ value: UInt32) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 8 - text.count) + text
    }
}
