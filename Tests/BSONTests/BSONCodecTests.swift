import CMongoC
import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

/// Every BSON type in canonical Extended JSON, so libbson makes the reference bytes.
let everyTypeJSON = #"""
    {"double": {"$numberDouble": "1.5"}, "negzero": {"$numberDouble": "-0.0"}, "nan": {"$numberDouble": "NaN"},
     "inf": {"$numberDouble": "-Infinity"}, "string": "héllo\n\"日本\"", "document": {"a": {"$numberInt": "1"}},
     "array": [{"$numberInt": "1"}, "two", {"x": null}], "binary": {"$binary": {"base64": "AAEC/w==", "subType": "00"}},
     "uuid": {"$binary": {"base64": "c//SZESzTGmQ6OfR38A11A==", "subType": "04"}},
     "oldbinary": {"$binary": {"base64": "AQID", "subType": "02"}},
     "undefined": {"$undefined": true}, "oid": {"$oid": "5ca4bbcea2dd94ee58162a68"}, "bool": true,
     "date": {"$date": {"$numberLong": "-62135596800000"}}, "null": null,
     "regex": {"$regularExpression": {"pattern": "^a.*b$", "options": "im"}},
     "dbpointer": {"$dbPointer": {"$ref": "db.coll", "$id": {"$oid": "5ca4bbcea2dd94ee58162a69"}}},
     "code": {"$code": "function() { return 1; }"}, "symbol": {"$symbol": "sym"},
     "codews": {"$code": "x + y", "$scope": {"x": {"$numberInt": "1"}}}, "int32": {"$numberInt": "-2147483648"},
     "timestamp": {"$timestamp": {"t": 4294967295, "i": 1}}, "int64": {"$numberLong": "9223372036854775807"},
     "decimal": {"$numberDecimal": "1234.5678E-10"}, "minkey": {"$minKey": 1}, "maxkey": {"$maxKey": 1},
     "dup": {"$numberInt": "1"}, "dup": {"$numberInt": "2"}}
    """#

@Suite("BSON decoding and encoding")
struct BSONCodecTests {
    @Test("every BSON type decodes from libbson's bytes and encodes back to exactly those bytes")
    func everyTypeRoundTrip() throws {
        let reference = try BSONDocument.bytes(fromExtendedJSON: everyTypeJSON)
        let document = try BSONDecoder.decode(reference)
        #expect(try BSONEncoder.encode(document) == reference)
        #expect(document.count == 28)
        #expect(document["double"] == .double(1.5))
        #expect(document["negzero"] == .double(-0.0))
        #expect(document["negzero"] != .double(0.0))
        #expect(document["nan"] == .double(.nan))
        #expect(document["string"] == .string("héllo\n\"日本\""))
        #expect(document["array"] == .array([.int32(1), .string("two"), .document(["x": .null])]))
        #expect(document["binary"] == .binary(BSONBinary(subtype: 0, data: [0, 1, 2, 255])))
        #expect(document["oldbinary"] == .binary(BSONBinary(subtype: 2, data: [1, 2, 3])))
        #expect(document["oid"] == .objectID(ObjectID(hex: "5ca4bbcea2dd94ee58162a68")!))
        #expect(document["date"] == .datetime(-62_135_596_800_000))
        #expect(document["regex"] == .regex(BSONRegex(pattern: "^a.*b$", options: "im")))
        #expect(
            document["dbpointer"] == .dbPointer(namespace: "db.coll", id: ObjectID(hex: "5ca4bbcea2dd94ee58162a69")!))
        #expect(document["codews"] == .javascriptWithScope(code: "x + y", scope: ["x": .int32(1)]))
        #expect(document["int32"] == .int32(.min))
        #expect(document["timestamp"] == .timestamp(BSONTimestamp(seconds: .max, increment: 1)))
        #expect(document["int64"] == .int64(.max))
        #expect(document["minkey"] == .minKey)
        #expect(document["maxkey"] == .maxKey)
        #expect(document["undefined"] == .undefined)
        #expect(
            document.elements.filter { $0.key == "dup" }.map(\.value) == [.int32(1), .int32(2)],
            "duplicate keys keep both, in order")
        if case .decimal128(let decimal) = document["decimal"] {
            #expect(decimal.description == "1.2345678E-7")
        } else {
            Issue.record("decimal")
        }
    }

    @Test("each type's $type alias matches MongoDB's spelling")
    func typeAliases() throws {
        let document = try BSONDocument(extendedJSON: everyTypeJSON)
        let aliases = Dictionary(
            document.elements.map { ($0.key, $0.value.typeAlias) }, uniquingKeysWith: { a, _ in a })
        #expect(aliases["oid"] == "objectId")
        #expect(aliases["int32"] == "int")
        #expect(aliases["int64"] == "long")
        #expect(aliases["decimal"] == "decimal")
        #expect(aliases["uuid"] == "uuid")
        #expect(aliases["binary"] == "binData")
        #expect(aliases["date"] == "date")
        #expect(aliases["document"] == "object")
    }

    @Test("canonical and relaxed Extended JSON written by libbson parse back to the same bytes")
    func extendedJSONRoundTrip() throws {
        let reference = try BSONDocument.bytes(fromExtendedJSON: everyTypeJSON)
        let document = try BSONDecoder.decode(reference)
        let canonical = try document.extendedJSON(.canonical)
        #expect(try BSONDocument.bytes(fromExtendedJSON: canonical) == reference)
        #expect(canonical.contains(#""$numberInt" : "-2147483648""#))
        let relaxed = try document.extendedJSON(.relaxed)
        #expect(relaxed.contains(#""int32" : -2147483648"#))
        // Relaxed loses int widths only where the value decides; it keeps every other type.
        let reparsed = try BSONDocument(extendedJSON: relaxed)
        #expect(reparsed["oid"] == document["oid"])
        #expect(reparsed["decimal"] == document["decimal"])
        #expect(reparsed["timestamp"] == document["timestamp"])
    }

    @Test("the sample documents decode and re-encode byte-identically", arguments: ["customers", "accounts"])
    func sampleDocuments(collection: String) throws {
        let lines = try Fixtures.extendedJSONLines("sample_analytics/\(collection).json")
        #expect(lines.count >= 500)
        for line in lines {
            let bytes = try BSONDocument.bytes(fromExtendedJSON: line)
            let document = try BSONDecoder.decode(bytes)
            #expect(try BSONEncoder.encode(document) == bytes)
            #expect(try BSONDocument.bytes(fromExtendedJSON: document.extendedJSON(.canonical)) == bytes)
        }
    }

    @Test("ObjectId hex parses either case and prints lower-case")
    func objectIDHex() throws {
        let id = try #require(ObjectID(hex: "5CA4BBCEA2DD94EE58162A68"))
        #expect(id.hex == "5ca4bbcea2dd94ee58162a68")
        #expect(ObjectID(hex: "5ca4bbcea2dd94ee58162a6") == nil)
        #expect(ObjectID(hex: "5ca4bbcea2dd94ee58162a6g") == nil)
    }

    @Test("decimal128 text round-trips exactly through libbson")
    func decimalText() throws {
        for text in ["0", "-0", "1.50", "12345678901234567890.123456789", "NaN", "-Infinity", "-1E-6176"] {
            #expect(try #require(Decimal128(text)).description == text, "\(text)")
        }
        // Other spellings of the same value are normalised to libbson's, never rounded.
        #expect(try #require(Decimal128("1E+6144")).description == "1.000000000000000000000000000000000E+6144")
        #expect(Decimal128("abc") == nil)
    }

    @Test("the key subscript matches keys byte for byte: two spellings of \"é\" are two keys")
    func subscriptComparesBytes() {
        let precomposed = "\u{E9}", decomposed = "e\u{301}"
        var document: BSONDocument = [decomposed: .int32(2)]
        #expect(document[precomposed] == nil)
        document[precomposed] = .int32(1)
        #expect(document.count == 2)
        #expect(document[decomposed] == .int32(2) && document[precomposed] == .int32(1))
        document[decomposed] = nil
        #expect(document.keys.map { Array($0.utf8) } == [Array(precomposed.utf8)])
    }

    @Test("a key holding NUL cannot be encoded and says so")
    func nulKey() {
        #expect(throws: BSONError.self) { try BSONEncoder.encode(["a\0b": .null]) }
    }
}

@Suite("Corrupt BSON input")
struct CorruptBSONTests {
    static let valid: [UInt8] =
        (try? BSONDocument.bytes(fromExtendedJSON: #"{"s": "abc", "d": {"x": {"$numberInt": "1"}}, "a": [true]}"#))
        ?? []

    static func patched(_ body: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = valid
        body(&bytes)
        return bytes
    }

    static let cases: [(String, [UInt8], BSONError.Kind)] = [
        ("empty input", [], .truncated),
        ("truncated in the middle", Array(valid.prefix(valid.count / 2)), .truncated),
        ("length larger than the input", patched { $0[0] = 200 }, .truncated),
        ("length smaller than the elements", patched { $0[0] = UInt8($0.count - 6) }, .badLength),
        ("length below the minimum", [4, 0, 0, 0, 0], .badLength),
        ("missing final NUL", patched { $0[$0.count - 1] = 1 }, .badLength),
        ("unknown type byte", patched { $0[4] = 0x42 }, .badType),
        ("string length past the end", patched { $0[7] = 0x7F }, .truncated),
        ("string length zero", patched { $0[7] = 0 }, .badLength),
        ("string not NUL-terminated", patched { $0[14] = 0x41 }, .badLength),
        ("string with invalid UTF-8", patched { $0[11] = 0xFF }, .badUTF8),
        ("bool that is neither 0 nor 1", patched { $0[$0.count - 3] = 7 }, .badValue),
    ]

    @Test("each corrupt input gives its typed error, never a crash", arguments: cases)
    func corrupt(name: String, bytes: [UInt8], kind: BSONError.Kind) {
        #expect(Self.valid.count > 20)
        do {
            _ = try BSONDecoder.decode(bytes)
            Issue.record("\(name): decoded without error")
        } catch {
            #expect(error.kind == kind, "\(name): \(error)")
            #expect(error.exitStatus == .dataError)
        }
    }

    @Test("nesting deeper than the limit is refused with tooDeep")
    func tooDeep() throws {
        var document: BSONDocument = ["leaf": .null]
        for _ in 0..<(BSONDecoder.maximumDepth + 5) { document = ["n": .document(document)] }
        let bytes = try BSONEncoder.encode(document)
        let error = #expect(throws: BSONError.self) { _ = try BSONDecoder.decode(bytes) }
        #expect(error?.kind == .tooDeep)
    }

    @Test("100 levels of nesting decode fine")
    func hundredLevels() throws {
        var document: BSONDocument = ["leaf": .int32(1)]
        for _ in 0..<100 { document = ["n": .document(document)] }
        let bytes = try BSONEncoder.encode(document)
        #expect(try BSONDecoder.decode(bytes) == document)
    }
}

@Suite("Random documents")
struct RandomBSONTests {
    @Test("random documents of every type round-trip, and libbson reads our bytes as we do")
    func roundTrip() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let document = RandomDocuments.document(&random, maxFields: 10)
            guard let bytes = try? BSONEncoder.encode(document) else {
                // Only a key holding NUL may be refused.
                #expect(document.keys.contains { $0.utf8.contains(0) } || "\(document)".contains("\\u0000"))
                return
            }
            let decoded = try? BSONDecoder.decode(bytes)
            #expect(decoded == document, "seed \(seed)")
            // libbson validates and re-encodes our bytes through its canonical Extended JSON identically.
            var offset = 0
            let valid = bytes.withUnsafeBufferPointer { buffer -> Bool in
                guard let raw = bson_new_from_data(buffer.baseAddress, buffer.count) else { return false }
                defer { bson_destroy(raw) }
                return bson_validate(raw, BSON_VALIDATE_NONE, &offset)
            }
            #expect(valid, "seed \(seed): libbson rejects our bytes at \(offset)")
            // libbson's canonical Extended JSON of our bytes parses back to the same document, except where libbson
            // 1.23's own parser falls short: it cuts $code/$symbol text at an escaped NUL, reads keys starting with `$`
            // as type wrappers, and refuses `$code` and `$dbPointer` inside arrays, which its writer produces.
            let canonical = try? BSONDocument.extendedJSON(bytes: bytes, .canonical)
            let skipped = ["\\u0000", "\"$set", "$code", "$dbPointer"]
            if let canonical, skipped.contains(where: canonical.contains) { return }
            #expect(canonical.flatMap { try? BSONDocument(extendedJSON: $0) } == document, "seed \(seed)")
        }
    }

    @Test("random corruption of valid bytes never crashes the decoder")
    func fuzzCorruption() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            guard var bytes = try? BSONEncoder.encode(RandomDocuments.document(&random, maxFields: 8)) else { return }
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.removeLast(Int.random(in: 0...min(8, bytes.count - 1), using: &random))
                default:
                    bytes.insert(
                        UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
                }
            }
            do {
                let decoded = try BSONDecoder.decode(bytes)
                _ = try BSONEncoder.encode(decoded)  // whatever decodes must encode again
            } catch let error as BSONError {
                #expect(error.exitStatus == .dataError)
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
    }
}
