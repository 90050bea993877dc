import Testing
@testable import MongoPG

@Test func scratch() throws {
    let d: BSONDocument = ["a": .double(1e300), "b": .double(1.5e-7), "c": .double(-0.0), "d": .double(1.0), "e": .int64(5), "f": .datetime(-62135596800001), "g": .double(123456789012345678)]
    print(try d.extendedJSON(.relaxed))
    for t in [#"{"v": 1000000000000000000000000000000000000000}"#, #"{"v": {"$regularExpression": {"options": "i", "pattern": "a"}}}"#,
              #"{"v": {"$timestamp": {"i": 1, "t": 2}}}"#, #"{"v": {"$dbPointer": {"$id": {"$oid": "5ca4bbcea2dd94ee58162a69"}, "$ref": "db.c"}}}"#,
              #"{"v": {"$binary": {"subType": "04", "base64": "c//SZESzTGmQ6OfR38A11A=="}}}"#, #"{"v": {"$scope": {}, "$code": "x"}}"#,
              #"{"v": 1e300}"#, #"{"v": 0.00000015}"#, #"{"v": {"$numberDecimal": "1000000000000000000000000000000000000000000000000000"}}"#] {
        do { print(t, "->", try BSONDocument(extendedJSON: t)["v"]!.typeAlias, try BSONDocument(extendedJSON: t).extendedJSON(.canonical)) } catch { print(t, "ERR", error) }
    }
    for t in ["1000000000000000000000000000000000000000000000000000", "0.000", "-0", "1E+3", "1" + String(repeating: "0", count: 6144), "123.4500"] {
        print(t.prefix(60), Decimal128(t)?.description ?? "nil")
    }
}
