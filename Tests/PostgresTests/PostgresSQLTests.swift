@testable import MongoPG
import Testing

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
            ("COPY t, line 3, column id: \"x\"", 3), ("COPY big, line 100000", 100_000),
            ("SQL function \"f\"\nCOPY \"odd, line 9\", line 12, column a: \"\"", 9), ("PL/pgSQL function", nil),
        ] as [(String, Int?)])
    func copyLine(context: String, line: Int?) {
        #expect(PGConnection.copyLine(fromContext: context) == line)
    }
}
