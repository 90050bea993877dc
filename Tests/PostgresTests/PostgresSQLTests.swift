import TestSupport
import Testing

@testable import MongoPG

@Suite("SQL quoting and COPY context parsing")
struct PostgresSQLTests {
    @Test(
        "identifiers are wrapped in double quotes with inner quotes doubled, spelling kept",
        arguments: [
            ("customers", "\"customers\""), ("numReviews", "\"numReviews\""), ("a\"b", "\"a\"\"b\""),
            ("", "\"\""), ("ünï code", "\"ünï code\""), ("\"", "\"\"\"\""),
        ])
    func quoteIdentifier(name: String, quoted: String) {
        #expect(PostgresSQL.quoteIdentifier(name) == quoted)
        #expect(PostgresSQL.quoteIdentifier(name) == Identifier.quoted(name))
    }

    @Test("a quote followed by a combining mark is still doubled, in identifiers and in literals")
    func quoteBeforeCombiningMark() {
        // Compared as bytes: the exact text the server gets.
        #expect(Array(PostgresSQL.quoteIdentifier("x\"\u{301}").utf8) == Array("\"x\"\"\u{301}\"".utf8))
        #expect(Array(PostgresSQL.quoteLiteral("x'\u{301}").utf8) == Array("'x''\u{301}'".utf8))
        #expect(Array(PostgresSQL.quoteLiteral("\\\u{301}").utf8) == Array(" E'\\\\\u{301}'".utf8))
    }

    @Test("a qualified name quotes both parts")
    func qualifiedName() {
        #expect(PostgresSQL.qualifiedName(schema: "my schema", "t\"1") == "\"my schema\".\"t\"\"1\"")
        #expect(PostgresSQL.qualifiedName(schema: nil, "t") == "\"t\"")
    }

    @Test(
        "literals double single quotes, and switch to E'' when a backslash occurs",
        arguments: [("it's", "'it''s'"), ("plain", "'plain'"), ("a\\b'", " E'a\\\\b'''")])
    func quoteLiteral(text: String, quoted: String) {
        #expect(PostgresSQL.quoteLiteral(text) == quoted)
    }

    @Test(
        "the COPY line comes from the server's CONTEXT",
        arguments: [
            ("COPY t, line 3, column id: \"x\"", nil, 3), ("COPY big, line 100000", "big", 100_000),
            ("SQL function \"f\"\nCOPY odd, line 9, line 12, column a: \"\"", "odd, line 9", 12),
            ("COPY t, line 4, column a, line 7: \"\"", "t", 4), ("PL/pgSQL function", "t", nil),
        ] as [(String, String?, Int?)])
    func copyLine(context: String, relation: String?, line: Int?) {
        #expect(PGConnection.copyLine(fromContext: context, relation: relation) == line)
    }

    @Test("a table whose name holds \", line \" still gets the right COPY line", .tags(.integration))
    func oddTableName() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.qualifiedName(schema: schema, "odd, line 9")
            try await session.execute("CREATE TABLE \(table) (id int)", purpose: "create")
            var data: [UInt8]? = Array("1\n2\n3\n4\n5\nsix\n".utf8)
            let error = try await #require(throws: PostgresError.self) {
                try await session.copyIn(
                    schema: schema, table: "odd, line 9", columns: ["id"], purpose: "load odd",
                    chunks: {
                        defer { data = nil }
                        return data
                    })
            }
            #expect(error.line == 6)
            #expect(error.table == "\(schema).odd, line 9")
        }
    }
}
