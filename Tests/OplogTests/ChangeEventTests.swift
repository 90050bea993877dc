import Foundation
import Testing

@testable import MongoPG

/// Change stream events turned into the replayer's changes: event → oplog entry (`ChangeEventConverter`) →
/// `OplogUnpacker` → `OplogChange`, and the update forms applied to documents. Pure: no server.
@Suite("Change stream events become the replayer's changes")
struct ChangeEventTests {
    static let orders = Namespace(database: "shop", collection: "orders")
    static let tx = #""lsid": {"id": {"$binary": {"base64": "EjRWeBI0VniQEjRWeBI0Vg==", "subType": "04"}}}"#

    static func event(_ seconds: UInt32, increment: UInt32 = 1, _ body: String) -> ChangeEvent {
        let text =
            #"{"_id": {"_data": "t\#(seconds).\#(increment)"}, "clusterTime": {"$timestamp": {"t": \#(seconds), "i": \#(increment)}}, \#(body)}"#
        return try! ChangeEvent(try! BSONDocument(extendedJSON: text))
    }

    /// The changes `events` make to `synced`, through the same unpacker the oplog goes through, with each entry's ts.
    static func changes(_ events: [ChangeEvent], synced: Set<Namespace> = [orders]) throws
        -> (changes: [OplogChange], skips: [OplogSkip: Int], ts: [BSONTimestamp])
    {
        var converter = ChangeEventConverter()
        var unpacker = OplogUnpacker(synced: synced)
        var changes: [OplogChange] = [], skips: [OplogSkip: Int] = [:], stamps: [BSONTimestamp] = []
        for event in events {
            let (ts, document) = try converter.entry(for: event)
            let unpacked = try unpacker.unpack(try OplogEntry(document))
            changes += unpacked.changes
            skips.merge(unpacked.skips, uniquingKeysWith: +)
            stamps.append(ts)
        }
        return (changes, skips, stamps)
    }

    static func document(_ json: String) -> BSONDocument { try! BSONDocument(extendedJSON: json) }

    @Test("insert, update, replace and delete events become the same changes their oplog entries give")
    func documentEvents() throws {
        let result = try Self.changes([
            Self.event(
                1,
                #""operationType": "insert", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}, "fullDocument": {"_id": 1, "a": {"b": 1}}"#
            ),
            Self.event(
                2,
                #""operationType": "update", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}, "updateDescription": {"updatedFields": {"a.b": 2, "x": {"y": 3}}, "removedFields": ["z"], "truncatedArrays": [{"field": "arr", "newSize": 1}]}"#
            ),
            Self.event(
                3,
                #""operationType": "replace", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}, "fullDocument": {"_id": 1, "r": true}"#
            ),
            Self.event(
                4, #""operationType": "delete", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}"#),
        ])
        #expect(
            result.changes == [
                .insert(Self.orders, Self.document(#"{"_id": 1, "a": {"b": 1}}"#)),
                .update(
                    Self.orders, id: .int32(1),
                    .description(
                        updated: [
                            .init(key: "a.b", value: .int32(2)), .init(key: "x", value: .document(["y": .int32(3)])),
                        ],
                        removed: ["z"],
                        truncated: [("arr", 1)])),
                .update(Self.orders, id: .int32(1), .replacement(Self.document(#"{"_id": 1, "r": true}"#))),
                .delete(Self.orders, id: .int32(1)),
            ])
        #expect(result.skips.isEmpty)
    }

    @Test("the update description applies as the server applied the update: removed, then updated, then truncated")
    func descriptionApplies() throws {
        let result = try Self.changes([
            Self.event(
                2,
                #""operationType": "update", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}, "updateDescription": {"updatedFields": {"a.b": 2, "arr.3": 9, "n.0.k": 1}, "removedFields": ["z"], "truncatedArrays": [{"field": "t", "newSize": 1}]}"#
            )
        ])
        guard case .update(_, _, let update) = try #require(result.changes.first) else {
            Issue.record("not an update")
            return
        }
        let before = Self.document(#"{"_id": 1, "a": {"b": 1}, "arr": [1], "z": 5, "t": [1, 2, 3], "n": {"0": {}}}"#)
        let after = try update.apply(to: before)
        #expect(after.exact)
        #expect(
            after.document
                == Self.document(
                    #"{"_id": 1, "a": {"b": 2}, "arr": [1, null, null, 9], "t": [1], "n": {"0": {"k": 1}}}"#))
    }

    @Test("disambiguatedPaths name a field that holds a dot, which the dotted path alone would take for a nested one")
    func disambiguatedPaths() throws {
        let result = try Self.changes([
            Self.event(
                2,
                #""operationType": "update", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}, "updateDescription": {"updatedFields": {"a.b": 3, "arr.0.q": 7}, "removedFields": ["c.d"], "truncatedArrays": [], "disambiguatedPaths": {"a.b": ["a.b"], "arr.0.q": ["arr", 0, "q"], "c.d": ["c.d"]}}"#
            )
        ])
        guard case .update(_, _, let update) = try #require(result.changes.first) else {
            Issue.record("not an update")
            return
        }
        let before = Self.document(#"{"_id": 1, "a": {"b": 1}, "arr": [{"q": 1}], "c.d": 1, "c": {"d": 2}}"#)
        let after = try update.apply(to: before)
        #expect(
            after.document
                == Self.document(#"{"_id": 1, "a": {"b": 1}, "arr": [{"q": 7}], "c": {"d": 2}, "a.b": 3}"#))
        // Without them the same description writes into the nested field.
        let plain = try DocumentUpdate(
            Self.document(#"{"$v": 2, "diff": {"updatedFields": {"a.b": 3}}}"#)
        ).apply(to: before)
        #expect(plain.document["a"] == .document(["b": .int32(3)]))
    }

    @Test("with updateLookup an update applies the looked-up document; a deleted one falls back to the description")
    func updateLookup() throws {
        let result = try Self.changes([
            Self.event(
                2,
                #""operationType": "update", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}, "fullDocument": {"a": 5, "_id": 1}, "updateDescription": {"updatedFields": {"a": 5}, "removedFields": []}"#
            ),
            Self.event(
                3,
                #""operationType": "update", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 2}, "fullDocument": null, "updateDescription": {"updatedFields": {"a": 6}, "removedFields": []}"#
            ),
        ])
        #expect(
            result.changes == [
                .update(Self.orders, id: .int32(1), .replacement(Self.document(#"{"a": 5, "_id": 1}"#))),
                .update(
                    Self.orders, id: .int32(2),
                    .description(updated: [.init(key: "a", value: .int32(6))], removed: [], truncated: [])),
            ])
    }

    @Test("drop empties the tables, dropDatabase those of its database, other namespaces are skipped and counted")
    func drops() throws {
        let result = try Self.changes([
            Self.event(1, #""operationType": "drop", "ns": {"db": "shop", "coll": "orders"}"#),
            Self.event(2, #""operationType": "drop", "ns": {"db": "shop", "coll": "other"}"#),
            Self.event(3, #""operationType": "dropDatabase", "ns": {"db": "shop"}"#),
            Self.event(4, #""operationType": "createIndexes", "ns": {"db": "shop", "coll": "orders"}"#),
            Self.event(
                5,
                #""operationType": "insert", "ns": {"db": "shop", "coll": "other"}, "documentKey": {"_id": 1}, "fullDocument": {"_id": 1}"#
            ),
        ])
        #expect(result.changes == [.dropCollection(Self.orders), .dropCollection(Self.orders)])
        #expect(result.skips == [.notSynced: 2, .command: 1])
    }

    @Test("a rename into or out of a synced collection stops the run (1), as an oplog rename does; others are skipped")
    func renames() throws {
        let out = Self.event(
            1,
            #""operationType": "rename", "ns": {"db": "shop", "coll": "orders"}, "to": {"db": "shop", "coll": "old"}"#)
        let into = Self.event(
            2,
            #""operationType": "rename", "ns": {"db": "shop", "coll": "new"}, "to": {"db": "shop", "coll": "orders"}"#
        )
        for event in [out, into] {
            #expect {
                _ = try Self.changes([event])
            } throws: {
                ($0 as? OplogError)?.kind == .renameOfSyncedCollection
                    && ($0 as? ToolError)?.exitStatus == .initLoadNeeded
            }
        }
        let other = Self.event(
            3, #""operationType": "rename", "ns": {"db": "shop", "coll": "a"}, "to": {"db": "shop", "coll": "b"}"#)
        #expect(try Self.changes([other]).skips == [.notSynced: 1])
    }

    @Test("an event type the replayer does not know stops the run before it (65), naming it")
    func unknownType() throws {
        let event = Self.event(1, #""operationType": "reshuffle", "ns": {"db": "shop", "coll": "orders"}"#)
        #expect {
            _ = try Self.changes([event])
        } throws: { error in
            guard let error = error as? OplogError else { return false }
            return error.kind == .unknownForm && error.description.contains("reshuffle")
        }
    }

    @Test("a transaction's events share the ts of its first event, and entries carry each event's resume token")
    func transactions() throws {
        var converter = ChangeEventConverter()
        let events = [
            Self.event(
                5, increment: 1,
                #""operationType": "insert", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}, "fullDocument": {"_id": 1}, \#(Self.tx), "txnNumber": 3"#
            ),
            Self.event(
                5, increment: 2,
                #""operationType": "delete", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 2}, \#(Self.tx), "txnNumber": 3"#
            ),
            Self.event(
                6, increment: 1,
                #""operationType": "delete", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 3}, \#(Self.tx), "txnNumber": 4"#
            ),
            Self.event(
                7, increment: 1,
                #""operationType": "delete", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 4}"#),
        ]
        var stamps: [BSONTimestamp] = []
        for event in events {
            let (ts, entry) = try converter.entry(for: event)
            stamps.append(ts)
            #expect(entry[ChangeEvent.resumeTokenKey] == .document(event.token))
            #expect(try OplogEntry(entry).ts == ts)
        }
        #expect(
            stamps == [
                BSONTimestamp(seconds: 5, increment: 1), BSONTimestamp(seconds: 5, increment: 1),
                BSONTimestamp(seconds: 6, increment: 1), BSONTimestamp(seconds: 7, increment: 1),
            ])
    }

    @Test("a position entry is a no-op carrying the post-batch token: counted as noop, no change")
    func positionEntry() throws {
        let token: BSONDocument = ["_data": .string("pbrt")]
        let entry = ChangeEventConverter.positionEntry(at: BSONTimestamp(seconds: 9, increment: 0), token: token)
        var unpacker = OplogUnpacker(synced: [Self.orders])
        let unpacked = try unpacker.unpack(try OplogEntry(entry))
        #expect(unpacked.changes.isEmpty && unpacked.skips == [.noop: 1])
        #expect(entry[ChangeEvent.resumeTokenKey] == .document(token))
    }

    @Test("events without what their type needs are malformed (65), naming the event")
    func malformed() throws {
        for body in [
            #""operationType": "insert", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}"#,
            #""operationType": "update", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}"#,
            #""operationType": "delete", "ns": {"db": "shop", "coll": "orders"}"#,
            #""operationType": "replace", "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1}"#,
        ] {
            #expect {
                _ = try Self.changes([Self.event(1, body)])
            } throws: { ($0 as? OplogError)?.kind == .malformed && ($0 as? ToolError)?.exitStatus == .dataError }
        }
        #expect(throws: OplogError.self) { try ChangeEvent(Self.document(#"{"operationType": "insert"}"#)) }
    }

    @Test(
        "the $match stage keeps the synced collections' events, their databases' drops, renames into them, invalidate")
    func matchStage() throws {
        let stage = ChangeEventConverter.matchStage(for: [
            Self.orders, Namespace(database: "shop", collection: "items"),
            Namespace(database: "crm", collection: "people"),
        ])
        let expected = Self.document(
            """
            {"$match": {"$or": [
              {"ns.db": "crm", "ns.coll": {"$in": ["people"]}}, {"to.db": "crm", "to.coll": {"$in": ["people"]}},
              {"ns.db": "shop", "ns.coll": {"$in": ["items", "orders"]}}, {"to.db": "shop", "to.coll": {"$in": ["items", "orders"]}},
              {"operationType": "dropDatabase", "ns.db": {"$in": ["crm", "shop"]}},
              {"operationType": "invalidate"}
            ]}}
            """)
        #expect(stage == expected)
    }
}

@Suite("A change stream's position from its resume token")
struct ChangeStreamPositionTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("SecantusDB's tokens (BSON holding t) and mongod's (KeyString: type 130, then the Timestamp) give their time")
    func clusterTime() throws {
        // As SecantusDB sent it: {s: 2, t: Timestamp(1796035870, 7), n: "shop.orders", k: {_id: 1}}.
        let secantus: BSONDocument = [
            "_data": .string(
                "3b00000010730002000000117400070000001e550d6b026e000c00000073686f702e6f726465727300036b000e000000105f696400010000000000"
            )
        ]
        #expect(ChangeStreamPosition.clusterTime(of: secantus) == BSONTimestamp(seconds: 1_796_035_870, increment: 7))
        let mongod: BSONDocument = [
            "_data": .string("82" + Self.hex([0x6B, 0x0D, 0x55, 0x1E, 0, 0, 0, 7]) + "2B022C0100296E5A1004")
        ]
        #expect(ChangeStreamPosition.clusterTime(of: mongod) == BSONTimestamp(seconds: 1_796_035_870, increment: 7))
        #expect(ChangeStreamPosition.clusterTime(of: ["_data": .string("zz")]) == nil)
        #expect(ChangeStreamPosition.clusterTime(of: ["_data": .string("0102")]) == nil)
        #expect(ChangeStreamPosition.clusterTime(of: [:]) == nil)
    }

    @Test("an empty getMore is the end only at or past the end position, or when the token stopped moving")
    func caughtUp() throws {
        func token(_ seconds: UInt32, _ increment: UInt32) -> BSONDocument {
            [
                "_data": .string(
                    "82"
                        + ChangeStreamPositionTests.hex(
                            withUnsafeBytes(of: (UInt64(seconds) << 32 | UInt64(increment)).bigEndian, Array.init)))
            ]
        }
        let end = BSONTimestamp(seconds: 100, increment: 5)
        #expect(!ChangeStreamPosition.caughtUp(token: token(90, 1), previousEmpty: nil, end: end))
        #expect(!ChangeStreamPosition.caughtUp(token: token(95, 1), previousEmpty: token(90, 1), end: end))
        #expect(ChangeStreamPosition.caughtUp(token: token(95, 1), previousEmpty: token(95, 1), end: end))
        #expect(ChangeStreamPosition.caughtUp(token: token(100, 5), previousEmpty: nil, end: end))
        #expect(
            ChangeStreamPosition.caughtUp(
                token: ["_data": .string("opaque")], previousEmpty: ["_data": .string("opaque")], end: end))
        #expect(
            !ChangeStreamPosition.caughtUp(
                token: ["_data": .string("opaque2")], previousEmpty: ["_data": .string("opaque")], end: end))
        #expect(ChangeStreamPosition.caughtUp(token: nil, previousEmpty: nil, end: end))
    }
}
