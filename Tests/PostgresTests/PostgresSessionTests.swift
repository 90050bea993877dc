import Foundation
import Logging
import MongoPG
import TestSupport
import Testing

@Suite("PostgresSession against a real server", .tags(.integration))
struct PostgresSessionTests {
    @Test("a parameterised query round-trips NULLs, quotes and unicode unchanged")
    func parameterRoundTrip() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let values: [String?] = [
                "it's \"quoted\"; DROP TABLE x; --", nil, "ünïcødé 🐘 中文", "", "back\\slash",
            ]
            let echoed = try await session.query(
                "SELECT $1::text AS a, $2::text AS b, $3::text AS c, $4::text AS d, $5::text AS e",
                parameters: values, purpose: "echo parameters")
            #expect(echoed.columns == ["a", "b", "c", "d", "e"])
            #expect(echoed.rows == [values])

            let table = PostgresSQL.qualifiedName(schema: schema, "we\"ird Table")
            try await session.execute("CREATE TABLE \(table) (id int PRIMARY KEY, \"vAlue\" text)", purpose: "create")
            for (id, value) in values.enumerated() {
                try await session.query(
                    "INSERT INTO \(table) VALUES ($1, $2)", parameters: [String(id), value], purpose: "insert")
            }
            let stored = try await session.query("SELECT \"vAlue\" FROM \(table) ORDER BY id", purpose: "read back")
            #expect(stored.column("vAlue") == values)
            let updated = try await session.query(
                "UPDATE \(table) SET \"vAlue\" = $1 WHERE id >= $2", parameters: ["x", "3"], purpose: "update")
            #expect(updated.affectedRows == 2)
            #expect(try await session.query("SELECT count(*) FROM \(table)", purpose: "count").scalar == "5")
        }
    }

    @Test("a failing statement reports its SQLSTATE and purpose, and the session stays usable")
    func failingStatement() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let missing = PostgresSQL.qualifiedName(schema: schema, "no_such_table")
            let error = try await #require(throws: PostgresError.self) {
                try await session.query("SELECT * FROM \(missing)", purpose: "read the missing table")
            }
            #expect(error.kind == .statement)
            #expect(error.sqlState == "42P01")
            #expect(error.description.contains("read the missing table"))
            #expect(error.description.contains("42P01"))
            #expect(error.exitStatus == .internalError)

            let division = try await #require(throws: PostgresError.self) {
                try await session.execute("SELECT 1/0", purpose: "divide")
            }
            #expect(division.sqlState == "22012")
            #expect(division.exitStatus == .dataError)
            #expect(try await session.query("SELECT 1", purpose: "still usable").scalar == "1")
        }
    }

    @Test("execute runs several statements in one call")
    func severalStatements() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.qualifiedName(schema: schema, "t")
            try await session.execute(
                "CREATE TABLE \(table) (id int); INSERT INTO \(table) VALUES (1), (2);", purpose: "create and fill")
            #expect(try await session.query("SELECT sum(id) FROM \(table)", purpose: "sum").scalar == "3")
        }
    }

    @Test("withTransaction commits on success and rolls back when the body throws")
    func transactions() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.qualifiedName(schema: schema, "t")
            try await session.execute("CREATE TABLE \(table) (id int PRIMARY KEY)", purpose: "create")
            try await session.withTransaction(purpose: "insert one") { session in
                try session.execute("INSERT INTO \(table) VALUES (1)", purpose: "insert 1")
            }
            await #expect(throws: PostgresError.self) {
                try await session.withTransaction(purpose: "insert two") { session in
                    try session.execute("INSERT INTO \(table) VALUES (2)", purpose: "insert 2")
                    try session.execute("INSERT INTO \(table) VALUES (1)", purpose: "insert duplicate 1")
                }
            }
            #expect(
                try await session.query("SELECT string_agg(id::text, ',') FROM \(table)", purpose: "ids").scalar == "1")
        }
    }

    @Test("withAsyncTransaction commits awaited work, and rolls back a throwing body, a failed COMMIT and a cancel")
    func asyncTransactions() async throws {
        try await PostgresServer.withScratchSchema("pgtest", created: true) { session, schema in
            let table = PostgresSQL.qualifiedName(schema: schema, "t")
            try await session.execute(
                "CREATE TABLE \(table) (id int PRIMARY KEY, other int UNIQUE DEFERRABLE INITIALLY DEFERRED)",
                purpose: "create")
            func ids() async throws -> String? {
                try await session.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM \(table)", purpose: "ids")
                    .scalar
            }
            let answer = try await session.withAsyncTransaction(purpose: "insert one") {
                try await session.execute("INSERT INTO \(table) VALUES (1, 1)", purpose: "insert 1")
                try await Task.sleep(for: .milliseconds(1))
                return 42
            }
            #expect(answer == 42)

            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await session.withAsyncTransaction(purpose: "insert two") {
                    try await session.execute("INSERT INTO \(table) VALUES (2, 2)", purpose: "insert 2")
                    throw Refused()
                }
            }
            // The deferred UNIQUE check fails at COMMIT, after the body returned.
            await #expect(throws: PostgresError.self) {
                try await session.withAsyncTransaction(purpose: "insert three") {
                    try await session.execute("INSERT INTO \(table) VALUES (3, 1)", purpose: "insert 3")
                }
            }
            let (inserted, signal) = AsyncStream<Void>.makeStream()
            let cancelled = Task {
                try await session.withAsyncTransaction(purpose: "insert four") {
                    try await session.execute("INSERT INTO \(table) VALUES (4, 4)", purpose: "insert 4")
                    signal.yield()
                    try await Task.sleep(for: .seconds(60))
                }
            }
            for await _ in inserted { break }
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            #expect(try await ids() == "1")
        }
    }

    @Test("server notices and warnings reach the logger")
    func notices() async throws {
        let (logger, record) = RecordingLogHandler.logger()
        try await PostgresServer.withScratchSchema("pgtest", created: true, logger: logger) { session, _ in
            try await session.execute(
                "DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful: %', 'disk'; END $$", purpose: "notice")
        }
        let entries = record.all
        #expect(entries.contains(.init(level: .debug, message: "hello 42")))
        #expect(entries.contains(.init(level: .warning, message: "careful: disk")))
    }

    @Test("a conninfo key=value string is accepted as well as a URI")
    func keyValueConninfo() async throws {
        let uri = try #require(URLComponents(string: try PostgresServer.conninfo))
        let conninfo =
            "host=\(uri.host ?? "127.0.0.1") port=\(uri.port ?? 5432) user=\(uri.user ?? "sync") dbname=postgres"
        let session = PostgresSession(name: "kv", logger: PostgresServer.quietLogger)
        try await session.connect(conninfo: conninfo, password: PostgresServer.password)
        #expect(try await session.query("SELECT current_user", purpose: "who").scalar == (uri.user ?? "sync"))
    }

    @Test("a session that is not connected fails with .connect")
    func notConnected() async throws {
        let session = PostgresSession(name: "idle", logger: PostgresServer.quietLogger)
        let error = try await #require(throws: PostgresError.self) {
            try await session.execute("SELECT 1", purpose: "run without connecting")
        }
        #expect(error.kind == .connect)
    }
}

@Suite("Cancelling a running statement", .tags(.integration))
struct PostgresCancelTests {
    @Test("cancelling the task stops a long statement with SQLSTATE 57014 and the session stays usable")
    func cancelTask() async throws {
        let session = try await PostgresServer.session("cancel")
        let clock = ContinuousClock()
        let start = clock.now
        // As the loaders do: a task cancelled mid-statement sends the server a cancel request.
        let task = Task {
            try await withTaskCancellationHandler {
                try await session.execute("SELECT pg_sleep(120)", purpose: "sleep")
            } onCancel: {
                session.cancelRunningStatement()
            }
        }
        // Cancel only once the server runs the sleep: a cancel request before the statement starts is a no-op by
        // design, and on a loaded machine the statement may take a while to be sent.
        let observer = try await PostgresServer.session("cancel-observer")
        var running = false
        for _ in 0..<200 where !running {
            let count = try await observer.query(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(120)'",
                purpose: "see the sleep running"
            ).scalar
            running = count == "1"
            if !running { try await Task.sleep(for: .milliseconds(50)) }
        }
        await observer.close()
        #expect(running)
        task.cancel()
        let error = try await #require(throws: PostgresError.self) { try await task.value }
        #expect(error.sqlState == "57014")
        #expect(error.description.contains("sleep"))
        #expect(clock.now - start < .seconds(60), "the statement was cancelled, not waited out")
        #expect(try await session.query("SELECT 1", purpose: "still usable").scalar == "1")
        await session.close()
        #expect(session.cancelRunningStatement() == false)
    }
}
