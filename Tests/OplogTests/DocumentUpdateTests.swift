import Testing

@testable import MongoPG

/// The update forms applied to documents, on cases written from MongoDB's own applier tests and the SecantusDB
/// observations (reference: mongodb-oplog.md §3, secantusdb.md).
@Suite("Update forms applied to a document")
struct DocumentUpdateTests {
    static func json(_ text: String) -> BSONDocument { try! BSONDocument(extendedJSON: text) }

    static func apply(_ update: String, to document: String) throws -> (document: BSONDocument, exact: Bool) {
        try DocumentUpdate(json(update)).apply(to: json(document))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var pre: String
        var update: String
        var post: String
        var exact = true
        var testDescription: String { name }
    }

    static let deltaCases: [Case] = [
        Case(
            name: "nested create", pre: #"{"_id": 1, "a": {"d": 5}}"#,
            update: #"{"$v": 2, "diff": {"sa": {"i": {"b": {"c": 6}}}}}"#,
            post: #"{"_id": 1, "a": {"d": 5, "b": {"c": 6}}}"#),
        Case(
            name: "digits index an array", pre: #"{"a": []}"#,
            update: #"{"$v": 2, "diff": {"sa": {"a": true, "u2": {"b": 2}}}}"#,
            post: #"{"a": [null, null, {"b": 2}]}"#),
        Case(
            name: "digits name a field of an object", pre: #"{"a": {}}"#,
            update: #"{"$v": 2, "diff": {"sa": {"i": {"2": {"b": 2}}}}}"#,
            post: #"{"a": {"2": {"b": 2}}}"#),
        Case(
            name: "delete, update in place, sub-diffs into an array of objects, append",
            pre: #"{"uField": 1, "dFieldA": 1, "arr": [null, {"a": 0}, {"b": 0}, {"c": 0}], "dFieldB": 1}"#,
            update:
                #"{"$v": 2, "diff": {"d": {"dFieldA": false, "dFieldB": false}, "u": {"uField": 999}, "sarr": {"a": true, "s1": {"u": {"a": 1}}, "s2": {"u": {"b": 2}}, "s3": {"u": {"c": 3}}, "u4": {"x": 1}}}}"#,
            post: #"{"uField": 999, "arr": [null, {"a": 1}, {"b": 2}, {"c": 3}, {"x": 1}]}"#),
        Case(
            name: "truncation and a rewritten tail", pre: #"{"a": [1, 2, 999, 3, 4]}"#,
            update: #"{"$v": 2, "diff": {"sa": {"a": true, "l": 4, "u2": 3, "u3": 4}}}"#, post: #"{"a": [1, 2, 3, 4]}"#),
        Case(
            name: "insert moves existing fields to the end", pre: #"{"_id": 1, "x": "foo", "y": "bar", "z": 1}"#,
            update: #"{"$v": 2, "diff": {"i": {"y": "bar", "x": "foo"}}}"#,
            post: #"{"_id": 1, "z": 1, "y": "bar", "x": "foo"}"#),
        Case(
            name: "a new update field goes after the kept ones, before inserts", pre: #"{"a": 1}"#,
            update: #"{"$v": 2, "diff": {"u": {"b": 2}, "i": {"c": 3}}}"#, post: #"{"a": 1, "b": 2, "c": 3}"#),
        Case(
            name: "a sub-diff for a scalar writes null", pre: #"{"k": 1, "subObj": "scalar!", "z": 2}"#,
            update: #"{"$v": 2, "diff": {"ssubObj": {"ssubObj": {"u": {"a": 1}}}}}"#,
            post: #"{"k": 1, "subObj": null, "z": 2}"#, exact: false),
        Case(
            name: "an array diff for an object writes null", pre: #"{"a": {"b": 1}}"#,
            update: #"{"$v": 2, "diff": {"sa": {"a": true, "u0": 1}}}"#, post: #"{"a": null}"#, exact: false),
        Case(
            name: "a sub-diff for a missing field does nothing", pre: #"{"a": 1}"#,
            update: #"{"$v": 2, "diff": {"sb": {"u": {"c": 1}}}}"#, post: #"{"a": 1}"#, exact: false),
        Case(
            name: "deleting a missing field does nothing", pre: #"{"a": 1}"#,
            update: #"{"$v": 2, "diff": {"d": {"b": false}}}"#, post: #"{"a": 1}"#),
        Case(
            name: "growing an array with l pads with null", pre: #"{"a": [1]}"#,
            update: #"{"$v": 2, "diff": {"sa": {"a": true, "l": 3}}}"#, post: #"{"a": [1, null, null]}"#),
        Case(
            name: "a sub-diff past the array's end gives null", pre: #"{"a": [1]}"#,
            update: #"{"$v": 2, "diff": {"sa": {"a": true, "s2": {"u": {"x": 1}}}}}"#, post: #"{"a": [1, null, null]}"#,
            exact: false),
        Case(
            name: "nested arrays", pre: #"{"m": [[1, 2], [3]]}"#,
            update: #"{"$v": 2, "diff": {"sm": {"a": true, "s0": {"a": true, "l": 1}, "s1": {"a": true, "u1": 4}}}}"#,
            post: #"{"m": [[1], [3, 4]]}"#),
        Case(
            name: "field names with dots, dollars and digits are taken verbatim", pre: #"{"a.b": 1, "a": {"b": 2}}"#,
            update: #"{"$v": 2, "diff": {"d": {"a.b": false}, "i": {"$x": 1, "7": 2}}}"#,
            post: #"{"a": {"b": 2}, "$x": 1, "7": 2}"#),
        Case(
            name: "the empty field name's sub-diff key is s", pre: #"{"": {"q": 1}}"#,
            update: #"{"$v": 2, "diff": {"s": {"u": {"q": 2}}}}"#, post: #"{"": {"q": 2}}"#),
        Case(
            name: "a field named sfoo has the key ssfoo", pre: #"{"sfoo": {"q": 1}}"#,
            update: #"{"$v": 2, "diff": {"ssfoo": {"u": {"q": 2}}}}"#, post: #"{"sfoo": {"q": 2}}"#),
        Case(
            name: "binary tail", pre: #"{"b": {"$binary": {"base64": "YWJj", "subType": "00"}}}"#,
            update:
                #"{"$v": 2, "diff": {"b": {"b": {"o": 2, "d": {"$binary": {"base64": "ZGVm", "subType": "00"}}}}}}"#,
            post: #"{"b": {"$binary": {"base64": "YWJkZWY=", "subType": "00"}}}"#),
        Case(
            name: "a replacement, even with a user field named $v", pre: #"{"_id": 1, "a": 1}"#,
            update: #"{"_id": 1, "$v": 2, "diff": 3}"#, post: #"{"_id": 1, "$v": 2, "diff": 3}"#),
    ]

    @Test(
        "$v:2 deltas apply as MongoDB's applier does, and a second application changes nothing", arguments: deltaCases)
    func delta(_ example: Case) throws {
        let once = try Self.apply(example.update, to: example.pre)
        #expect(once.document == Self.json(example.post))
        #expect(once.exact == example.exact)
        let twice = try DocumentUpdate(Self.json(example.update)).apply(to: once.document)
        #expect(twice.document == once.document)
    }

    static let modifierCases: [Case] = [
        Case(
            name: "$set of a nested path creates the objects", pre: #"{"_id": 1}"#,
            update: #"{"$v": 1, "$set": {"a.b.c": 6}}"#, post: #"{"_id": 1, "a": {"b": {"c": 6}}}"#),
        Case(name: "$set with no $v is $v:1", pre: #"{"a": 1}"#, update: #"{"$set": {"a": 2}}"#, post: #"{"a": 2}"#),
        Case(
            name: "$set past an array's end pads with null", pre: #"{"a": [1]}"#,
            update: #"{"$v": 1, "$set": {"a.3": 4}}"#, post: #"{"a": [1, null, null, 4]}"#),
        Case(
            name: "$set into an element of an array of objects", pre: #"{"a": [{"x": 1}, {"x": 2}]}"#,
            update: #"{"$v": 1, "$set": {"a.1.x": 5}}"#, post: #"{"a": [{"x": 1}, {"x": 5}]}"#),
        Case(
            name: "digits name a field of an object", pre: #"{"a": {}}"#,
            update: #"{"$v": 1, "$set": {"a.2.b": 2}}"#, post: #"{"a": {"2": {"b": 2}}}"#),
        Case(
            name: "a path through a scalar is a no-op", pre: #"{"a": 5}"#,
            update: #"{"$v": 1, "$set": {"a.b": 1}}"#, post: #"{"a": 5}"#, exact: false),
        Case(
            name: "a field name with a dot is never reached by a path", pre: #"{"a.b": 4}"#,
            update: #"{"$v": 1, "$set": {"a.b": 2}}"#, post: #"{"a.b": 4, "a": {"b": 2}}"#),
        Case(
            name: "$unset of a field and $rename's pair", pre: #"{"o": 1, "k": 2}"#,
            update: #"{"$v": 1, "$set": {"oo": 1}, "$unset": {"o": true}}"#, post: #"{"k": 2, "oo": 1}"#),
        Case(
            name: "$unset of an array element leaves null", pre: #"{"a": [1, 2]}"#,
            update: #"{"$v": 1, "$unset": {"a.0": true}}"#, post: #"{"a": [null, 2]}"#),
        Case(
            name: "$unset of a missing path changes nothing", pre: #"{"a": 1}"#,
            update: #"{"$v": 1, "$unset": {"b.c": true}}"#, post: #"{"a": 1}"#),
        Case(
            name: "$unset of a whole array", pre: #"{"a": [1, 2], "b": 1}"#,
            update: #"{"$v": 1, "$unset": {"a": true}}"#, post: #"{"b": 1}"#),
        Case(
            name: "new fields of one update come in field-name order", pre: #"{"a": 1}"#,
            update: #"{"$v": 1, "$set": {"z": 1, "m": 2}}"#, post: #"{"a": 1, "m": 2, "z": 1}"#),
        Case(
            name: "a type change", pre: #"{"a": {"b": 1}}"#,
            update: #"{"$v": 1, "$set": {"a": "text"}}"#, post: #"{"a": "text"}"#),
    ]

    @Test("$v:1 modifiers apply by dotted path as mongod replays them", arguments: modifierCases)
    func modifier(_ example: Case) throws {
        let applied = try Self.apply(example.update, to: example.pre)
        #expect(applied.document == Self.json(example.post))
        #expect(applied.exact == example.exact)
    }

    static let descriptionCases: [Case] = [
        Case(
            name: "updatedFields by dotted path", pre: #"{"a": {"b": 1}, "arr": [{"x": 1}, {"x": 2}]}"#,
            update:
                #"{"$v": 2, "diff": {"updatedFields": {"a.b": 2, "arr.1.x": 5}, "removedFields": [], "truncatedArrays": []}}"#,
            post: #"{"a": {"b": 2}, "arr": [{"x": 1}, {"x": 5}]}"#),
        Case(
            name: "$push appends by index", pre: #"{"a": {"c": [1, 2, 3]}}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"a.c.3": 4}}}"#, post: #"{"a": {"c": [1, 2, 3, 4]}}"#),
        Case(
            name: "$unset of an array element is null at its index", pre: #"{"arr": [1, 2]}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"arr.0": null}}}"#, post: #"{"arr": [null, 2]}"#),
        Case(
            name: "$rename: removed first, then updated", pre: #"{"o": 1, "k": 1}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"oo": 1}, "removedFields": ["o"]}}"#,
            post: #"{"k": 1, "oo": 1}"#),
        Case(
            name: "a set past the array's end pads with null", pre: #"{"arr": [{"x": 1}]}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"arr.5": {"x": 9}}}}"#,
            post: #"{"arr": [{"x": 1}, null, null, null, null, {"x": 9}]}"#),
        Case(
            name: "truncatedArrays cut after the updates", pre: #"{"arr": [1, 2, 3, 4]}"#,
            update:
                #"{"$v": 2, "diff": {"updatedFields": {"arr.0": 9}, "truncatedArrays": [{"field": "arr", "newSize": 2}]}}"#,
            post: #"{"arr": [9, 2]}"#),
        Case(
            name: "a path through a scalar is a no-op", pre: #"{"a": 1}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"a.b": 1}}}"#, post: #"{"a": 1}"#, exact: false),
        Case(
            name: "a path whose next part is missing names one new field holding dots ($setField)",
            pre: #"{"meta": {"note": "n"}}"#, update: #"{"$v": 2, "diff": {"updatedFields": {"meta.a.b.c": 7}}}"#,
            post: #"{"meta": {"note": "n", "a.b.c": 7}}"#),
        Case(
            name: "a path reaches a field whose name holds a dot",
            pre: #"{"meta": {"dims.w": 3, "x": {"y.z": {"q": 1}}}}"#,
            update:
                #"{"$v": 2, "diff": {"updatedFields": {"meta.dims.w": 4, "meta.x.y.z.q": 2}, "removedFields": []}}"#,
            post: #"{"meta": {"dims.w": 4, "x": {"y.z": {"q": 2}}}}"#),
        Case(
            name: "removedFields reach a field whose name holds a dot, and leave the nested path alone",
            pre: #"{"meta": {"dims.w": 3, "dims": {"w": 1}}}"#,
            update:
                #"{"$v": 2, "diff": {"removedFields": ["meta.dims.w"], "disambiguatedPaths": {"meta.dims.w": ["meta", "dims.w"]}}}"#,
            post: #"{"meta": {"dims": {"w": 1}}}"#),
        Case(
            name: "a new field starting with $ inside an object", pre: #"{"meta": {}}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"meta.$x": 1}}}"#, post: #"{"meta": {"$x": 1}}"#),
        Case(
            name: "digits name an object's key, as disambiguatedPaths says",
            pre: #"{"slots": {"0": 6, "1": "x"}}"#,
            update:
                #"{"$v": 2, "diff": {"updatedFields": {"slots.1": 5}, "disambiguatedPaths": {"slots.1": ["slots", "1"]}}}"#,
            post: #"{"slots": {"0": 6, "1": 5}}"#),
        Case(
            name: "digits name an object's key without disambiguatedPaths too", pre: #"{"slots": {"0": 6, "1": "x"}}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"slots.1": 5}}}"#, post: #"{"slots": {"0": 6, "1": 5}}"#),
        Case(
            name: "an element of an inner array", pre: #"{"grid": [[0, 0], [1]]}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"grid.0.1": 244}}}"#, post: #"{"grid": [[0, 244], [1]]}"#),
        Case(
            name: "a new element past an empty inner array's end, an object as MongoDB creates it",
            pre: #"{"cube": [[]]}"#, update: #"{"$v": 2, "diff": {"updatedFields": {"cube.0.1": {"1": 5}}}}"#,
            post: #"{"cube": [[null, {"1": 5}]]}"#),
        Case(
            name: "arrayFilters on an array of scalars", pre: #"{"t": [1, 2, 3]}"#,
            update: #"{"$v": 2, "diff": {"updatedFields": {"t.1": 9, "t.2": 9}}}"#, post: #"{"t": [1, 9, 9]}"#),
    ]

    @Test(
        "SecantusDB's update description form applies: removed, then updated, then truncated",
        arguments: descriptionCases)
    func description(_ example: Case) throws {
        let applied = try Self.apply(example.update, to: example.pre)
        #expect(applied.document == Self.json(example.post))
        #expect(applied.exact == example.exact)
    }

    @Test(
        "malformed and unknown update forms are refused with their kind",
        arguments: [
            (#"{"$v": 2, "diff": {}}"#, OplogError.Kind.malformed),
            (#"{"$v": 2, "diff": {"x": {}}}"#, .malformed),
            (#"{"$v": 2, "diff": {"sa": {"u": {"b": 1}}, "u": {"c": 1}}}"#, .malformed),
            (#"{"$v": 2, "diff": {"u": {"a": 1}, "i": {"a": 2}}}"#, .malformed),
            (#"{"$v": 2, "diff": {"sa": {"a": true, "x1": 1}}}"#, .malformed),
            (#"{"$v": 3, "diff": {"u": {"a": 1}}}"#, .unknownForm),
            (#"{"$inc": {"a": 1}}"#, .unknownForm),
            // Arrays padded past mongod's limit (kMaxPaddingAllowed): refused, never allocated.
            (#"{"$v": 1, "$set": {"a.100000000": 1}}"#, .malformed),
            (#"{"$v": 2, "diff": {"updatedFields": {"a.100000000": 1}}}"#, .malformed),
            (#"{"$v": 2, "diff": {"sa": {"a": true, "l": {"$numberLong": "4000000000"}}}}"#, .malformed),
            (#"{"$v": 2, "diff": {"sa": {"a": true, "u100000000": 1}}}"#, .malformed),
        ])
    func refused(_ update: String, _ kind: OplogError.Kind) throws {
        let error = #expect(throws: OplogError.self) { try Self.apply(update, to: #"{"a": [1], "b": 2}"#) }
        #expect(error?.kind == kind)
        #expect(error?.exitStatus == .dataError)
    }

    @Test(
        "an update of _id, or a diff out of the grammar anywhere, is refused when read, before any document is at hand",
        arguments: [
            #"{"$v": 1, "$set": {"_id": 2}}"#, #"{"$v": 1, "$unset": {"_id.x": true}}"#,
            #"{"$v": 2, "diff": {"u": {"_id": 2}}}"#, #"{"$v": 2, "diff": {"s_id": {"u": {"x": 1}}}}"#,
            #"{"$v": 2, "diff": {"updatedFields": {"_id": 2}}}"#, #"{"$v": 2, "diff": {"removedFields": ["_id.x"]}}"#,
            #"{"$v": 2, "diff": {"sa": {"x": {}}}}"#,
            #"{"$v": 2, "diff": {"sa": {"a": true, "s0": {"a": true, "q": 1}}}}"#,
            #"{"$v": 2, "diff": {"sa": {"sb": {"u": {"c": 1}, "d": {"e": false}}}}}"#,
        ])
    func refusedWhenRead(_ update: String) {
        let error = #expect(throws: OplogError.self) { try DocumentUpdate(Self.json(update)) }
        #expect(error?.exitStatus == .dataError)
    }

    @Test("padding up to mongod's limit applies; one null more is refused")
    func paddingLimit() throws {
        let limit = DocumentPath.maximumPadding
        let padded = try Self.apply(#"{"$v": 1, "$set": {"a.\#(limit + 1)": 1}}"#, to: #"{"a": [0]}"#)
        guard case .array(let elements)? = padded.document["a"] else {
            Issue.record("a is no array")
            return
        }
        #expect(elements.count == limit + 2 && elements.last == .int32(1))
        #expect(throws: OplogError.self) {
            try Self.apply(#"{"$v": 1, "$set": {"a.\#(limit + 2)": 1}}"#, to: #"{"a": [0]}"#)
        }
    }
}
