import Foundation
import MongoPG
import TestSupport
import Testing

/// One hostile case for the real binaries (issue 9): what is set up, which tool runs, the exit status and the
/// message it must end with, what must not show, and what must not exist afterwards. Later tools add their rows to
/// `hostileCases`.
struct HostileCase: Sendable, CustomTestStringConvertible {
    /// One run of a tool: the arguments after `--config`, where `{dir}` is the scene's folder, `{ns}` its namespace
    /// and `{csv}` its CSV folder.
    struct Run: Sendable {
        var tool: String
        var arguments: [String]
        init(_ tool: String, _ arguments: [String]) {
            self.tool = tool
            self.arguments = arguments
        }
    }

    var name: String
    /// Runs that must succeed first (a read before a copy).
    var before: [Run] = []
    var run: Run
    var status: Int32
    /// Each must be in stderr.
    var patterns: [String]
    /// None may be in stderr or stdout.
    var forbidden: [String] = []
    /// stderr holds exactly this many lines (a refusal is one line, the tool's, with nothing logged before it).
    var stderrLines: Int? = nil
    /// Files written into the scene's folder first, by relative path.
    var files: [String: [UInt8]] = [:]
    /// Symbolic links made in the scene's folder first: relative path -> target.
    var links: [String: String] = [:]
    /// Rewrites the configuration file's text first.
    var config: (@Sendable (String) -> String)? = nil
    /// The schema file's text, instead of the sample customers'.
    var schema: String? = nil
    /// Paths relative to the scene's folder that must not exist afterwards.
    var absent: [String] = []
    /// stdout goes to /dev/full.
    var fullStandardOutput = false
    /// The run must end within this many seconds (it is killed after twice as long).
    var seconds: Double = 60
    /// Sets the scene up after its files and configuration, before `before` (an init load, state edited by hand).
    var prepare: (@Sendable (InitLoadFixture) async throws -> Void)? = nil
    /// Each must be in stdout (`etlstatus check` speaks there).
    var stdoutPatterns: [String] = []

    var testDescription: String { name }
}

/// `line` replaces every configuration line starting with `key =`.
private func replacing(_ key: String, with line: String) -> @Sendable (String) -> String {
    { text in
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("\(key) =") ? line : String($0) }.joined(separator: "\n")
    }
}

/// The scene loaded (a whole init load), `syncFirst`: synced once, then each of `statements` run on PostgreSQL
/// with `{state}` and `{target}` naming the scene's schemas, then `change` made in MongoDB (for the sync to replay).
private func loaded(
    syncFirst: Bool = false, _ statements: [String] = [],
    change: (@Sendable (InitLoadFixture, OplogSyncFixture.Writer) async throws -> Void)? = nil
) -> @Sendable (InitLoadFixture) async throws -> Void {
    { scene in
        try await scene.initLoad()
        if syncFirst { _ = try await OplogSyncFixture.sync(scene) }
        try await PostgresServer.withSession { session in
            for statement in statements {
                try await session.execute(
                    statement.replacingOccurrences(of: "{state}", with: PostgresSQL.quoteIdentifier(scene.stateSchema))
                        .replacingOccurrences(of: "{target}", with: PostgresSQL.quoteIdentifier(scene.targetSchema)),
                    purpose: "set the hostile case up")
            }
        }
        if let change {
            let mongo = try MongoSession(uri: try ServerEnvironment.shared.mongoURI())
            try await change(scene, OplogSyncFixture.Writer(session: mongo, namespace: scene.namespace))
        }
    }
}

/// A new username for the scene's first document: an update for oplog-sync to replay.
private let renameFirst: @Sendable (InitLoadFixture, OplogSyncFixture.Writer) async throws -> Void = { scene, writer in
    try await writer.update(
        ["_id": scene.documents[0]["_id"] ?? .null], .document(["$set": .document(["username": .string("renamed")])]))
}

/// `rs0`'s sync point set by hand to `packed` (the bigint it is stored as).
private func syncPointSQL(_ packed: String) -> String {
    """
    INSERT INTO {state}.sync_points (source, oplog_ts) VALUES ('rs0', \(packed))
    ON CONFLICT (source) DO UPDATE SET oplog_ts = excluded.oplog_ts
    """
}

/// The scene's MongoDB read as `rs0`, a change stream source.
private let changeStreamSource: @Sendable (String) -> String = { text in
    let uri = text.split(separator: "\n").first { $0.hasPrefix("uri = ") } ?? ""
    return text + "\n[oplog:rs0]\n\(uri)\nmode = changestream\n"
}

private func lines(_ lines: String...) -> [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }

private let goodLine = #"{"_id": {"$oid": "5ca4bbcea2dd94ee58162a68"}, "username": "ok"}"#

/// `{"d": {"d": ... {"v": 1}}}`, nested `nesting` levels below the document itself.
private func nested(_ nesting: Int) -> BSONDocument {
    var document: BSONDocument = ["v": .int32(1)]
    for _ in 0..<(nesting - 1) { document = ["d": .document(document)] }
    return ["_id": .objectID(ObjectID(hex: "5ca4bbcea2dd94ee58162a69")!), "d": .document(document)]
}

/// Nested 101 levels below the line's document (the `d` of `{"_id": 1, "d": ...}` is the first).
private let deepJSON = String(repeating: #"{"d": "#, count: 100) + #"{"v": 1}"# + String(repeating: "}", count: 100)
private let wideSchema =
    "{\"_id\": \"objectId\", \"wide\": {"
    + (0...TablePlan.maximumColumns).map { "\"f\($0)\": \"int\"" }.joined(separator: ", ") + "}}"

let hostileCases: [HostileCase] = [
    // Input files that are not regular files are refused at once.
    HostileCase(
        name: "mongo-reader --input-file /dev/zero", run: .init("mongo-reader", ["--input-file", "/dev/zero"]),
        status: 74, patterns: ["/dev/zero", "character device", "must be a regular file"], seconds: 5),
    HostileCase(
        name: "mongo-schema --input-file, a symbolic link to /dev/zero",
        run: .init("mongo-schema", ["--input-file", "{dir}/zero.bson"]), status: 74,
        patterns: ["zero.bson", "must be a regular file"], links: ["zero.bson": "/dev/zero"], seconds: 5),
    HostileCase(
        name: "mongo-reader --input-file, a folder", run: .init("mongo-reader", ["--input-file", "{dir}/schemas"]),
        status: 74, patterns: ["a folder", "must be a regular file"], seconds: 5),

    // Extended JSON that libbson would read wrong.
    HostileCase(
        name: "an integer beyond 64 bits in Extended JSON (mongo-reader)",
        run: .init("mongo-reader", ["--input-file", "{dir}/big.json"]), status: 65,
        patterns: ["line 2", "integer 18446744073709551617 at nested.n does not fit in 64 bits"],
        files: ["big.json": lines(goodLine, #"{"_id": 2, "nested": {"n": 18446744073709551617}}"#)],
        absent: ["csv/{ns}/manifest.json"]),
    HostileCase(
        name: "an integer beyond 64 bits in Extended JSON (mongo-schema)",
        run: .init("mongo-schema", ["--input-file", "{dir}/big.json"]), status: 65,
        patterns: ["line 1", "integer 99999999999999999999999 at list.1 does not fit in 64 bits"],
        files: ["big.json": lines(#"{"_id": 1, "list": [1, 99999999999999999999999]}"#)]),
    HostileCase(
        name: "two documents on one line", run: .init("mongo-reader", ["--input-file", "{dir}/two.json"]),
        status: 65, patterns: ["line 2", "two documents on one line"],
        files: ["two.json": lines(goodLine, goodLine + " " + goodLine)], absent: ["csv/{ns}/manifest.json"]),
    HostileCase(
        name: "a top-level array line (mongo-schema)",
        run: .init("mongo-schema", ["--input-file", "{dir}/array.json"]),
        status: 65, patterns: ["line 1", "not an array"], files: ["array.json": lines("[1, 2, 3]")]),
    HostileCase(
        name: "Extended JSON nested 101 levels", run: .init("mongo-reader", ["--input-file", "{dir}/deep.json"]),
        status: 65, patterns: ["line 1", "nests deeper than 100 levels"],
        files: ["deep.json": lines(#"{"_id": 1, "d": "# + deepJSON + "}")]),
    HostileCase(
        name: "the same document as BSON, nested 101 levels",
        run: .init("mongo-reader", ["--input-file", "{dir}/deep.bson"]), status: 65,
        patterns: ["nests deeper than 100 levels"],
        files: ["deep.bson": (try? BSONEncoder.encode(nested(101))) ?? []]),

    // Namespaces that would leave their folders.
    HostileCase(
        name: "mongo-reader --collection escaping --csv-dir",
        run: .init("mongo-reader", ["--collection", "il.x/../../esc", "--csv-dir", "{csv}"]), status: 64,
        patterns: ["--collection", "a collection name cannot contain /"], absent: ["esc", "csv"]),
    HostileCase(
        name: "psql-copy --collection escaping --csv-dir",
        run: .init("psql-copy", ["--collection", "il.x/../../esc", "--csv-dir", "{csv}"]), status: 64,
        patterns: ["--collection", "a collection name cannot contain /"]),
    HostileCase(
        name: "mongo-schema --collection with a database name MongoDB forbids",
        run: .init("mongo-schema", ["--collection", "a/b.c", "--input-file", "{dir}/one.json"]), status: 64,
        patterns: ["--collection", "a database name cannot contain `/`"], files: ["one.json": lines(goodLine)]),
    HostileCase(
        name: "[collections] escaping its folder", run: .init("etlstatus", ["init-load-status"]), status: 78,
        patterns: ["sync.ini:17: [collections] il.x/../../esc:", "cannot contain /"],
        config: { $0 + "\nil.x/../../esc\n" }),

    // Connection settings checked by their own parsers when the file loads, by every tool.
    HostileCase(
        name: "a conninfo keyword libpq does not know (mongo-reader)", run: .init("mongo-reader", []), status: 78,
        patterns: ["sync.ini:6: [psql] conninfo:", "libpq", "colour"],
        config: replacing("conninfo", with: "conninfo = host=127.0.0.1 colour=blue")),
    HostileCase(
        name: "a conninfo keyword libpq does not know (psql-copy)", run: .init("psql-copy", []), status: 78,
        patterns: ["sync.ini:6: [psql] conninfo:", "colour"],
        config: replacing("conninfo", with: "conninfo = host=127.0.0.1 colour=blue")),
    HostileCase(
        name: "a conninfo keyword libpq does not know (etlstatus)", run: .init("etlstatus", ["init-load-status"]),
        status: 78, patterns: ["sync.ini:6: [psql] conninfo:", "colour"],
        config: replacing("conninfo", with: "conninfo = host=127.0.0.1 colour=blue")),
    HostileCase(
        name: "a MongoDB URI with port 99999 (etlstatus)", run: .init("etlstatus", ["init-load-status"]),
        status: 78, patterns: ["sync.ini:3: [mongo] uri:", "libmongoc"], forbidden: ["hunter2-secret"],
        stderrLines: 1, config: replacing("uri", with: "uri = mongodb://reader:hunter2-secret@127.0.0.1:99999/")),
    HostileCase(
        name: "a MongoDB URI with port 99999 (etlstatus lag): one line, ours, with libmongoc's detail",
        run: .init("etlstatus", ["lag"]), status: 78,
        patterns: ["sync.ini:3: [mongo] uri: libmongoc refuses it:", "Port could not be parsed"], stderrLines: 1,
        config: replacing("uri", with: "uri = mongodb://127.0.0.1:99999/")),
    HostileCase(
        name: "a MongoDB URI with port 99999 (mongo-reader)", run: .init("mongo-reader", []), status: 78,
        patterns: ["sync.ini:3: [mongo] uri:"], forbidden: ["hunter2-secret"], stderrLines: 1,
        config: replacing("uri", with: "uri = mongodb://reader:hunter2-secret@127.0.0.1:99999/")),
    HostileCase(
        name: "a MongoDB URI with port 99999 (psql-copy)", run: .init("psql-copy", []), status: 78,
        patterns: ["sync.ini:3: [mongo] uri:"], forbidden: ["hunter2-secret"], stderrLines: 1,
        config: replacing("uri", with: "uri = mongodb://reader:hunter2-secret@127.0.0.1:99999/")),
    HostileCase(
        name: "an [oplog:<name>] URI with port 99999", run: .init("etlstatus", ["init-load-status"]), status: 78,
        patterns: ["[oplog:rs9] uri:", "libmongoc"], stderrLines: 1,
        config: { $0 + "\n[oplog:rs9]\nuri = mongodb://h:99999/\n" }),
    HostileCase(
        name: "a connect_timeout that is no number", run: .init("psql-copy", []), status: 78,
        patterns: ["[psql] connect_timeout:"],
        config: replacing("password_env", with: "password_env = SYNC_TEST_PGPASSWORD\nconnect_timeout = soon")),
    HostileCase(
        name: "a distribute that is no choice", run: .init("psql-copy", []), status: 78,
        patterns: ["[psql] distribute:", "citus"], stderrLines: 1,
        config: replacing("password_env", with: "password_env = SYNC_TEST_PGPASSWORD\ndistribute = sharded")),
    HostileCase(
        name: "distribute = citus on a database without the citus extension (78, nothing loaded)",
        before: [.init("mongo-reader", ["--input-file", "{dir}/one.json"])], run: .init("psql-copy", []),
        status: 78, patterns: ["[psql] distribute = citus", "no citus extension"],
        files: ["one.json": lines(goodLine)],
        config: replacing("password_env", with: "password_env = SYNC_TEST_PGPASSWORD\ndistribute = citus")),

    // A result that cannot be written is an I/O error, not a success.
    HostileCase(
        name: "mongo-schema > /dev/full", run: .init("mongo-schema", ["--input-file", "{dir}/one.json"]),
        status: 74, patterns: ["standard output"], files: ["one.json": lines(goodLine)], fullStandardOutput: true),
    HostileCase(
        name: "mongo-reader --json > /dev/full",
        run: .init("mongo-reader", ["--input-file", "{dir}/one.json", "--json"]),
        status: 74, patterns: ["standard output"], files: ["one.json": lines(goodLine)], fullStandardOutput: true),

    // Schemas PostgreSQL cannot hold, refused before any reading.
    HostileCase(
        name: "a schema wider than 1600 columns", run: .init("mongo-reader", []), status: 78,
        patterns: ["table \"customers\" would have 1602 columns", "1600", "\"json\"", "$.wide"],
        schema: wideSchema, absent: ["csv/{ns}"]),

    // Outcomes PostgreSQL reports, mapped by SQLSTATE.
    HostileCase(
        name: "a duplicate _id in the data (23505 at the key build)",
        before: [.init("mongo-reader", ["--input-file", "{dir}/dup.json"])], run: .init("psql-copy", []),
        status: 65,
        patterns: [
            "{ns}: two documents share _id 5ca4bbcea2dd94ee58162a68 (table customers)",
            "the input holds a document twice",
        ],
        forbidden: ["could not create unique index", "is duplicated"], files: ["dup.json": lines(goodLine, goodLine)]),

    // State, users' objects and operators (issue 21).
    HostileCase(
        name: "etlstatus frobnicate --config x.ini names the subcommand, not --config",
        run: .init("etlstatus", ["frobnicate"]), status: 64,
        patterns: ["unknown subcommand 'frobnicate'", "init-load-start"], forbidden: ["Unknown option"],
        stderrLines: 1, seconds: 5),
    HostileCase(
        name: "a sync point set by hand far in the future: oplog-sync 65 naming it, before anything is read",
        run: .init("oplog-sync", []), status: 65,
        patterns: ["the sync point of rs0, Timestamp(2000000000, 0), is later than", "oplog-sync --resync"],
        prepare: loaded([syncPointSQL("2000000000::bigint << 32")], change: renameFirst)),
    HostileCase(
        name: "a sync point set by hand far in the future: etlstatus lag 65 naming it",
        run: .init("etlstatus", ["lag"]), status: 65,
        patterns: ["the sync point of rs0, Timestamp(2000000000, 0), is later than"],
        prepare: loaded([syncPointSQL("2000000000::bigint << 32")]), stdoutPatterns: ["BAD POSITION"]),
    HostileCase(
        name: "a sync point set by hand far in the future: etlstatus check CRITICAL naming it",
        run: .init("etlstatus", ["check"]), status: 2, patterns: [],
        prepare: loaded([syncPointSQL("2000000000::bigint << 32")]),
        stdoutPatterns: ["ETLSTATUS CRITICAL", "the sync point of rs0, Timestamp(2000000000, 0), is later than"]),
    HostileCase(
        name: "a negative sync point: oplog-sync 65, not a valid position",
        run: .init("oplog-sync", []), status: 65,
        patterns: ["the sync point of rs0, -5, is not a valid oplog position"],
        prepare: loaded([syncPointSQL("-5")])),
    HostileCase(
        name: "a user's trigger on a synced table that raises: 78 naming the trigger and the way out",
        run: .init("oplog-sync", []), status: 78,
        patterns: [
            "trigger refuse_writes on table {target}.customers", "no writes here", "DISABLE TRIGGER refuse_writes",
        ],
        prepare: loaded(
            [
                """
                CREATE FUNCTION {target}.refuse() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RAISE EXCEPTION 'no writes here'; END $$
                """,
                """
                CREATE TRIGGER refuse_writes BEFORE INSERT OR UPDATE OR DELETE ON {target}.customers
                FOR EACH ROW EXECUTE FUNCTION {target}.refuse()
                """,
            ], change: renameFirst)),
    HostileCase(
        name: "a synced column dropped by a user: 78 naming the column and the way out",
        run: .init("oplog-sync", []), status: 78,
        patterns: ["a column of a synced table is missing", "username", "etlstatus init-load-start --collection"],
        prepare: loaded(["ALTER TABLE {target}.customers DROP COLUMN username"], change: renameFirst)),
    HostileCase(
        name: "a change stream's resume token that is not BSON: 65 naming the source and --resync",
        run: .init("oplog-sync", []), status: 65,
        patterns: ["resume token of change stream source rs0", "is not a BSON document", "oplog-sync --resync"],
        config: changeStreamSource,
        prepare: loaded(
            syncFirst: true, ["UPDATE {state}.sync_points SET resume_token = '\\xdeadbeef'::bytea"],
            change: renameFirst)),
    HostileCase(
        name: "a change stream's resume token the server cannot read: 1 naming the source and --resync",
        run: .init("oplog-sync", []), status: 1,
        patterns: ["change stream of source rs0 cannot resume from its stored resume token", "oplog-sync --resync"],
        config: changeStreamSource,
        prepare: loaded(
            syncFirst: true,
            // {"x": 1} as BSON: a document, but no token.
            ["UPDATE {state}.sync_points SET resume_token = '\\x0c0000001078000100000000'::bytea"],
            change: renameFirst)),
    // Oplog files.
    HostileCase(
        name: "an oplog file whose first entry ends a transaction begun in no file read (prevOpTime)",
        before: [.init("mongo-reader", ["--input-file", "{dir}/dump.json"]), .init("psql-copy", [])],
        run: .init("oplog-sync", ["--from-file", "{dir}/orphan.bson"]), status: 65,
        patterns: [
            "ts Timestamp(9, 1)", "transaction lsid", "txnNumber 3", "its entry at Timestamp(8, 1) was not read",
            "refused rather than applying part of the transaction",
        ],
        stderrLines: 1,
        files: [
            "dump.json": lines(goodLine),
            "orphan.bson": oplogFile(
                #"{"ts": {"$timestamp": {"t": 9, "i": 1}}, "op": "c", "ns": "admin.$cmd", "lsid": {"id": {"$binary": {"base64": "EjRWeBI0VniQEjRWeBI0Vg==", "subType": "04"}}}, "txnNumber": {"$numberLong": "3"}, "prevOpTime": {"ts": {"$timestamp": {"t": 8, "i": 1}}, "t": {"$numberLong": "1"}}, "o": {"applyOps": [{"op": "i", "ns": "shop.elsewhere", "o": {"_id": 1}}], "count": 2}}"#
            ),
        ]),
]

/// Oplog entries (Extended JSON) one after another in BSON, as `mongodump --oplog` writes them.
private func oplogFile(_ entries: String...) -> [UInt8] {
    entries.flatMap { try! BSONEncoder.encode(try! BSONDocument(extendedJSON: $0)) }
}

/// Serialized: each case starts tools with PostgreSQL connections of their own, and 25 at once would take more than
/// the test server's 100 alongside the other suites.
@Suite("Hostile input through the real binaries (issue 9)", .tags(.integration), .serialized)
struct HostileInputTests {
    @Test("each hostile case ends with its exit status and message, in bounded time", arguments: hostileCases)
    func hostile(_ item: HostileCase) async throws {
        try await InitLoadFixture.with(documentCount: 2, schema: item.schema) { scene in
            let folder = scene.directory.path
            for (name, bytes) in item.files {
                #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: Data(bytes)))
            }
            for (name, target) in item.links {
                try FileManager.default.createSymbolicLink(atPath: folder + "/" + name, withDestinationPath: target)
            }
            if let edit = item.config {
                let text = try String(contentsOfFile: scene.configPath, encoding: .utf8)
                try edit(text).write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            }
            func expand(_ argument: String) -> String {
                argument.replacingOccurrences(of: "{dir}", with: folder)
                    .replacingOccurrences(of: "{csv}", with: scene.csvDirectory)
                    .replacingOccurrences(of: "{ns}", with: scene.namespace.description)
                    .replacingOccurrences(of: "{target}", with: scene.targetSchema)
            }
            func arguments(_ run: HostileCase.Run) -> [String] {
                var arguments = run.arguments.map(expand)
                if !arguments.contains("--collection"),
                    ["mongo-reader", "psql-copy", "mongo-schema"].contains(run.tool)
                {
                    arguments += ["--collection", scene.namespace.description]
                }
                if !arguments.contains("--csv-dir"), ["mongo-reader", "psql-copy"].contains(run.tool) {
                    arguments += ["--csv-dir", scene.csvDirectory]
                }
                return ["--config", scene.configPath] + arguments
            }
            try await item.prepare?(scene)
            for run in item.before {
                let outcome = try await Binaries.run(run.tool, arguments(run), environment: scene.environment)
                try #require(outcome.status == 0, "\(run.tool): \(outcome.stderr)")
            }
            let outcome = try await Binaries.run(
                item.run.tool, arguments(item.run), environment: scene.environment,
                killAfter: item.seconds * 2, fullStandardOutput: item.fullStandardOutput)
            #expect(outcome.status == item.status, "\(outcome.stderr)")
            #expect(outcome.seconds < item.seconds, "took \(outcome.seconds) s")
            for pattern in item.patterns.map(expand) {
                #expect(outcome.stderr.contains(pattern), "missing \(pattern): \(outcome.stderr)")
            }
            for pattern in item.stdoutPatterns.map(expand) {
                #expect(outcome.stdout.contains(pattern), "missing \(pattern): \(outcome.stdout)")
            }
            if let count = item.stderrLines {
                #expect(outcome.stderr.split(separator: "\n").count == count, "\(outcome.stderr)")
            }
            for secret in item.forbidden {
                #expect(!outcome.stderr.contains(secret) && !outcome.stdout.contains(secret))
            }
            for path in item.absent.map(expand) {
                #expect(!FileManager.default.fileExists(atPath: folder + "/" + path), "\(path) exists")
            }
            #expect(!outcome.stderr.contains("internal error"))
        }
    }

    @Test("a document nested 100 levels, MongoDB's limit, loads from a BSON dump")
    func deepestDocument() async throws {
        try await InitLoadFixture.with(documentCount: 2) { scene in
            let bson = scene.directory.appendingPathComponent("deep.bson")
            let bytes = try BSONEncoder.encode(nested(100))
            #expect(FileManager.default.createFile(atPath: bson.path, contents: Data(bytes)))
            let outcome = try await scene.read(["--input-file", bson.path])
            #expect(outcome.status == 0, "\(outcome.stderr)")
        }
    }

    @Test("a PostgreSQL that accepts connections and never answers ends etlstatus and psql-copy with 69, in time")
    func blackHole() async throws {
        let listener = try BlackHoleListener()
        defer { listener.close() }
        let conninfo = "postgresql://sync@127.0.0.1:\(listener.port)/postgres"
        try await InitLoadFixture.with(postgresConninfo: conninfo, documentCount: 2) { scene in
            // The default connect timeout (10 s).
            let status = try await Binaries.run(
                "etlstatus", ["--config", scene.configPath, "init-load-status"], environment: scene.environment,
                killAfter: 60)
            #expect(status.status == 69, "\(status.stderr)")
            #expect(status.seconds < 30, "took \(status.seconds) s")
            #expect(status.stderr.contains("timeout"), "\(status.stderr)")

            // [psql] connect_timeout shortens it.
            let text = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try replacing("password_env", with: "password_env = SYNC_TEST_PGPASSWORD\nconnect_timeout = 2")(text)
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            #expect(try await scene.read().status == 0)
            let copy = try await Binaries.run(
                "psql-copy",
                [
                    "--config", scene.configPath, "--collection", scene.namespace.description, "--csv-dir",
                    scene.csvDirectory,
                ],
                environment: scene.environment, killAfter: 60)
            #expect(copy.status == 69, "\(copy.stderr)")
            #expect(copy.seconds < 10, "took \(copy.seconds) s")
        }
    }
}

extension HostileInputTests {
    @Test("a role without the CREATE privilege makes etlstatus and psql-copy end with 69, naming the privilege")
    func roleWithoutCreate() async throws {
        let role = PostgresServer.uniqueName("nocreate")
        let password = try #require(ServerEnvironment.shared.values["PGPASSWORD"])
        try await PostgresServer.withSession { session in
            try await session.execute(
                "CREATE ROLE \(role) LOGIN PASSWORD \(PostgresSQL.quoteLiteral(password))", purpose: "test role")
        }
        var failure: (any Error)?
        do {
            var uri = try #require(URLComponents(string: try ServerEnvironment.shared.postgresURI()))
            uri.user = role
            try await InitLoadFixture.with(postgresConninfo: try #require(uri.string), documentCount: 2) { scene in
                #expect(try await scene.read().status == 0)
                for outcome in [try await scene.etlstatus("init-load-status"), try await scene.copy()] {
                    #expect(outcome.status == 69, "\(outcome.stderr)")
                    #expect(outcome.stderr.contains("42501"), "\(outcome.stderr)")
                    #expect(outcome.stderr.contains("lacks the CREATE privilege on database"), "\(outcome.stderr)")
                    #expect(!outcome.stderr.contains(password))
                }
            }
        } catch {
            failure = error
        }
        try await PostgresServer.withSession { try await $0.execute("DROP ROLE \(role)", purpose: "drop test role") }
        if let failure { throw failure }
    }
}

/// A TCP port on 127.0.0.1 whose connections the kernel accepts (the listen backlog) and nobody ever answers.
private final class BlackHoleListener: @unchecked Sendable {
    let port: Int
    private let socket: Int32

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && listen(socket, 64) == 0
                    && getsockname(socket, pointer, &length) == 0
            }
        }
        guard listening else {
            Glibc.close(socket)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.socket = socket
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(socket) }
}
