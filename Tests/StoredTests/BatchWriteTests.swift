import Testing

@testable import MongoPG

@Suite("Which stored rows a batch leaves alone")
struct BatchWriteTests {
    /// `tier_and_details` as the flattener writes it (libbson's relaxed Extended JSON, the document's key order) and as
    /// PostgreSQL's jsonb gives it back (keys shorter first, its own spacing).
    static let written =
        #"{ "b9" : { "tier" : "Silver", "benefits" : [ "travel insurance" ], "active" : true, "id" : "b9" } }"#
    static let stored = #"{"b9": {"id": "b9", "tier": "Silver", "active": true, "benefits": ["travel insurance"]}}"#

    static func root(_ email: String, _ json: String) -> [SQLValue] {
        [.text("6b0d"), .text(email), .integer(3), .json(json)]
    }

    @Test("a root row whose jsonb PostgreSQL spells its own way, but holds the same value, is the same row")
    func sameJSONValue() {
        #expect(BatchWrite.sameRow(Self.root("a@x", Self.stored), Self.root("a@x", Self.written)))
        #expect(!BatchWrite.sameRow(Self.root("a@x", Self.stored), Self.root("b@x", Self.written)))
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
        #expect(!BatchWrite.sameRow(Self.root("a@x", stored), Self.root("a@x", written)))
    }

    @Test(
        "json cells are the same when only spelling, key order or a duplicate key (the last one counts) differ",
        arguments: [
            (#"{"a": 1, "bb": [1, {"c": "\u00e9"}]}"#, #"{ "bb" : [ 1, { "c" : "é" } ], "a" : 1 }"#),
            (#"{"a": 2}"#, #"{ "a" : 1, "a" : 2 }"#), (#"{}"#, #"{ }"#), (#"[]"#, #"[ ]"#),
        ])
    func sameJSON(stored: String, written: String) {
        #expect(BatchWrite.sameRow(Self.root("a@x", stored), Self.root("a@x", written)))
    }

    @Test("libbson's relaxed Extended JSON, spelt as jsonb, is PostgreSQL's own text for the value")
    func jsonbSpelling() {
        // A customers document's tier_and_details as mongo-reader wrote it and as PostgreSQL 15 gave it back.
        let written =
            #"{ "55429058eda14f3ebe9cf7b852fbc1d1" : { "tier" : "Bronze", "benefits" : [ "concierge services", "financial planning assistance" ], "active" : true, "id" : "55429058eda14f3ebe9cf7b852fbc1d1" }, "970f0c15c509422e9c0ea73657847354" : { "tier" : "Gold", "benefits" : [ "airline lounge access", "dedicated account representative" ], "active" : true, "id" : "970f0c15c509422e9c0ea73657847354" }, "2b558fe1fa70429ba01e2ac2307ad495" : { "tier" : "Silver", "benefits" : [ "concierge services" ], "active" : true, "id" : "2b558fe1fa70429ba01e2ac2307ad495" } }"#
        let stored =
            #"{"2b558fe1fa70429ba01e2ac2307ad495": {"id": "2b558fe1fa70429ba01e2ac2307ad495", "tier": "Silver", "active": true, "benefits": ["concierge services"]}, "55429058eda14f3ebe9cf7b852fbc1d1": {"id": "55429058eda14f3ebe9cf7b852fbc1d1", "tier": "Bronze", "active": true, "benefits": ["concierge services", "financial planning assistance"]}, "970f0c15c509422e9c0ea73657847354": {"id": "970f0c15c509422e9c0ea73657847354", "tier": "Gold", "active": true, "benefits": ["airline lounge access", "dedicated account representative"]}}"#
        #expect(JSONText.jsonbSpelling(written) == Array(stored.utf8))
        #expect(
            JSONText.jsonbSpelling(#"{ "s" : "a\"b\\c\u001f\n\u00e9\/", "n" : [ -1.5e3, null, false ] }"#)
                == Array(#"{"n": [-1.5e3, null, false], "s": "a\"b\\c\u001f\né/"}"#.utf8))
        for refused in [#"{"a": "\u0000"}"#, #""\ud800""#, #"{"a" 1}"#, "[1,", "tru", ""] {
            #expect(JSONText.jsonbSpelling(refused) == nil, "\(refused)")
        }
    }

    @Test("a json cell against NULL differs; rows of tables with several rows compare in any order (RowDiff)")
    func otherRows() {
        #expect(!BatchWrite.sameRow([.text("1"), .json("{}")], [.text("1"), .null]))
        #expect(!BatchWrite.sameRow([.text("1"), .null], [.text("1"), .json("{}")]))
        // Child rows of document "d": `idx`, value.
        let first: [SQLValue] = [.text("d"), .integer(0), .integer(1)]
        let second: [SQLValue] = [.text("d"), .integer(1), .integer(2)]
        let secondChanged: [SQLValue] = [.text("d"), .integer(1), .integer(1)]
        func diff(_ old: [[SQLValue]], _ new: [[SQLValue]]) -> RowDiff? {
            RowDiff.diff(old: RowDiff.Lines(rows: old), new: RowDiff.Lines(rows: new), keyCount: 2)
        }
        #expect(diff([first, second], [second, first]) == RowDiff())
        #expect(diff([first, second], [first, secondChanged]) != RowDiff())
        #expect(diff([first], []) != RowDiff())
        #expect(diff([], []) == RowDiff())
    }
}
