import Testing

@testable import MongoPG

@Suite("A batch's changes folded per document")
struct ChangeSetTests {
    static let customers = Namespace(database: "shop", collection: "customers")

    static func fold(_ changes: [OplogChange]) throws -> ChangeSet {
        var set = ChangeSet()
        for change in changes { try set.add(change) }
        return set
    }

    @Test("an insert or a replacement needs no stored state; updates after it apply in order")
    func known() throws {
        let set = try Self.fold([
            .insert(Self.customers, ["_id": .int32(1), "a": .int32(1)]),
            .update(Self.customers, id: .int32(1), try DocumentUpdate(["$set": .document(["a": .int32(2)])])),
            .update(Self.customers, id: .int32(1), try DocumentUpdate(["$set": .document(["b": .int32(3)])])),
            .update(Self.customers, id: .int32(2), .replacement(["_id": .int32(2), "r": .bool(true)])),
        ])
        #expect(set.idsNeedingStoredState.isEmpty)
        let outcomes = try set.outcomes { _, _ in
            Issue.record("no stored state is needed")
            return nil
        }
        #expect(
            outcomes.map(\.document) == [
                ["_id": .int32(1), "a": .int32(2), "b": .int32(3)], ["_id": .int32(2), "r": .bool(true)],
            ])
        #expect(outcomes.allSatisfy { $0.exact })
    }

    @Test("updates of a document first met in the batch start from the stored state, once per batch")
    func stored() throws {
        let set = try Self.fold([
            .update(Self.customers, id: .int32(1), try DocumentUpdate(["$set": .document(["a": .int32(2)])])),
            .update(Self.customers, id: .int32(2), try DocumentUpdate(["$set": .document(["a": .int32(2)])])),
            .update(Self.customers, id: .int32(1), try DocumentUpdate(["$unset": .document(["z": .int32(1)])])),
        ])
        #expect(set.idsNeedingStoredState == [Self.customers: [.int32(1), .int32(2)]])
        let outcomes = try set.outcomes { _, id in id == .int32(1) ? ["_id": .int32(1), "z": .int32(0)] : nil }
        #expect(
            outcomes == [
                .init(
                    namespace: Self.customers, id: .int32(1), document: ["_id": .int32(1), "a": .int32(2)], exact: true),
                .init(namespace: Self.customers, id: .int32(2), document: nil, exact: false),
            ])
    }

    @Test("a delete ends a document; a drop ends every document of the collection, and later inserts start afresh")
    func deleteAndDrop() throws {
        let set = try Self.fold([
            .insert(Self.customers, ["_id": .int32(1)]),
            .delete(Self.customers, id: .int32(1)),
            .insert(Self.customers, ["_id": .int32(2)]),
            .dropCollection(Self.customers),
            .update(Self.customers, id: .int32(3), try DocumentUpdate(["$set": .document(["a": .int32(1)])])),
            .insert(Self.customers, ["_id": .int32(4)]),
        ])
        #expect(set.emptied == [Self.customers])
        #expect(set.idsNeedingStoredState.isEmpty, "after the drop the collection is known to be empty")
        let outcomes = try set.outcomes { _, _ in nil }
        #expect(outcomes.map(\.document) == [nil, nil, nil, ["_id": .int32(4)]])
    }
}
