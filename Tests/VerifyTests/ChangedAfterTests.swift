import Testing

@testable import MongoPG

/// `ChangedAfter`: which documents a later oplog command took away all at once.
@Suite("Verification: changes after a position")
struct ChangedAfterTests {
    let orders = Namespace(database: "shop", collection: "orders")

    @Test("drop, dropDatabase and the source of a rename change every document of their collections; others none")
    func commands() throws {
        let order = try DocumentKey(orders, .int32(7))
        let customer = try DocumentKey(Namespace(database: "shop", collection: "customers"), .int32(7))
        let elsewhere = try DocumentKey(Namespace(database: "crm", collection: "orders"), .int32(7))

        var changed = ChangedAfter()
        changed.addCommand(database: "shop", ["createIndexes": .string("orders")])
        changed.addCommand(database: "shop", ["collMod": .string("orders")])
        #expect(!changed.contains(order))
        var replaced = ChangedAfter()
        replaced.addCommand(
            database: "admin",
            ["renameCollection": .string("shop.tmp"), "to": .string("shop.orders"), "dropTarget": .bool(true)])
        #expect(replaced.contains(order), "a rename onto the collection replaces its documents")

        changed.addCommand(database: "shop", ["drop": .string("orders")])
        #expect(changed.contains(order) && !changed.contains(customer))

        var renamed = ChangedAfter()
        renamed.addCommand(database: "admin", ["renameCollection": .string("shop.orders"), "to": .string("shop.x")])
        #expect(renamed.contains(order) && !renamed.contains(customer))

        var dropped = ChangedAfter()
        dropped.addCommand(database: "shop", ["dropDatabase": .int32(1)])
        #expect(dropped.contains(order) && dropped.contains(customer) && !dropped.contains(elsewhere))

        var documents = ChangedAfter()
        documents.documents.insert(customer)
        documents.formUnion(renamed)
        #expect(documents.contains(customer) && documents.contains(order) && !documents.contains(elsewhere))
    }
}
