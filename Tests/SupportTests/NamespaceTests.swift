import MongoPG
import Testing

/// Namespaces a user names follow MongoDB's naming restrictions, and none can lead a file out of its folder; the
/// server's own (oplog entries) still parse.
@Suite("Namespace: what a user may name")
struct NamespaceTests {
    @Test(
        "a namespace MongoDB forbids, or one that would name a path, is refused with its reason",
        arguments: [
            ("x/../../esc", "cannot contain"), ("il.x/../../esc", "cannot contain /"),
            ("db.", "collection name is empty"),
            (".c", "database name is empty"), ("a b.c", "cannot contain ` `"), ("a*b.c", "cannot contain `*`"),
            ("d.c$x", "cannot contain $"), ("d.system.views", "system."), ("d.a\0b", "NUL"), ("nodot", "DB.COLL"),
            (String(repeating: "d", count: 64) + ".c", "64 bytes"), ("d." + String(repeating: "c", count: 254), "255"),
        ])
    func refused(text: String, reason: String) {
        #expect(Namespace(argument: text) == nil)
        #expect(Namespace(userGiven: text) == nil)
        #expect(Namespace.problem(with: text)?.contains(reason) == true, "\(Namespace.problem(with: text) ?? "nil")")
    }

    @Test("ordinary names pass; the server's own namespaces still parse where it writes them")
    func accepted() {
        let longest = "d." + String(repeating: "c", count: 253)
        for text in ["sample_analytics.customers", "db.a.b.c", "_x.Ümlaut", longest] {
            #expect(Namespace(argument: text)?.description == text)
        }
        #expect(Namespace("config.system.sessions")?.collection == "system.sessions")
        #expect(Namespace("admin.$cmd")?.collection == "$cmd")
    }
}
