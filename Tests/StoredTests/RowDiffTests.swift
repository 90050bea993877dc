import Testing

@testable import MongoPG

@Suite("Child rows diffed by key")
struct RowDiffTests {
    /// A child table's rows of document "d": `idx`, value.
    static func lines(_ values: [(Int64, String)]) -> RowDiff.Lines {
        RowDiff.Lines(rows: values.map { [.text("d"), .integer($0.0), .text($0.1)] })
    }

    static func text(_ values: [(Int64, String)]) -> [UInt8] { Array(lines(values).text) }

    @Test("an element changed in place rewrites its row only")
    func changedInPlace() {
        let diff = RowDiff.diff(
            old: Self.lines([(0, "a"), (1, "b"), (2, "c")]), new: Self.lines([(0, "a"), (1, "B"), (2, "c")]),
            keyCount: 2)
        #expect(diff == RowDiff(removed: [[1]], added: Self.text([(1, "B")])))
    }

    @Test("in place, rows whose key stays are updated (a root row too); gone keys deleted, new keys written")
    func updatedInPlace() {
        let diff = RowDiff.diff(
            old: Self.lines([(0, "a"), (1, "b"), (2, "c")]), new: Self.lines([(0, "a"), (1, "c")]), keyCount: 2,
            inPlace: true)
        #expect(diff == RowDiff(removed: [[2]], added: [], changed: [1]))
        let grown = RowDiff.diff(
            old: Self.lines([(0, "a")]), new: Self.lines([(0, "b"), (1, "c")]), keyCount: 2, inPlace: true)
        #expect(grown == RowDiff(removed: [], added: Self.text([(1, "c")]), changed: [0]))
        // A root row: its document's only row, keyed by `_id` alone.
        let root = { (email: String) in RowDiff.Lines(rows: [[.text("d"), .text(email)]]) }
        #expect(RowDiff.diff(old: root("a@x"), new: root("b@x"), keyCount: 1, inPlace: true) == RowDiff(changed: [0]))
        #expect(RowDiff.diff(old: root("a@x"), new: root("b@x"), keyCount: 1) == nil)
        #expect(RowDiff.diff(old: root("a@x"), new: RowDiff.Lines(rows: []), keyCount: 1, inPlace: true) == nil)
    }

    @Test("an array grown at its end adds rows; shrunk at its end deletes them; nothing else moves")
    func grownAndShrunk() {
        let three = Self.lines([(0, "a"), (1, "b"), (2, "c")])
        #expect(
            RowDiff.diff(old: Self.lines([(0, "a")]), new: three, keyCount: 2)
                == RowDiff(removed: [], added: Self.text([(1, "b"), (2, "c")])))
        #expect(
            RowDiff.diff(old: three, new: Self.lines([(0, "a")]), keyCount: 2)
                == RowDiff(removed: [[1], [2]], added: []))
    }

    @Test("an element pulled from the middle shifts the rows after it: each rewritten, the last deleted")
    func pulled() {
        let diff = RowDiff.diff(
            old: Self.lines([(0, "a"), (1, "b"), (2, "c")]), new: Self.lines([(0, "a"), (1, "c")]), keyCount: 2)
        #expect(diff == RowDiff(removed: [[1], [2]], added: Self.text([(1, "c")])))
    }

    @Test("rows read back in another order match by key; an array emptied is the document's rows deleted whole (nil)")
    func orderAndEmptied() {
        let written = Self.lines([(0, "a"), (1, "b"), (2, "c")])
        let read = Self.lines([(2, "c"), (0, "a"), (1, "b")])
        #expect(RowDiff.diff(old: read, new: written, keyCount: 2) == RowDiff())
        #expect(RowDiff.diff(old: written, new: Self.lines([]), keyCount: 2) == nil)
        #expect(RowDiff.diff(old: Self.lines([(0, "a")]), new: Self.lines([(0, "b")]), keyCount: 2) == nil)
    }

    @Test("nested arrays: rows keyed by the enclosing index and their own")
    func nested() {
        func rows(_ values: [(Int64, Int64, Int64)]) -> RowDiff.Lines {
            RowDiff.Lines(rows: values.map { [.text("d"), .integer($0.0), .integer($0.1), .integer($0.2)] })
        }
        let diff = RowDiff.diff(
            old: rows([(0, 0, 1), (0, 1, 2), (1, 0, 3)]), new: rows([(0, 0, 1), (0, 1, 20), (1, 0, 3), (1, 1, 4)]),
            keyCount: 3)
        #expect(diff?.removed == [[0, 1]])
        #expect(diff?.added == Array(rows([(0, 1, 20), (1, 1, 4)]).text))
    }

    @Test("a row PostgreSQL gives back with its json spelt as jsonb spells it is the same row")
    func jsonSpelling() {
        let read = RowDiff.Lines(rows: [[.text("d"), .integer(0), .json(#"{"a": 1, "bb": 2}"#)]])
        let written = RowDiff.Lines(rows: [[.text("d"), .integer(0), .json(#"{ "bb" : 2, "a" : 1 }"#)]])
        #expect(RowDiff.diff(old: read, new: written, keyCount: 2) == RowDiff())
        let changed = RowDiff.Lines(rows: [[.text("d"), .integer(0), .json(#"{ "bb" : 3, "a" : 1 }"#)]])
        #expect(RowDiff.diff(old: read, new: changed, keyCount: 2) == nil)
    }

    @Test("an image's COPY text splits into the lines its rows were encoded to, escapes and all")
    func imageLines() throws {
        let rows: [[SQLValue]] = [
            [.text("a\tb\\\nc"), .integer(0), .text("x\ty\nz")], [.text("a\tb\\\nc"), .integer(1), .null],
        ]
        let encoded = RowDiff.Lines(rows: rows)
        let image = BatchWrite.Image(bson: nil, text: [[], Array(encoded.text)])
        let split = RowDiff.Lines(text: image.text(1))
        #expect(split.ranges.count == 2)
        #expect(split.key(1, keyCount: 2).elementsEqual(encoded.key(1, keyCount: 2)))
        #expect(RowDiff.diff(old: split, new: encoded, keyCount: 2) == RowDiff())
        var changed = rows
        changed[1][2] = .text("w")
        #expect(RowDiff.diff(old: split, new: RowDiff.Lines(rows: changed), keyCount: 2)?.removed == [[1]])
    }

    @Test("a key cell that holds a tab or a backslash in its COPY text still splits at the right tab")
    func escapedKey() {
        let old = RowDiff.Lines(rows: [
            [.text("a\tb\\"), .integer(0), .text("x")], [.text("a\tb\\"), .integer(1), .text("y")],
        ])
        let new = RowDiff.Lines(rows: [
            [.text("a\tb\\"), .integer(0), .text("x")], [.text("a\tb\\"), .integer(1), .text("z")],
        ])
        #expect(RowDiff.diff(old: old, new: new, keyCount: 2)?.removed == [[1]])
    }
}

@Suite("Document images kept between batches")
struct DocumentImagesTests {
    static let namespace = Namespace(database: "db", collection: "c")

    static func batch(_ ids: ClosedRange<Int32>, name: String, emptied: [Namespace] = []) throws -> BatchWrite {
        let plan = try TablePlan(
            schema: try CollectionSchema(
                namespace: namespace, jsonText: #"{"_id": "int", "name": "string", "tags": ["string"]}"#, file: "test"))
        let outcomes = ids.map { id in
            DocumentOutcome(
                namespace: namespace, id: .int32(id),
                document: ["_id": .int32(id), "name": .string(name), "tags": .array([.string("t")])], exact: true)
        }
        return try BatchWrite(emptied: emptied, outcomes: outcomes, plans: [namespace: plan])
    }

    static func key(_ id: Int32) throws -> DocumentKey { try DocumentKey(namespace, .int32(id)) }

    @Test("an image gives back the document and each table's rows as written")
    func roundTrip() throws {
        let image = try #require(try Self.batch(1...1, name: "one").images[Self.key(1)])
        #expect(try image.document() == ["_id": .int32(1), "name": .string("one"), "tags": .array([.string("t")])])
        #expect(String(decoding: image.text(0), as: UTF8.self) == "1\tone\n")
        #expect(String(decoding: image.text(1), as: UTF8.self) == "1\t0\tt\n")
        let none = BatchWrite.Image(bson: nil, text: [[], []])
        #expect(try none.document() == nil)
        #expect(none.text(1).isEmpty)
    }

    @Test("a later batch's image replaces an earlier one; an emptied collection keeps none")
    func replacedAndEmptied() throws {
        var images = DocumentImages()
        images.add(try Self.batch(1...3, name: "a"))
        images.add(try Self.batch(2...2, name: "b"))
        #expect(try images.image(for: Self.key(2))?.document()?["name"] == .string("b"))
        #expect(try images.image(for: Self.key(1))?.document()?["name"] == .string("a"))
        #expect(try images.image(for: Self.key(9)) == nil)
        #expect(images.lookups == 3 && images.hits == 2)
        images.add(try Self.batch(3...3, name: "c", emptied: [Self.namespace]))
        #expect(try images.image(for: Self.key(1)) == nil, "its rows went with the drop")
        #expect(try images.image(for: Self.key(3))?.document()?["name"] == .string("c"), "written after the drop")
    }

    @Test("a document grown too large to keep has no image any more: the one from before is stale")
    func outgrown() throws {
        let small = try #require(try Self.batch(1...1, name: "x").images[Self.key(1)]).size
        var images = DocumentImages(capacity: 2 * (small + 8 + DocumentImages.allowancePerDocument) + 64)
        images.add(try Self.batch(1...1, name: "x"))
        #expect(try images.image(for: Self.key(1)) != nil)
        images.add(try Self.batch(1...1, name: String(repeating: "y", count: 200)))
        #expect(try images.image(for: Self.key(1)) == nil)
    }

    @Test("the budget bounds what is kept: the documents touched least recently go first")
    func bounded() throws {
        let size = try #require(try Self.batch(1...1, name: "x").images[Self.key(1)]).size
        // Room for about 10 images per generation.
        var images = DocumentImages(capacity: 2 * 10 * (size + 8 + DocumentImages.allowancePerDocument))
        for id: Int32 in 1...100 { images.add(try Self.batch(id...id, name: "x")) }
        #expect(images.count <= 20)
        #expect(try images.image(for: Self.key(100)) != nil)
        #expect(try images.image(for: Self.key(1)) == nil)
        var none = DocumentImages(capacity: 0)
        none.add(try Self.batch(1...5, name: "x"))
        #expect(none.count == 0)
    }
}
