import Foundation
import TestSupport
import Testing

@testable import MongoPG

/// Single documents through the edge-case schema, each with its rows spelled out.
@Suite("Flattening single documents")
struct FlattenerTests {
    static let oid = "5ca4bbcea2dd94ee58162a68"
    static let id = SQLValue.text(oid)

    static func plan(_ settings: FlattenSettings = FlattenSettings(keepExtra: true)) throws -> TablePlan {
        try SchemaFixtures.fixturePlan("edge_cases.json", namespace: "test.edge", settings: settings)
    }

    /// Flattens `fields` (Extended JSON members, without braces) in a document with the fixed ObjectId.
    static func flatten(_ fields: String, _ settings: FlattenSettings = FlattenSettings(keepExtra: true)) throws
        -> (rows: [String: [[SQLValue]]], root: [String: SQLValue], report: FlattenReport)
    {
        let plan = try plan(settings)
        let document = try BSONDocument(
            extendedJSON: #"{"_id": {"$oid": "\#(oid)"}\#(fields.isEmpty ? "" : ", ")\#(fields)}"#)
        var report = FlattenReport()
        let flattened = try Flattener(plan: plan).flatten(document, report: &report)
        var rows: [String: [[SQLValue]]] = [:]
        for (index, table) in plan.tables.enumerated() { rows[table.name] = flattened.rows[index] }
        #expect(flattened.rows[0].count == 1)
        var root: [String: SQLValue] = [:]
        for (column, value) in zip(plan.rootTable.columns, flattened.rows[0][0]) where value != .null {
            root[column.name] = value
        }
        return (rows, root, report)
    }

    static func extra(_ root: [String: SQLValue]) throws -> BSONDocument? {
        guard case .json(let text) = root["_extra"] else { return nil }
        return try BSONDocument(extendedJSON: text)
    }

    @Test("nested objects become columns joined by _; null and missing fields both load as NULL")
    func nestedObjects() throws {
        let result = try Self.flatten(#""name": null, "address": {"geo": {"lat": 1.5}}"#)
        #expect(result.root == ["_id": Self.id, "address_geo_lat": .double(1.5)])
        #expect(result.rows.filter { $0.key != "edge" }.allSatisfy { $0.value.isEmpty })
        #expect(result.report.fields.isEmpty)
        #expect(result.report.rows == ["edge": 1])
    }

    @Test(
        "an array of scalars gives one row per element with its 0-based idx; null and ill-typed elements keep their row"
    )
    func scalarArray() throws {
        let result = try Self.flatten(#""tags": ["a", null, {"$numberInt": "5"}, "b"]"#)
        #expect(
            result.rows["edge_tags"] == [
                [Self.id, .integer(0), .text("a")], [Self.id, .integer(1), .null], [Self.id, .integer(2), .null],
                [Self.id, .integer(3), .text("b")],
            ])
        #expect(result.report.fields["$.tags[*]"]?.mismatched == 1)
        #expect(try Self.extra(result.root) == ["tags.2": .int32(5)])
    }

    @Test("empty, null and missing arrays give zero rows")
    func emptyArrays() throws {
        let result = try Self.flatten(#""tags": [], "matrix": null"#)
        #expect(result.rows.filter { $0.key != "edge" }.allSatisfy { $0.value.isEmpty })
        #expect(result.report.fields.isEmpty)
    }

    @Test("objects in array elements become columns of the array's table; arrays inside them carry the ancestor idx")
    func objectArray() throws {
        let result = try Self.flatten(
            #""orders": [{"sku": "A", "qty": {"$numberInt": "2"}, "ship": {"city": "X"}, "lines": [{"$numberInt": "1"}, {"$numberLong": "2"}]}, null, {"lines": [{"$numberInt": "3"}]}, "bad"]"#
        )
        #expect(
            result.rows["edge_orders"] == [
                [Self.id, .integer(0), .text("A"), .integer(2), .text("X")],
                [Self.id, .integer(1), .null, .null, .null],
                [Self.id, .integer(2), .null, .null, .null], [Self.id, .integer(3), .null, .null, .null],
            ])
        #expect(
            result.rows["edge_orders_lines"] == [
                [Self.id, .integer(0), .integer(0), .integer(1)], [Self.id, .integer(0), .integer(1), .integer(2)],
                [Self.id, .integer(2), .integer(0), .integer(3)],
            ])
        #expect(result.report.fields["$.orders[*]"]?.mismatched == 1)
        #expect(try Self.extra(result.root) == ["orders.3": .string("bad")])
    }

    @Test("an array of arrays gives the outer table one row per element and the inner _items table the values")
    func arrayOfArrays() throws {
        let result = try Self.flatten(
            #""matrix": [[{"$numberInt": "1"}, {"$numberInt": "2"}], [], null, [{"$numberInt": "3"}]]"#)
        #expect(result.rows["edge_matrix"] == (0..<4).map { [Self.id, .integer(Int64($0))] })
        #expect(
            result.rows["edge_matrix_items"] == [
                [Self.id, .integer(0), .integer(0), .integer(1)], [Self.id, .integer(0), .integer(1), .integer(2)],
                [Self.id, .integer(3), .integer(0), .integer(3)],
            ])
    }

    @Test("every BSON type lands in its column type")
    func typeMapping() throws {
        let result = try Self.flatten(
            #"""
            "n": {"$numberLong": "1099511627776"}, "d": {"$numberDouble": "-0.0"}, "dec": {"$numberDecimal": "1.50"},
            "flag": true, "when": {"$date": {"$numberLong": "-1"}}, "ref": {"$oid": "5CA4BBCEA2DD94EE58162A69"},
            "blob": {"$binary": {"base64": "AAH/", "subType": "00"}},
            "key": {"$binary": {"base64": "c//SZESzTGmQ6OfR38A11A==", "subType": "04"}},
            "ts": {"$timestamp": {"t": 2147483649, "i": 7}}, "re": {"$regularExpression": {"pattern": "^a", "options": "i"}},
            "code": {"$code": "f()"}, "low": {"$minKey": 1}, "free": {"b": {"$numberInt": "1"}, "a": [true, {"$numberLong": "5"}]}
            """#)
        #expect(
            result.root == [
                "_id": Self.id, "n": .integer(1 << 40), "d": .double(-0.0), "dec": .numeric(Decimal128("1.50")!),
                "flag": .boolean(true), "when": .timestamp(-1), "ref": .text("5ca4bbcea2dd94ee58162a69"),
                "blob": .bytes([0, 1, 255]),
                "key": .uuid([
                    0x73, 0xFF, 0xD2, 0x64, 0x44, 0xB3, 0x4C, 0x69, 0x90, 0xE8, 0xE7, 0xD1, 0xDF, 0xC0, 0x35, 0xD4,
                ]),
                "ts": .integer(Int64(bitPattern: 2_147_483_649 << 32 | 7)),
                "re": .text(#"{ "$regularExpression" : { "pattern" : "^a", "options" : "i" } }"#),
                "code": .text(#"{ "$code" : "f()" }"#),
                "low": .text(#"{ "$minKey" : 1 }"#), "free": .json(#"{ "b" : 1, "a" : [ true, 5 ] }"#),
            ])
        #expect(result.report.fields.isEmpty)
    }

    static let coercionCases: [(String, String, SQLValue?)] = [
        ("n", #"{"$numberInt": "5"}"#, .integer(5)),
        ("d", #"{"$numberInt": "3"}"#, .double(3)),
        ("d", #"{"$numberLong": "9007199254740992"}"#, .double(9_007_199_254_740_992)),
        ("d", #"{"$numberLong": "9007199254740993"}"#, nil),
        ("n", #""12""#, nil),
        ("n", #"{"$numberDouble": "1.0"}"#, nil),
        ("n", #"{"$numberDecimal": "1"}"#, nil),
        ("name", #"{"$numberInt": "5"}"#, nil),
        ("name", #"{"$symbol": "s"}"#, nil),
        ("when", #"{"$date": {"$numberLong": "-9223372036854775808"}}"#, nil),
        ("key", #"{"$binary": {"base64": "AAH/", "subType": "00"}}"#, nil),
        ("ref", #""5ca4bbcea2dd94ee58162a69""#, nil),
        ("flag", #"{"$numberInt": "1"}"#, nil),
        ("free", #""just a string""#, .json(#""just a string""#)),
    ]

    @Test(
        "only lossless widening is accepted; anything else loads NULL, is counted and kept in _extra",
        arguments: coercionCases)
    func coercion(field: String, value: String, expected: SQLValue?) throws {
        let result = try Self.flatten(#""\#(field)": \#(value)"#)
        let original = try BSONDocument(extendedJSON: #"{"v": \#(value)}"#)["v"]!
        if let expected {
            #expect(result.root[field] == expected)
            #expect(result.report.fields.isEmpty)
        } else {
            #expect(result.root[field] == nil)
            #expect(result.report.fields["$.\(field)"]?.mismatched == 1)
            #expect(result.report.fields["$.\(field)"]?.keptInExtra == 1)
            #expect(try Self.extra(result.root) == [field: original])
            let dropped = try Self.flatten(#""\#(field)": \#(value)"#, FlattenSettings(keepExtra: false))
            #expect(dropped.root["_extra"] == nil && dropped.root[field] == nil)
            #expect(
                dropped.report.fields["$.\(field)"]?.mismatched == 1
                    && dropped.report.fields["$.\(field)"]?.keptInExtra == 0)
        }
    }

    @Test("an object or array in the wrong shape is a mismatch of the whole value, kept under its path")
    func wrongShapes() throws {
        let result = try Self.flatten(#""address": "Main Street", "tags": "x", "orders": {"sku": "A"}"#)
        #expect(
            try Self.extra(result.root) == [
                "address": .string("Main Street"), "tags": .string("x"), "orders": .document(["sku": .string("A")]),
            ])
        #expect(result.rows["edge_tags"]?.isEmpty == true && result.rows["edge_orders"]?.isEmpty == true)
        #expect(result.report.fields.keys.sorted() == ["$.address", "$.orders", "$.tags"])
    }

    @Test("fields absent from the schema are counted per path and kept in _extra under their dotted paths")
    func unknownFields() throws {
        let result = try Self.flatten(
            #""zip": {"$numberInt": "1"}, "address": {"city": "c", "zip": "z"}, "orders": [{"note": "n"}], "a.b": null, "$set": "d""#
        )
        #expect(result.root["address_city"] == .text("c"))
        #expect(
            try Self.extra(result.root) == [
                "zip": .int32(1), "address.zip": .string("z"), "orders.0.note": .string("n"), #"a\.b"#: .null,
                #"\$set"#: .string("d"),
            ])
        for path in ["$.zip", "$.address.zip", "$.orders[*].note", "$['a.b']", "$['$set']"] {
            #expect(result.report.fields[path]?.unknown == 1, "\(path)")
        }
        let dropped = try Self.flatten(#""zip": 1"#, FlattenSettings(keepExtra: false))
        #expect(dropped.report.fields["$.zip"]?.unknown == 1)
    }

    @Test(
        "a name with a dot or a leading $ beside the nested path it reads like is an unknown field of its object, never that path"
    )
    func dottedNamesBesidePaths() throws {
        let fields = #""address": {"geo": {"lat": 1.5}, "geo.lat": 2.5, "$city": "x", "city.": "y"}"#
        let result = try Self.flatten(fields)
        #expect(result.root["address_geo_lat"] == .double(1.5))
        #expect(result.root["address_city"] == nil)
        #expect(
            try Self.extra(result.root) == [
                #"address.geo\.lat"#: .double(2.5), #"address.\$city"#: .string("x"), #"address.city\."#: .string("y"),
            ])
        for path in ["$.address['geo.lat']", "$.address['$city']", "$.address['city.']"] {
            #expect(result.report.fields[path]?.unknown == 1, "\(path)")
        }
        let document = try BSONDocument(extendedJSON: #"{"_id": {"$oid": "\#(Self.oid)"}, \#(fields)}"#)
        #expect(try RoundTrip.rebuild(document, plan: Self.plan()) == normalise(document, plan: Self.plan()))
    }

    @Test("a NUL byte is an error naming the _id and path, or stripped and counted with strip_nul")
    func nulBytes() throws {
        for (fields, path) in [
            (#""name": "a\u0000b""#, "name"), (#""tags": ["ok", "x\u0000"]"#, "tags.1"),
            (#""free": {"k": "\u0000"}"#, "free"), (#""zip": "\u0000""#, "zip"),
        ] {
            #expect {
                try Self.flatten(fields)
            } throws: { error in
                let error = error as! SchemaError
                return error.kind == .badDocument && error.path == path && error.documentID?.contains(Self.oid) == true
                    && error.exitStatus == .dataError
            }
        }
        let stripped = try Self.flatten(
            #""name": "a\u0000b", "tags": ["x\u0000"], "free": {"k": "\u0000"}, "zip": "\u0000""#,
            FlattenSettings(keepExtra: true, stripNUL: true))
        #expect(stripped.root["name"] == .text("ab"))
        #expect(stripped.rows["edge_tags"] == [[Self.id, .integer(0), .text("x")]])
        #expect(stripped.root["free"] == .json(#"{ "k" : "" }"#))
        #expect(try Self.extra(stripped.root) == ["zip": .string("")])
        #expect(stripped.report.fields["$.name"]?.nulStripped == 1)
        #expect(stripped.report.fields["$.tags[*]"]?.nulStripped == 1)
        #expect(stripped.report.fields["$.free"]?.nulStripped == 1)
    }

    @Test("a later duplicate of a key is not loaded (MongoDB reads the first) and is counted")
    func duplicateKeys() throws {
        let result = try Self.flatten(#""name": "first", "name": "second", "zip": 1, "zip": 2"#)
        #expect(result.root["name"] == .text("first"))
        #expect(result.report.fields["$.name"]?.duplicateKeys == 1)
        #expect(result.report.fields["$.zip"]?.duplicateKeys == 1)
        #expect(try Self.extra(result.root) == ["zip": .int32(1)])
    }

    static let idCases: [(String, String, SQLValue)] = [
        ("string", #""abc""#, .text("abc")),
        ("int", #"{"$numberInt": "7"}"#, .integer(7)),
        ("long", #"{"$numberInt": "7"}"#, .integer(7)),
        ("long", #"{"$numberLong": "-9223372036854775808"}"#, .integer(.min)),
        (
            "uuid", #"{"$binary": {"base64": "c//SZESzTGmQ6OfR38A11A==", "subType": "04"}}"#,
            .uuid([0x73, 0xFF, 0xD2, 0x64, 0x44, 0xB3, 0x4C, 0x69, 0x90, 0xE8, 0xE7, 0xD1, 0xDF, 0xC0, 0x35, 0xD4])
        ),
        ("json", #"{"b": {"$numberInt": "1"}, "a": "x"}"#, .json(#"{ "b" : 1, "a" : "x" }"#)),
        ("date", #"{"$date": {"$numberLong": "5"}}"#, .timestamp(5)),
    ]

    @Test("an _id that is not an ObjectId works as the key of the root and every child row", arguments: idCases)
    func idTypes(type: String, value: String, expected: SQLValue) throws {
        let plan = try SchemaFixtures.plan(#"{"_id": "\#(type)", "tags": ["string"]}"#)
        var report = FlattenReport()
        let rows = try Flattener(plan: plan).flatten(
            BSONDocument(extendedJSON: #"{"_id": \#(value), "tags": ["a", "b"]}"#), report: &report
        ).rows
        #expect(rows[0] == [[expected]])
        #expect(rows[1] == [[expected, .integer(0), .text("a")], [expected, .integer(1), .text("b")]])
    }

    static let unusableIDs: [(String, String)] = [
        (#"{"name": "x"}"#, "no _id"), (#"{"_id": null}"#, "no _id"),
        (#"{"_id": "abc"}"#, "_id of type string does not fit"),
        (#"{"_id": {"$numberDouble": "1.5"}}"#, "_id of type double"),
    ]

    @Test("a document without a usable _id is refused with exit status 65", arguments: unusableIDs)
    func badIDs(document: String, message: String) throws {
        let plan = try Self.plan()
        var report = FlattenReport()
        let error = #expect(throws: SchemaError.self) {
            try Flattener(plan: plan).flatten(BSONDocument(extendedJSON: document), report: &report)
        }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
        #expect(error?.exitStatus == .dataError)
    }
}
