import Testing

@testable import MongoPG

@Suite("Which stored rows a batch leaves alone")
struct BatchWriteTests {
    /// `tier_and_details` as the flattener writes it (libbson's relaxed Extended JSON, the document's key order) and as
    /// PostgreSQL's jsonb gives it back (keys shorter first, its own spacing).
    static let written =
        #"{ "b9" : { "tier" : "Silver", "benefits" : [ "travel insurance" ], "active" : true, "id" : "b9" } }"#
    static let stored = #"{"b9": {"id": "b9", "tier": "Silver", "active": true, "benefits": ["travel insurance"]}}"#

    static func root(_ email: String, _ json: String) -> [[SQLValue]] {
        [[.text("6b0d"), .text(email), .integer(3), .json(json)]]
    }

    @Test("a root row whose jsonb PostgreSQL spells its own way, but holds the same value, is the same row")
    func sameJSONValue() {
        #expect(BatchWrite.sameRows(Self.root("a@x", Self.stored), Self.root("a@x", Self.written)))
        #expect(!BatchWrite.sameRows(Self.root("a@x", Self.stored), Self.root("b@x", Self.written)))
    }

    @Test(
        "json cells differ when jsonb would hold different values",
        arguments: [
            (#"{"a": 1}"#, #"{ "a" : 2 }"#), (#"{"a": 1}"#, #"{ "a" : 1, "b" : 1 }"#),
            (#"{"a": [1, 2]}"#, #"{ "a" : [ 2, 1 ] }"#), (#"{"a": 1.0}"#, #"{ "a" : 1.00 }"#),
            (#"{"a": "x"}"#, #"{ "a" : "X" }"#), (#"{"a": null}"#, #"{ }"#), (#"{"a": true}"#, #"{ "a" : "true" }"#),
            // Canonically equivalent, different bytes: jsonb keeps both spellings apart.
            ("{\"caf\u{E9}\": 1}", "{ \"cafe\u{301}\" : 1 }"),
            ("{\"a\": \"caf\u{E9}\"}", "{ \"a\" : \"cafe\u{301}\" }"),
            (#"{"a": 1}"#, #"{ "a" : 1 "#),
        ])
    func differentJSON(stored: String, written: String) {
        #expect(!BatchWrite.sameRows(Self.root("a@x", stored), Self.root("a@x", written)))
    }

    @Test(
        "json cells are the same when only spelling, key order or a duplicate key (the last one counts) differ",
        arguments: [
            (#"{"a": 1, "bb": [1, {"c": "\u00e9"}]}"#, #"{ "bb" : [ 1, { "c" : "é" } ], "a" : 1 }"#),
            (#"{"a": 2}"#, #"{ "a" : 1, "a" : 2 }"#), (#"{}"#, #"{ }"#), (#"[]"#, #"[ ]"#),
        ])
    func sameJSON(stored: String, written: String) {
        #expect(BatchWrite.sameRows(Self.root("a@x", stored), Self.root("a@x", written)))
    }

    @Test("a json cell against NULL, and rows of tables with several rows, compare as before")
    func otherRows() {
        #expect(!BatchWrite.sameRows([[.text("1"), .json("{}")]], [[.text("1"), .null]]))
        #expect(!BatchWrite.sameRows([[.text("1"), .null]], [[.text("1"), .json("{}")]]))
        #expect(BatchWrite.sameRows([[.integer(1)], [.integer(2)]], [[.integer(2)], [.integer(1)]]))
        #expect(!BatchWrite.sameRows([[.integer(1)], [.integer(2)]], [[.integer(2)], [.integer(2)]]))
        #expect(!BatchWrite.sameRows([[.integer(1)]], []))
        #expect(BatchWrite.sameRows([], []))
    }
}
