import Foundation
import Testing

@testable import MongoPG

@Suite("Oplog entries unwound into changes of synced collections")
struct OplogUnpackerTests {
    static let customers = Namespace(database: "shop", collection: "customers")
    static let orders = Namespace(database: "shop", collection: "orders")

    static func entry(_ json: String) -> OplogEntry {
        try! OplogEntry(try! BSONDocument(extendedJSON: json))
    }

    static func ts(_ seconds: UInt32, _ increment: UInt32 = 1) -> String {
        #""ts": {"$timestamp": {"t": \#(seconds), "i": \#(increment)}}"#
    }

    static func unpack(_ entries: [String], synced: Set<Namespace> = [customers]) throws -> OplogUnpacker.Unpacked {
        var unpacker = OplogUnpacker(synced: synced)
        var all = OplogUnpacker.Unpacked()
        for text in entries {
            let unpacked = try unpacker.unpack(entry(text))
            all.changes += unpacked.changes
            all.skips.merge(unpacked.skips, uniquingKeysWith: +)
        }
        return all
    }

    @Test("inserts, updates and deletes of a synced collection become changes; others are counted as skipped")
    func crud() throws {
        let unpacked = try Self.unpack([
            #"{\#(Self.ts(1)), "op": "i", "ns": "shop.customers", "o": {"_id": 1, "a": 1}}"#,
            #"{\#(Self.ts(2)), "op": "u", "ns": "shop.customers", "o": {"$v": 2, "diff": {"u": {"a": 2}}}, "o2": {"_id": 1}}"#,
            #"{\#(Self.ts(3)), "op": "d", "ns": "shop.customers", "o": {"_id": 1}}"#,
            #"{\#(Self.ts(4)), "op": "i", "ns": "shop.orders", "o": {"_id": 1}}"#,
            #"{\#(Self.ts(5)), "op": "n", "ns": "", "o": {"msg": "periodic noop"}}"#,
            #"{\#(Self.ts(6)), "op": "i", "ns": "shop.customers", "o": {"_id": 2}, "fromMigrate": true}"#,
            #"{\#(Self.ts(7)), "op": "i", "ns": "config.system.sessions", "o": {"_id": 3}}"#,
            #"{\#(Self.ts(8)), "op": "i", "ns": "shop.system.views", "o": {"_id": 3}}"#,
            #"{\#(Self.ts(9)), "op": "c", "ns": "shop.$cmd", "o": {"createIndexes": "customers", "v": 2, "key": {"a": 1}, "name": "a_1"}}"#,
        ])
        #expect(
            unpacked.changes == [
                .insert(Self.customers, ["_id": .int32(1), "a": .int32(1)]),
                .update(Self.customers, id: .int32(1), .delta(["u": .document(["a": .int32(2)])])),
                .delete(Self.customers, id: .int32(1)),
            ])
        #expect(unpacked.skips == [.notSynced: 1, .noop: 1, .fromMigrate: 1, .internalNamespace: 2, .command: 1])
    }

    @Test("a plain applyOps applies its operations at once, skipping fromMigrate ones inside")
    func plainApplyOps() throws {
        let unpacked = try Self.unpack([
            #"{\#(Self.ts(1)), "op": "c", "ns": "admin.$cmd", "o": {"applyOps": [{"op": "d", "ns": "shop.customers", "o": {"_id": 1}}, {"op": "d", "ns": "shop.customers", "o": {"_id": 2}, "fromMigrate": true}]}}"#
        ])
        #expect(unpacked.changes == [.delete(Self.customers, id: .int32(1))])
        #expect(unpacked.skips == [.fromMigrate: 1])
    }

    static let session =
        #""lsid": {"id": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==", "subType": "04"}}}, "txnNumber": {"$numberLong": "5"}"#

    @Test("a partialTxn chain applies whole at its last entry, and holds the sync point back until then")
    func partialChain() throws {
        var unpacker = OplogUnpacker(synced: [Self.customers])
        let first = try unpacker.unpack(
            Self.entry(
                #"{\#(Self.ts(10)), "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 1}}], "partialTxn": true}}"#
            ))
        #expect(first.changes.isEmpty)
        #expect(unpacker.oldestOpenTransaction == BSONTimestamp(seconds: 10, increment: 1))
        let last = try unpacker.unpack(
            Self.entry(
                #"{\#(Self.ts(11)), "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 2}}], "count": 2}}"#
            ))
        #expect(
            last.changes == [.insert(Self.customers, ["_id": .int32(1)]), .insert(Self.customers, ["_id": .int32(2)])])
        #expect(unpacker.oldestOpenTransaction == nil)
    }

    @Test("a prepared transaction applies at commitTransaction, and an aborted one never")
    func prepared() throws {
        let prepare =
            #"{\#(Self.ts(20)), "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [{"op": "u", "ns": "shop.customers", "o": {"$v": 2, "diff": {"u": {"a": 1}}}, "o2": {"_id": 7}}], "prepare": true}}"#
        let committed = try Self.unpack([
            prepare,
            #"{\#(Self.ts(21)), "op": "i", "ns": "shop.customers", "o": {"_id": 8}}"#,
            #"{\#(Self.ts(22)), "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"commitTransaction": 1, "commitTimestamp": {"$timestamp": {"t": 21, "i": 5}}}}"#,
        ])
        #expect(
            committed.changes == [
                .insert(Self.customers, ["_id": .int32(8)]),
                .update(Self.customers, id: .int32(7), .delta(["u": .document(["a": .int32(1)])])),
            ])
        let aborted = try Self.unpack([
            prepare,
            #"{\#(Self.ts(22)), "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"abortTransaction": 1}}"#,
        ])
        #expect(aborted.changes.isEmpty)
        #expect(aborted.skips == [.abortedTransaction: 1])
    }

    /// A transaction entry's `prevOpTime`: the ts of its entry before, 0 for its first.
    static func previous(_ seconds: UInt32) -> String {
        #""prevOpTime": {"ts": {"$timestamp": {"t": \#(seconds), "i": \#(seconds == 0 ? 0 : 1)}}, "t": {"$numberLong": "1"}}"#
    }

    static let chainHead =
        #"{\#(ts(10)), "op": "c", "ns": "admin.$cmd", \#(session), \#(previous(0)), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 1}}], "partialTxn": true}}"#
    static let chainEnd =
        #"{\#(ts(11)), "op": "c", "ns": "admin.$cmd", \#(session), \#(previous(10)), "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 2}}], "count": 2}}"#

    @Test("a transaction's entry whose earlier entries were never read is refused (65), naming the transaction")
    func orphanPart() throws {
        var unpacker = OplogUnpacker(synced: [Self.customers])
        let error = #expect(throws: OplogError.self) { try unpacker.unpack(Self.entry(Self.chainEnd)) }
        #expect(error?.kind == .transactionPartMissing)
        #expect(error?.exitStatus == .dataError)
        #expect(error?.missingPart == BSONTimestamp(seconds: 10, increment: 1))
        for words in ["txnNumber 5", "lsid", "Timestamp(11, 1)", "Timestamp(10, 1)"] {
            #expect(error?.description.contains(words) == true, "\(error?.description ?? "")")
        }
        let commit =
            #"{\#(Self.ts(22)), "op": "c", "ns": "admin.$cmd", \#(Self.session), \#(Self.previous(20)), "o": {"commitTransaction": 1, "commitTimestamp": {"$timestamp": {"t": 21, "i": 5}}}}"#
        let orphanCommit = #expect(throws: OplogError.self) { try unpacker.unpack(Self.entry(commit)) }
        #expect(orphanCommit?.kind == .transactionPartMissing)
        #expect(orphanCommit?.description.contains("prepare entry at Timestamp(20, 1)") == true)
    }

    @Test(
        "a chain cut at the end of a run is carried (in its stored form) and applies whole in the next, read again or not"
    )
    func carriedChain() throws {
        var first = OplogUnpacker(synced: [Self.customers])
        #expect(try first.unpack(Self.entry(Self.chainHead)).changes.isEmpty)
        let open = first.open
        #expect(
            open.count == 1 && open.first?.parts == 1 && open.first?.firstTS == BSONTimestamp(seconds: 10, increment: 1)
        )
        let stored = try #require(open.first.flatMap { OpenTransaction(stored: $0.stored) })
        #expect(stored == open.first)
        for readAgain in [false, true] {
            var next = OplogUnpacker(synced: [Self.customers])
            try next.carry([stored])
            if readAgain {
                #expect(try next.unpack(Self.entry(Self.chainHead)).changes.isEmpty, "held already: not added twice")
            }
            let end = try next.unpack(Self.entry(Self.chainEnd))
            #expect(
                end.changes == [
                    .insert(Self.customers, ["_id": .int32(1)]), .insert(Self.customers, ["_id": .int32(2)]),
                ])
            #expect(next.open.isEmpty && next.oldestOpenTransaction == nil)
        }
    }

    @Test(
        "the end of a transaction at exactly the replay's start is the entry applied before it: already in the tables")
    func endAtStart() throws {
        let commit =
            #"{\#(Self.ts(22)), "op": "c", "ns": "admin.$cmd", \#(Self.session), \#(Self.previous(20)), "o": {"commitTransaction": 1, "commitTimestamp": {"$timestamp": {"t": 21, "i": 5}}}}"#
        for end in [commit, Self.chainEnd] {
            let at = try OplogEntry(try BSONDocument(extendedJSON: end)).ts
            var atStart = OplogUnpacker(synced: [Self.customers], readsFrom: at)
            let skipped = try atStart.unpack(Self.entry(end))
            #expect(skipped.changes.isEmpty && skipped.skips == [.alreadyInTables: 1])
            var after = OplogUnpacker(synced: [Self.customers], readsFrom: BSONTimestamp(seconds: 1, increment: 1))
            #expect(throws: OplogError.self) { try after.unpack(Self.entry(end)) }
        }
    }

    @Test("a transaction whose end is refused stays open, so the sync point stays before its first entry")
    func refusedEndStaysOpen() throws {
        let unknownUpdate = #"{"op": "u", "ns": "shop.customers", "o": {"$inc": {"a": 1}}, "o2": {"_id": 7}}"#
        var prepared = OplogUnpacker(synced: [Self.customers])
        _ = try prepared.unpack(
            Self.entry(
                #"{\#(Self.ts(20)), "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"applyOps": [\#(unknownUpdate)], "prepare": true}}"#
            ))
        #expect(throws: OplogError.self) {
            try prepared.unpack(
                Self.entry(
                    #"{\#(Self.ts(22)), "op": "c", "ns": "admin.$cmd", \#(Self.session), "o": {"commitTransaction": 1, "commitTimestamp": {"$timestamp": {"t": 21, "i": 5}}}}"#
                ))
        }
        #expect(prepared.oldestOpenTransaction == BSONTimestamp(seconds: 20, increment: 1))

        var chain = OplogUnpacker(synced: [Self.customers])
        _ = try chain.unpack(Self.entry(Self.chainHead))
        #expect(throws: OplogError.self) {
            try chain.unpack(
                Self.entry(
                    #"{\#(Self.ts(11)), "op": "c", "ns": "admin.$cmd", \#(Self.session), \#(Self.previous(10)), "o": {"applyOps": [\#(unknownUpdate)]}}"#
                ))
        }
        #expect(chain.oldestOpenTransaction == BSONTimestamp(seconds: 10, increment: 1))
        #expect(chain.open.first?.parts == 1, "the refused part is not held: a rerun reads it again")
    }

    @Test("vectored inserts (multiOpType 1) are not transactions: they apply at once")
    func vectoredInserts() throws {
        let unpacked = try Self.unpack([
            #"{\#(Self.ts(1)), "op": "c", "ns": "admin.$cmd", \#(Self.session), "multiOpType": 1, "o": {"applyOps": [{"op": "i", "ns": "shop.customers", "o": {"_id": 100}, "o2": {"_id": 100}}]}}"#
        ])
        #expect(unpacked.changes == [.insert(Self.customers, ["_id": .int32(100)])])
    }

    @Test("drop and dropDatabase empty the synced collections; other drops are skipped")
    func drops() throws {
        let unpacked = try Self.unpack(
            [
                #"{\#(Self.ts(1)), "op": "c", "ns": "shop.$cmd", "o": {"drop": "customers"}, "o2": {"numRecords": 1}}"#,
                #"{\#(Self.ts(2)), "op": "c", "ns": "shop.$cmd", "o": {"drop": "other"}}"#,
                #"{\#(Self.ts(3)), "op": "c", "ns": "shop.$cmd", "o": {"dropDatabase": 1}}"#,
                #"{\#(Self.ts(4)), "op": "c", "ns": "elsewhere.$cmd", "o": {"dropDatabase": 1}}"#,
            ], synced: [Self.customers, Self.orders])
        #expect(
            unpacked.changes == [
                .dropCollection(Self.customers), .dropCollection(Self.customers), .dropCollection(Self.orders),
            ])
        #expect(unpacked.skips == [.notSynced: 2])
    }

    @Test("a rename into or out of a synced namespace stops the run (exit 1) naming both; others are skipped")
    func renames() throws {
        for (from, to) in [("shop.customers", "shop.old"), ("shop.tmp", "shop.customers")] {
            let error = #expect(throws: OplogError.self) {
                try Self.unpack([
                    #"{\#(Self.ts(3)), "op": "c", "ns": "shop.$cmd", "o": {"renameCollection": "\#(from)", "to": "\#(to)"}}"#
                ])
            }
            #expect(error?.kind == .renameOfSyncedCollection)
            #expect(error?.exitStatus == .initLoadNeeded)
            #expect(error?.description.contains(from) == true && error?.description.contains(to) == true)
            #expect(error?.description.contains("Timestamp(3, 1)") == true)
        }
        let skipped = try Self.unpack([
            #"{\#(Self.ts(3)), "op": "c", "ns": "shop.$cmd", "o": {"renameCollection": "shop.a", "to": "shop.b"}}"#
        ])
        #expect(skipped.skips == [.notSynced: 1])
    }

    @Test(
        "an unknown op or command stops the run (exit 65) naming its ts, ns and op",
        arguments: [
            #"{"ts": {"$timestamp": {"t": 9, "i": 2}}, "op": "x", "ns": "shop.customers", "o": {}}"#,
            #"{"ts": {"$timestamp": {"t": 9, "i": 2}}, "op": "c", "ns": "shop.$cmd", "o": {"convertToCapped": "customers", "size": 1}}"#,
            #"{"ts": {"$timestamp": {"t": 9, "i": 2}}, "op": "u", "ns": "shop.customers", "o": {"$inc": {"a": 1}}, "o2": {"_id": 1}}"#,
        ])
    func unknown(_ text: String) throws {
        let error = #expect(throws: OplogError.self) { try Self.unpack([text]) }
        #expect(error?.exitStatus == .dataError)
        #expect(error?.description.contains("Timestamp(9, 2)") == true)
        #expect(error?.description.contains("ns shop.") == true)
    }
}

@Suite("Oplog files")
struct OplogFileTests {
    @Test("an entry carrying a document nested as deep as MongoDB allows decodes, inside applyOps too")
    func deepDocuments() async throws {
        var deep: BSONValue = .int32(1)
        for _ in 0..<BSONDecoder.maximumNesting { deep = .document(["a": deep]) }
        guard case .document(var document) = deep else { return }
        document = BSONDocument([("_id", .int32(7))] + document.elements.map { ($0.key, $0.value) })
        let documentValue = document
        let insert: BSONDocument = ["op": .string("i"), "ns": .string("shop.customers"), "o": .document(document)]
        let entries: [BSONDocument] = [
            BSONDocument(
                [("ts", .timestamp(BSONTimestamp(seconds: 1, increment: 1)))]
                    + insert.elements.map { ($0.key, $0.value) }),
            [
                "ts": .timestamp(BSONTimestamp(seconds: 2, increment: 1)), "op": .string("c"),
                "ns": .string("admin.$cmd"),
                "o": .document(["applyOps": .array([.document(insert)])]),
            ],
        ]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("deep-\(UUID().uuidString).bson")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(try entries.flatMap { try BSONEncoder.encode($0) }).write(to: file)
        var source = try FileOplogSource(path: file.path)
        let read = try await source.next(maximum: 10)
        var unpacker = OplogUnpacker(synced: [Namespace(database: "shop", collection: "customers")])
        for document in read {
            let changes = try unpacker.unpack(try OplogEntry(document)).changes
            #expect(
                changes == [.insert(Namespace(database: "shop", collection: "customers"), documentValue)],
                "the document nested \(BSONDecoder.maximumNesting) deep arrives whole")
        }
        #expect(read.count == 2)
    }

    @Test("a file read in chunks, each read ahead while the last is used, gives every entry once, in order")
    func chunksInOrder() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("chunks-\(UUID().uuidString).bson")
        defer { try? FileManager.default.removeItem(at: file) }
        let entries: [BSONDocument] = (1...25).map {
            [
                "ts": .timestamp(BSONTimestamp(seconds: 1, increment: UInt32($0))), "op": .string("n"),
                "o": .document([:]),
            ]
        }
        try Data(try entries.flatMap { try BSONEncoder.encode($0) }).write(to: file)
        var source = try FileOplogSource(path: file.path)
        var sizes: [Int] = [], read: [BSONDocument] = []
        for maximum in [10, 10, 3, 10, 10, 10] {
            let chunk = try await source.next(maximum: maximum)
            sizes.append(chunk.count)
            read += chunk
        }
        #expect(sizes == [10, 10, 3, 2, 0, 0], "a smaller chunk after a read ahead keeps the rest for the next call")
        #expect(read == entries)
    }
}
