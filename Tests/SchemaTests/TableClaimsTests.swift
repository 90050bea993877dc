import MongoPG
import TestSupport
import Testing

@Suite("Table claims: two collections never share a table of one target schema")
struct TableClaimsTests {
    static let customers = #"{"_id": "objectId", "accounts": ["int"], "orders": [{"items": ["string"]}]}"#

    @Test("a collection meeting another's root or child table is named with both sources; distinct tables pass")
    func collisions() throws {
        var claims = TableClaims()
        claims.add(try SchemaFixtures.plan(Self.customers, namespace: "a.customers"), source: "schemas/a.json")
        claims.add(
            try SchemaFixtures.plan(#"{"_id": "int"}"#, namespace: "b.customers_orders_items"), source: "schemas/b.json"
        )
        claims.add(try SchemaFixtures.plan(#"{"_id": "int"}"#, namespace: "c.customers"), source: "schemas/c.json")
        claims.add(try SchemaFixtures.plan(#"{"_id": "int"}"#, namespace: "d.other"), source: "schemas/d.json")

        let child = claims.collisions(of: Namespace("b.customers_orders_items")!)
        #expect(
            child == [
                #"table "customers_orders_items" is claimed by both b.customers_orders_items (its root table, "#
                    + #"schemas/b.json) and a.customers (the table of $.orders[*].items, schemas/a.json)"#
            ])
        let root = claims.collisions(of: Namespace("a.customers")!)
        #expect(root.count == 2, "a.customers meets c.customers' root and b's root: \(root)")
        #expect(claims.collisions(of: Namespace("d.other")!).isEmpty)
        let error = try #require(claims.error(for: Namespace("c.customers")!, targetSchema: "public"))
        #expect(error.exitStatus == .configError)
        #expect(error.description.contains("`c.customers = <table>`"))
    }
}
