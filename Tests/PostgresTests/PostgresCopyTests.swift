import Foundation
import MongoPG
import TestSupport
import Testing

@Suite("COPY FROM STDIN", .tags(.integration))
struct PostgresCopyTests {
    @Test("100,000 rows streamed in chunks that cut lines anywhere are all loaded and counted")
    func hundredThousandRows() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            try await session.execute(
                "CREATE TABLE \(PostgresSQL.qualifiedName(schema: schema, "big")) (id int, name text, n bigint)",
                purpose: "create")
            let loaded = try await session.withTransaction(purpose: "load big") { session in
                let source = GeneratedCopySource(rows: 100_000, sliceSize: 64 * 1024 + 7)
                return try session.copyIn(
                    schema: schema, table: "big", columns: ["id", "name", "n"], purpose: "load big",
                    chunks: source.next)
            }
            #expect(loaded == 100_000)
            let big = PostgresSQL.qualifiedName(schema: schema, "big")
            let check = try await session.query(
                "SELECT count(*), sum(id), count(DISTINCT name), max(n) FROM \(big)", purpose: "check")
            #expect(check.rows == [["100000", "4999950000", "100000", "\(99_999 * 1_000_003)"]])
        }
    }

    @Test("a rejected row is .copy with the table and its 1-based line, and the table keeps its earlier rows")
    func badRow() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.qualifiedName(schema: schema, "t")
            try await session.execute("CREATE TABLE \(table) (id int, label text)", purpose: "create")
            try await session.execute(
                "INSERT INTO \(table) SELECT g, 'before' FROM generate_series(1, 5) g", purpose: "seed")
            let data = "10\tten\n11\televen\ntwelve\toops\n13\tthirteen\n"
            let error = try await #require(throws: PostgresError.self) {
                try await session.withTransaction(purpose: "load t") { session in
                    var chunks = [Array(data.utf8.prefix(9)), Array(data.utf8.dropFirst(9))]  // cut inside line 2
                    try session.execute("INSERT INTO \(table) VALUES (6, 'inside')", purpose: "insert before copy")
                    return try session.copyIn(
                        schema: schema, table: "t", columns: ["id", "label"], purpose: "load table t",
                        chunks: { chunks.isEmpty ? nil : chunks.removeFirst() })
                }
            }
            #expect(error.kind == .copy)
            #expect(error.table == "\(schema).t")
            #expect(error.line == 3)
            #expect(error.sqlState == "22P02")
            #expect(error.exitStatus == .dataError)
            #expect(error.description.contains("(table \(schema).t, line 3)"))
            #expect(error.description.contains("load table t"))
            let rows = try await session.query("SELECT count(*), max(label) FROM \(table)", purpose: "check unchanged")
            #expect(rows.rows == [["5", "before"]])
        }
    }

    @Test("a file is loaded in chunks, as text or as CSV with a header")
    func fromFile() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.qualifiedName(schema: schema, "f")
            try await session.execute("CREATE TABLE \(table) (id int, label text, note text)", purpose: "create")
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgtest-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }

            let text = directory.appendingPathComponent("f.tsv")
            try Data("1\tone\t\\N\n2\ttwo, \"2\"\tnote\\ttab\n".utf8).write(to: text)
            let fromText = try await session.copyIn(
                schema: schema, table: "f", columns: ["id", "label", "note"], purpose: "load text",
                fromFile: text.path, chunkSize: 5)
            #expect(fromText == 2)

            let csv = directory.appendingPathComponent("f.csv")
            try Data("id,label,note\n3,\"three, \"\"3\"\"\",\n4,ünï,\"multi\nline\"\n".utf8).write(to: csv)
            let fromCSV = try await session.copyIn(
                schema: schema, table: "f", columns: ["id", "label", "note"], format: .csv(header: true),
                purpose: "load csv", fromFile: csv.path)
            #expect(fromCSV == 2)

            let rows = try await session.query(
                "SELECT id::text, label, note FROM \(table) ORDER BY id", purpose: "read")
            #expect(
                rows.rows == [
                    ["1", "one", nil], ["2", "two, \"2\"", "note\ttab"], ["3", "three, \"3\"", nil],
                    ["4", "ünï", "multi\nline"],
                ])
        }
    }

    @Test("a CSV error line counts the header and quoted newlines as the server does")
    func csvErrorLine() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            try await session.execute(
                "CREATE TABLE \(PostgresSQL.qualifiedName(schema: schema, "c")) (id int, note text)", purpose: "create")
            var data: [UInt8]? = Array("id,note\n1,a\n2,b\nthree,c\n".utf8)
            let error = try await #require(throws: PostgresError.self) {
                try await session.copyIn(
                    schema: schema, table: "c", columns: ["id", "note"], format: .csv(header: true),
                    purpose: "load csv",
                    chunks: {
                        defer { data = nil }
                        return data
                    })
            }
            #expect(error.kind == .copy)
            #expect(error.line == 4)
        }
    }

    @Test("a missing file is an I/O error (exit 74) and the session stays usable")
    func missingFile() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            try await session.execute(
                "CREATE TABLE \(PostgresSQL.qualifiedName(schema: schema, "m")) (id int)", purpose: "create")
            let error = await #expect(throws: GeneralError.self) {
                try await session.copyIn(
                    schema: schema, table: "m", columns: ["id"], purpose: "load m", fromFile: "/nonexistent/m.tsv")
            }
            #expect(error?.exitStatus == .ioError)
            #expect(error?.description.contains("/nonexistent/m.tsv: No such file or directory") == true)
            #expect(try await session.query("SELECT 1", purpose: "still usable").scalar == "1")
        }
    }

    @Test("an error thrown by the chunk source aborts the COPY, is rethrown, and loads nothing")
    func sourceFailure() async throws {
        struct SourceBroke: Error {}
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.qualifiedName(schema: schema, "s")
            try await session.execute("CREATE TABLE \(table) (id int)", purpose: "create")
            var sent = false
            await #expect(throws: SourceBroke.self) {
                try await session.copyIn(
                    schema: schema, table: "s", columns: ["id"], purpose: "load s",
                    chunks: {
                        if sent { throw SourceBroke() }
                        sent = true
                        return Array("1\n2\n".utf8)
                    })
            }
            #expect(try await session.query("SELECT count(*) FROM \(table)", purpose: "count").scalar == "0")
        }
    }
}

/// Pulls `rows` generated text-format lines in slices of `sliceSize` bytes, cutting lines anywhere, as a large file
/// read in chunks would; never holds more than one slice plus one line.
final class GeneratedCopySource {
    private let rows: Int
    private let sliceSize: Int
    private var nextRow = 0
    private var pending: [UInt8] = []

    init(rows: Int, sliceSize: Int) {
        self.rows = rows
        self.sliceSize = sliceSize
    }

    func next() -> [UInt8]? {
        while pending.count < sliceSize, nextRow < rows {
            pending += Array("\(nextRow)\tname \(nextRow)\t\(Int64(nextRow) * 1_000_003)\n".utf8)
            nextRow += 1
        }
        guard !pending.isEmpty else { return nil }
        let slice = Array(pending.prefix(sliceSize))
        pending.removeFirst(slice.count)
        return slice
    }
}
