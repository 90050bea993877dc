import Foundation
import TestSupport
import Testing

@testable import MongoPG

/// The order `verify --all` merges in: what `KeyOrder.precedes` says must be what PostgreSQL's `ORDER BY` gives
/// (checked against the server) and what MongoDB's `_id` order gives for the same values.
@Suite("Key order of the full verification merge")
struct KeyOrderTests {
    @Test("text compares by UTF-8 bytes, as MongoDB compares strings; ObjectId hex as the ObjectIds' bytes")
    func textByBytes() {
        #expect(KeyOrder.precedes(.text("B"), .text("a")))
        #expect(KeyOrder.precedes(.text("z"), .text("é")))
        #expect(KeyOrder.precedes(.text("a"), .text("ab")))
        #expect(!KeyOrder.precedes(.text("ab"), .text("ab")))
        var random = SystemRandomNumberGenerator()
        let ids = (0..<200).map { _ in ObjectID((0..<12).map { _ in UInt8.random(in: 0...255, using: &random) })! }
        let byText = ids.sorted { KeyOrder.precedes(.text($0.hex), .text($1.hex)) }
        #expect(byText == ids.sorted())
    }

    @Test("numbers, dates, binary (length first, as MongoDB) and booleans")
    func otherTypes() {
        #expect(KeyOrder.precedes(.integer(-5), .integer(3)))
        #expect(KeyOrder.precedes(.double(-0.5), .double(0.25)))
        #expect(KeyOrder.precedes(.timestamp(1), .timestamp(2)))
        #expect(KeyOrder.precedes(.bytes([9]), .bytes([0, 0])))
        #expect(KeyOrder.precedes(.bytes([0, 1]), .bytes([0, 2])))
        #expect(KeyOrder.precedes(.boolean(false), .boolean(true)))
        #expect(!KeyOrder.precedes(.integer(4), .integer(4)))
    }

    static func decimal(_ text: String) -> SQLValue { .numeric(Decimal128(text)!) }

    @Test("int64 keys beyond 2^53 compare exactly, against each other and against doubles")
    func largeIntegers() {
        let twoTo53: Int64 = 1 << 53
        #expect(KeyOrder.precedes(.integer(twoTo53), .integer(twoTo53 + 1)))
        #expect(KeyOrder.precedes(.double(Double(twoTo53)), .integer(twoTo53 + 1)))
        #expect(!KeyOrder.precedes(.integer(twoTo53 + 1), .double(Double(twoTo53))))
        #expect(KeyOrder.precedes(.integer(Int64.max), .double(9_223_372_036_854_775_808.0)))  // 2^63
        #expect(KeyOrder.precedes(.double(-9_223_372_036_854_775_808.0 * 2), .integer(Int64.min)))
        #expect(KeyOrder.precedes(.integer(Int64.min), .double((-9_223_372_036_854_775_808.0).nextUp)))
        #expect(KeyOrder.precedes(.integer(2), .double(2.5)) && KeyOrder.precedes(.double(-2.5), .integer(-2)))
        #expect(KeyOrder.precedes(.integer(twoTo53 + 1), Self.decimal("9007199254740993.5")))
    }

    @Test("decimal128 keys compare by exact value, also where doubles cannot tell them apart")
    func decimals() {
        let ordered = [
            "NaN", "-Infinity", "-1E+6000", "-12345678901234567890123456789012.35",
            "-12345678901234567890123456789012.34", "-0.000000000000000000000000000000001", "0", "1E-6176",
            "0.1000000000000000000000000000000001", "0.1000000000000000000000000000000002", "9007199254740993",
            "1E+30", "1000000000000000000000000000000.001", "9.999999999999999999999999999999999E+6144", "Infinity",
        ].map(Self.decimal)
        for (index, lower) in ordered.enumerated() {
            for higher in ordered[(index + 1)...] {
                #expect(KeyOrder.precedes(lower, higher), "\(lower) < \(higher)")
                #expect(!KeyOrder.precedes(higher, lower), "not \(higher) < \(lower)")
            }
        }
        #expect(ordered.shuffled().sorted(by: KeyOrder.precedes) == ordered)
    }

    @Test("numbers of different types but one value precede neither, as one _id in MongoDB")
    func equalAcrossTypes() {
        let groups: [[SQLValue]] = [
            [.integer(1), .double(1), Self.decimal("1"), Self.decimal("1.000"), Self.decimal("0.1E1")],
            [.integer(0), .double(0), .double(-0.0), Self.decimal("0"), Self.decimal("-0E+3")],
            [.integer(-(1 << 53) - 1), Self.decimal("-9007199254740993")],
            [.double(0.0009765625), Self.decimal("0.0009765625000")],
            [.integer(1 << 60), .double(0x1p60), Self.decimal("1152921504606846976")],
            [.double(.nan), Self.decimal("NaN")], [.double(.infinity), Self.decimal("Infinity")],
        ]
        for group in groups {
            for a in group {
                for b in group { #expect(!KeyOrder.precedes(a, b), "\(a) and \(b) are equal") }
            }
        }
        // 0.1 as a double is a little more than the decimal 0.1.
        #expect(KeyOrder.precedes(Self.decimal("0.1"), .double(0.1)))
        #expect(KeyOrder.precedes(.double(.nan), .integer(Int64.min)))
        #expect(KeyOrder.precedes(.double(5e-324), Self.decimal("1E-323")))
        #expect(KeyOrder.precedes(Self.decimal("1E-324"), .double(5e-324)))
    }

    @Test("PostgreSQL's ORDER BY for each key type gives the order precedes gives", .tags(.integration))
    func postgresAgrees() async throws {
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("aAzZ09_-é中😀 ~\u{7f}")
        let texts = (0..<300).map { _ in
            String((0..<Int.random(in: 0...6, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        let blobs = (0..<300).map { _ in
            (0..<Int.random(in: 0...4, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        let numbers = (0..<300).map { _ in Int64.random(in: -1_000_000...1_000_000, using: &random) }
        // Finite decimals only, some beyond a double's 17 digits: PostgreSQL sorts NaN last, MongoDB first.
        let decimals = (0..<300).map { index in
            let cents = Int.random(in: 100...199, using: &random).description.dropFirst()  // two digits
            return (index % 3 == 0 ? "1234567890123456789012345678901" : "\(numbers[index])") + ".\(cents)"
        }
        let doubles = (0..<300).map { _ in Double.random(in: -1e6...1e6, using: &random) }
        let cases: [(SQLType, [SQLValue])] = [
            (.text, Array(Set(texts)).map { .text($0) }), (.bytea, Array(Set(blobs)).map { .bytes($0) }),
            (.bigint, Array(Set(numbers)).map { .integer($0) }),
            (.numeric, Array(Set(decimals)).map(Self.decimal)),
            (.doublePrecision, Array(Set(doubles)).map { .double($0) }),
        ]
        try await PostgresServer.withScratchSchema("keyorder") { session, schema in
            try await session.execute("CREATE SCHEMA \"\(schema)\"", purpose: "test")
            for (type, values) in cases {
                let table = "\"\(schema)\".\"k_\(type.rawValue)\""
                try await session.execute("CREATE TABLE \(table) (k \(type.rawValue) PRIMARY KEY)", purpose: "test")
                try await session.query(
                    "INSERT INTO \(table) SELECT unnest($1\(type.arrayCast))", values: [.array(values)],
                    purpose: "test")
                let rows = try await session.query(
                    "SELECT k FROM \(table) ORDER BY \(KeyOrder.orderBy("k", type: type))", purpose: "test")
                let fromServer = try rows.rows.map { try CopyTextDecoder.value($0[0].map { Array($0.utf8) }, type) }
                #expect(fromServer == values.sorted(by: KeyOrder.precedes), "\(type)")
            }
        }
    }

    static func mongoItem(_ id: Int64, name: String) throws -> CollectionVerifier.MongoItem {
        CollectionVerifier.MongoItem(
            key: .integer(id), match: try CollectionVerifier.match(.int64(id)), id: .int64(id),
            document: ["_id": .int64(id), "name": .string(name)], original: ["_id": .int64(id), "name": .string(name)])
    }

    static func storedItem(_ id: Int64, name: String) throws -> CollectionVerifier.StoredItem {
        CollectionVerifier.StoredItem(
            key: .integer(id), match: try CollectionVerifier.match(.int64(id)), id: .int64(id),
            document: .success(["_id": .int64(id), "name": .string(name)]))
    }

    @Test("the matcher pairs documents from either side in any order, compares them, and keeps the unpaired")
    func matcher() throws {
        var matcher = DocumentMatcher()
        try matcher.offer(Self.storedItem(2, name: "b"))
        try matcher.offer(Self.mongoItem(1, name: "a"))
        try matcher.offer(Self.mongoItem(2, name: "changed"))
        try matcher.offer(Self.storedItem(3, name: "c"))
        #expect(matcher.tally.checked == 1)
        #expect(matcher.tally.findings.map(\.kind) == [.different])
        #expect(matcher.tally.findings.first?.path == "name")
        #expect(matcher.waiting.mongoOnly.count == 1 && matcher.waiting.storedOnly.count == 1)

        // A document paired by a lookup is skipped when its own stream brings it later.
        matcher.waiting.skipStored.insert(try CollectionVerifier.match(.int64(9)))
        try matcher.offer(Self.storedItem(9, name: "i"))
        #expect(matcher.waiting.storedOnly.count == 1 && matcher.waiting.skipStored.isEmpty)
    }

    @Test("a merge takes the head whose key comes first, both for equal keys (an int64 and an equal double too)")
    func mergeStep() {
        #expect(KeyOrder.step(mongo: .integer(1), stored: .integer(2)) == .mongo)
        #expect(KeyOrder.step(mongo: .text("b"), stored: .text("a")) == .stored)
        #expect(KeyOrder.step(mongo: .integer(2), stored: .double(2)) == .both)
        #expect(KeyOrder.step(mongo: nil, stored: .text("a")) == .stored)
        #expect(KeyOrder.step(mongo: .text("a"), stored: nil) == .mongo)
        #expect(KeyOrder.step(mongo: nil, stored: nil) == .done)
    }
}
