import MongoPG
import Testing

@Suite("INIFile: sections, key = value lines, comments and bare lines")
struct INIFileTests {
    @Test("comments, blank lines, CR LF endings and spaces around = are ignored; values keep their inner = # ;")
    func syntax() throws {
        let text =
            "# leading comment\r\n\r\n[psql]\r\n  ; indented comment\r\n"
            + "conninfo =  host=h options='-c a=b' # not a comment \r\n\tempty =\r\n"
            + "[oplog:rs0]\nuri=mongodb://h/?a=b;c\n"
        let file = try INIFile(parsing: text, path: "/x.ini")
        #expect(file.sections.map(\.name) == ["psql", "oplog:rs0"])
        let psql = try #require(file.section("psql"))
        #expect(psql.line == 3)
        #expect(
            psql.entries == [
                .init(key: "conninfo", value: "host=h options='-c a=b' # not a comment", line: 5),
                .init(key: "empty", value: "", line: 6),
            ])
        #expect(file.section("oplog:rs0")?.entry("uri")?.value == "mongodb://h/?a=b;c")
    }

    @Test("bare lines are kept only in the sections that allow them")
    func bareLines() throws {
        let text = "[collections]\na.b\n  c.d  \n# e.f\n"
        let file = try INIFile(parsing: text, path: "/x.ini", bareLineSections: ["collections"])
        #expect(file.section("collections")?.bareLines == [.init(text: "a.b", line: 2), .init(text: "c.d", line: 3)])
        let error = try #require(throws: ConfigError.self) { try INIFile(parsing: text, path: "/x.ini") }
        #expect(error.kind == .syntax)
        #expect(error.line == 2)
        #expect(error.description.hasPrefix("configuration /x.ini:2: [collections]:"))
    }

    @Test("a key given twice names both lines")
    func duplicateKey() throws {
        let error = try #require(throws: ConfigError.self) {
            try INIFile(parsing: "[sync]\nbatch_size = 1\n\nbatch_size = 2\n", path: "/x.ini")
        }
        #expect(error.kind == .duplicateKey)
        #expect(error.line == 4)
        #expect(error.key == "batch_size")
        #expect(error.description == "configuration /x.ini:4: [sync] batch_size: key given twice (first on line 2)")
    }
}
