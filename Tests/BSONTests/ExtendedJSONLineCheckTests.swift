import Foundation
import MongoPG
import Testing

/// What libbson's Extended JSON reader would take silently is refused before it reads: integers beyond 64 bits, a
/// second document, a top-level array, nesting deeper than BSON input may.
@Suite("Extended JSON lines: refused, never misread")
struct ExtendedJSONLineCheckTests {
    /// A line whose `d` nests `nesting` documents below the line's own.
    static func nested(_ nesting: Int, leaf: String = "1") -> String {
        #"{"_id": 1, "d": "# + String(repeating: #"{"d": "#, count: nesting) + leaf
            + String(repeating: "}", count: nesting) + "}"
    }

    @Test(
        "each hostile line is a BSONError of its kind naming what is wrong",
        arguments: [
            (#"{"a": 18446744073709551617}"#, BSONError.Kind.badValue, "integer 18446744073709551617 at a"),
            (#"{"a": {"b": [0, -99999999999999999999999]}}"#, .badValue, "at a.b.1 does not fit in 64 bits"),
            (#"{"a": {"$date": 99999999999999999999}}"#, .badValue, "at a does not fit"),
            (#"{"a": 1} {"b": 2}"#, .extendedJSON, "two documents on one line"),
            (#"{"a": 1} 5"#, .extendedJSON, "text follows the document"),
            ("[1, 2]", .extendedJSON, "not an array"),
            ("42", .extendedJSON, "not a value"),
            (nested(101), .tooDeep, "nests deeper than 100 levels"),
            (nested(101, leaf: #"{"$numberLong": "1"}"#), .tooDeep, "nests deeper than 100 levels"),
        ])
    func refused(line: String, kind: BSONError.Kind, message: String) {
        let error = #expect(throws: BSONError.self) { try BSONDocument.bytes(fromExtendedJSON: line) }
        #expect(error?.kind == kind)
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
        #expect(error?.exitStatus == .dataError)
    }

    @Test("integers at the edges of 64 bits, decimals, wrappers and strings that look like numbers read as written")
    func accepted() throws {
        let document = try BSONDocument(
            extendedJSON: #"{"max": 9223372036854775807, "min": -9223372036854775808, "x": 1.5e300, "#
                + #""s": "18446744073709551617 {\"a\": 1} [", "l": {"$numberLong": "5"}, "e": {}, "n": [[1]]}"#)
        #expect(document["max"] == .int64(.max))
        #expect(document["min"] == .int64(.min))
        #expect(document["s"] == .string(#"18446744073709551617 {"a": 1} ["#))
        #expect(document["l"] == .int64(5))
    }

    @Test("a wrapper at the deepest level counts no level of its own; 100 levels of nesting pass the check")
    func depthRule() throws {
        // libbson's reader itself stops short of 100 levels; the check must not be what refuses them.
        for line in [Self.nested(97), Self.nested(96, leaf: #"{"$numberLong": "1"}"#)] {
            #expect(throws: Never.self) { try BSONDocument.bytes(fromExtendedJSON: line) }
        }
        let error = #expect(throws: BSONError.self) { try BSONDocument.bytes(fromExtendedJSON: Self.nested(100)) }
        #expect(error?.kind == .tooDeep)
        #expect(error?.description.contains("libbson") == true)
    }
}
