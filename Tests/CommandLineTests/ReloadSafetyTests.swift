import Foundation
import MongoPG
import TestSupport
import Testing

/// Issue 9's reload cases through the real binaries: table names two collections share, stale partitions, parts
/// changed under psql-copy, a folder two tools want at once, users' objects on the tables, a failed read's
/// leftovers, signals, an init load started over one at work, and the lock and key errors PostgreSQL reports.
@Suite("Reloads that must neither lose nor mix data (issue 9)", .tags(.integration), .serialized)
struct ReloadSafetyTests {
    typealias Running = FollowReaderTests.Running

    static func lines(_ documents: String...) -> Data { Data((documents.joined(separator: "\n") + "\n").utf8) }

    static let secondDocuments = lines(
        #"{"_id": {"$oid": "5ca4bbcea2dd94ee58162b01"}, "username": "b1", "accounts": [1, 2, 3]}"#,
        #"{"_id": {"$oid": "5ca4bbcea2dd94ee58162b02"}, "username": "b2", "accounts": [4]}"#)

    static func query(_ sql: String) async throws -> PGRows {
        try await PostgresServer.withSession { try await $0.query(sql, purpose: "test") }
    }

    static func count(_ scene: InitLoadFixture, _ table: String) async throws -> Int? {
        try await query("SELECT count(*) FROM \(PostgresSQL.qualifiedName(schema: scene.targetSchema, table))")
            .scalar.flatMap { Int($0) }
    }

    static func stagingSchemas(_ scene: InitLoadFixture) async throws -> String? {
        try await PostgresServer.withSession { session in
            try await session.query(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", parameters: [scene.stateSchema + "_load_%"],
                purpose: "test"
            ).scalar
        }
    }

    // MARK: 1. Table names

    @Test("two collections whose root tables meet are refused when the configuration loads (78, naming both)")
    func rootTablesMeet() async throws {
        try await InitLoadFixture.with(documentCount: 2) { scene in
            let other = Namespace(database: scene.namespace.database + "b", collection: "customers")
            try scene.appendToConfig("\(other)")
            for outcome in [try await scene.etlstatus("init-load-status"), try await scene.read()] {
                #expect(outcome.status == 78, "\(outcome.stderr)")
                #expect(outcome.stderr.contains("\(other)"), "\(outcome.stderr)")
                #expect(outcome.stderr.contains("also the root table of \(scene.namespace)"), "\(outcome.stderr)")
            }
        }
    }

    @Test(
        "DB.COLL = table gives a collection its own root table: both load side by side, the catalog and oplog-sync agree"
    )
    func ownRootTable() async throws {
        try await InitLoadFixture.with(documentCount: 3) { scene in
            let other = Namespace(database: scene.namespace.database + "b", collection: "customers")
            try scene.appendToConfig("\(other) = customers_b")
            try scene.writeSchema(for: other)
            let input = scene.directory.appendingPathComponent("b.json")
            try Self.secondDocuments.write(to: input)
            try await scene.initLoad()
            let readB = try await scene.run(
                "mongo-reader",
                ["--collection", "\(other)", "--csv-dir", scene.csvDirectory, "--input-file", input.path])
            #expect(readB.status == 0, "\(readB.stderr)")
            let copyB = try await scene.run("psql-copy", ["--collection", "\(other)", "--csv-dir", scene.csvDirectory])
            #expect(copyB.status == 0, "\(copyB.stderr)")

            #expect(try await Self.count(scene, "customers") == 3, "the first collection's rows are still there")
            #expect(try await Self.count(scene, "customers_b") == 2)
            #expect(try await Self.count(scene, "customers_b_accounts") == 4)
            let catalog = try await Self.query(
                "SELECT table_name FROM \(scene.stateSchema).catalog_tables WHERE collection = '\(other)' ORDER BY 1")
            #expect(catalog.column("table_name") == ["customers_b", "customers_b_accounts"])

            // oplog-sync compiles the plan from the catalog with the configured name: an insert lands in customers_b.
            let oplog = scene.directory.appendingPathComponent("oplog.bson")
            try OplogSyncFixture.writeEntries(
                [
                    OplogSyncFixture.entry(
                        1,
                        #"{"op": "i", "ns": "\#(other)", "o": {"_id": {"$oid": "5ca4bbcea2dd94ee58162b03"}, "username": "b3", "accounts": [7]}}"#
                    )
                ], to: oplog)
            let sync = try await scene.run("oplog-sync", ["--from-file", oplog.path])
            #expect(sync.status == 0, "\(sync.stderr)")
            #expect(try await Self.count(scene, "customers_b") == 3)
            #expect(try await Self.count(scene, "customers_b_accounts") == 5)
            #expect(try await Self.count(scene, "customers") == 3)
        }
    }

    @Test("a collection whose root table is another's child table is refused before anything is read or replaced (78)")
    func childTableMet() async throws {
        try await InitLoadFixture.with(documentCount: 2) { scene in
            let other = Namespace(database: scene.namespace.database, collection: "customers_accounts")
            try scene.writeSchema(for: other, #"{"_id": "int", "x": "int"}"#)
            let input = scene.directory.appendingPathComponent("other.json")
            try Self.lines(#"{"_id": 1, "x": 1}"#).write(to: input)
            let readOther = ["--collection", "\(other)", "--csv-dir", scene.csvDirectory, "--input-file", input.path]
            let copyOther = ["--collection", "\(other)", "--csv-dir", scene.csvDirectory]
            try await scene.initLoad()
            let before = try await InitLoadFailureTests.liveTables(scene)

            // Both configured: mongo-reader sees it in the schema files.
            try scene.appendToConfig("\(other)")
            let read = try await scene.run("mongo-reader", readOther)
            #expect(read.status == 78, "\(read.stderr)")
            #expect(read.stderr.contains(#"table "customers_accounts" is claimed by both \#(other)"#), "\(read.stderr)")
            #expect(read.stderr.contains("\(scene.namespace) (the table of $.accounts"), "\(read.stderr)")
            #expect(!FileManager.default.fileExists(atPath: scene.csvDirectory + "/\(other)/manifest.json"))

            // The loaded collection no longer configured: the catalog still says whose table it is.
            let text = try String(contentsOfFile: scene.configPath, encoding: .utf8)
            try text.replacingOccurrences(of: "\n\(scene.namespace)\n", with: "\n")
                .write(toFile: scene.configPath, atomically: true, encoding: .utf8)
            #expect(try await scene.run("mongo-reader", readOther).status == 0)
            let copy = try await scene.run("psql-copy", copyOther)
            #expect(copy.status == 78, "\(copy.stderr)")
            #expect(copy.stderr.contains("loaded, in \(scene.stateSchema).catalog_tables"), "\(copy.stderr)")
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
        }
    }

    @Test("a table in the target schema that no load made is never replaced (78)")
    func unownedTable() async throws {
        try await InitLoadFixture.with(documentCount: 2) { scene in
            try await PostgresServer.withSession { session in
                try await session.execute(
                    "CREATE SCHEMA \(scene.targetSchema); CREATE TABLE \(scene.targetSchema).customers_accounts (mine int);"
                        + "INSERT INTO \(scene.targetSchema).customers_accounts VALUES (42)",
                    purpose: "test")
            }
            #expect(try await scene.read().status == 0)
            let copy = try await scene.copy()
            #expect(copy.status == 78, "\(copy.stderr)")
            #expect(
                copy.stderr.contains(#""customers_accounts", which no load of this toolkit made"#), "\(copy.stderr)")
            #expect(try await Self.query("SELECT mine FROM \(scene.targetSchema).customers_accounts").scalar == "42")
        }
    }

    // MARK: 2. Partitions of one init load

    @Test("partition manifests of an earlier init load are refused (65); rereading every partition loads")
    func stalePartition() async throws {
        try await InitLoadFixture.with(documentCount: 30) { scene in
            #expect(try await scene.etlstatus("init-load-start").status == 0)
            #expect(try await scene.read(["--partition", "1/2"]).status == 0)
            #expect(try await scene.read(["--partition", "2/2"]).status == 0)
            #expect(try await scene.copy().status == 0)
            #expect(try await scene.etlstatus("init-load-finish", "ok").status == 0)

            try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).insert(
                [["_id": .objectID(ObjectID(hex: "000000000000000000000001")!), "name": .string("new")]],
                into: scene.namespace)
            #expect(try await scene.etlstatus("init-load-start").status == 0)
            #expect(try await scene.read(["--partition", "1/2"]).status == 0)
            let stale = try await scene.copy()
            #expect(stale.status == 65, "\(stale.stderr)")
            #expect(stale.stderr.contains("not all of one init load"), "\(stale.stderr)")
            #expect(stale.stderr.contains("manifest.part-2-of-2.json of init load"), "\(stale.stderr)")
            #expect(try await Self.count(scene, "customers") == 30)

            #expect(try await scene.read(["--partition", "2/2"]).status == 0)
            let copied = try await scene.copy()
            #expect(copied.status == 0, "\(copied.stderr)")
            #expect(try await Self.count(scene, "customers") == 31)
        }
    }

    // MARK: 3. Checksums while streaming

    @Test("a part rewritten after psql-copy checked the folder fails the load before the swap (65)")
    func partRewrittenDuringLoad() async throws {
        try await InitLoadFixture.with(documentCount: 20) { scene in
            let before = try await InitLoadFailureTests.load(scene)
            #expect(try await scene.read().status == 0)
            let copy = try Running(
                "psql-copy", ["--collection", "\(scene.namespace)", "--csv-dir", scene.csvDirectory], scene: scene,
                environment: ["MONGO_PG_SYNC_HOLD_AT": "checked"])
            #expect(copy.waitForStderr("holding at checked"))
            // Same size, same rows, other bytes: only a checksum of what is streamed can tell.
            let manifest = try Manifest.read(from: scene.collectionFolder)
            let part = try #require(manifest.tables.first?.parts.first)
            let url = scene.collectionFolder.appendingPathComponent(part.file)
            var bytes = try Data(contentsOf: url)
            let index = try #require(bytes.firstIndex(of: UInt8(ascii: "a")))
            bytes[index] = UInt8(ascii: "b")
            try bytes.write(to: url)
            _ = FileManager.default.createFile(
                atPath: scene.collectionFolder.appendingPathComponent("continue").path, contents: nil)
            let outcome = copy.finish()
            #expect(outcome.status == 65, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("changed since mongo-reader wrote it"), "\(outcome.stderr)")
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
        }
    }

    // MARK: 4. One tool at a time on a folder

    @Test("psql-copy refuses a folder a mongo-reader is writing (75), and mongo-reader one psql-copy is loading")
    func folderHeld() async throws {
        try await InitLoadFixture.with(documentCount: 20) { scene in
            #expect(try await scene.read().status == 0)
            let reader = try Running(
                "mongo-reader", ["--collection", "\(scene.namespace)", "--csv-dir", scene.csvDirectory], scene: scene,
                environment: ["MONGO_PG_SYNC_HOLD_AT": "read"])
            #expect(reader.waitForStderr("holding at read"))
            let copy = try await scene.copy()
            #expect(copy.status == 75, "\(copy.stderr)")
            #expect(copy.stderr.contains("mongo-reader (pid \(reader.process.processIdentifier)) is writing"))
            kill(reader.process.processIdentifier, SIGKILL)
            _ = reader.finish()

            #expect(try await scene.read().status == 0)
            let loader = try Running(
                "psql-copy", ["--collection", "\(scene.namespace)", "--csv-dir", scene.csvDirectory], scene: scene,
                environment: ["MONGO_PG_SYNC_HOLD_AT": "checked"])
            #expect(loader.waitForStderr("holding at checked"))
            let read = try await scene.read()
            #expect(read.status == 75, "\(read.stderr)")
            #expect(read.stderr.contains("psql-copy (pid \(loader.process.processIdentifier)) is loading"))
            _ = FileManager.default.createFile(
                atPath: scene.collectionFolder.appendingPathComponent("continue").path, contents: nil)
            let loaded = loader.finish()
            #expect(loaded.status == 0, "the manifest was never touched: \(loaded.stderr)")
        }
    }

    // MARK: 5. Users' objects

    @Test("views, a materialized view, indexes, grants and comments on the tables work as before after a reload")
    func usersObjectsSurvive() async throws {
        let role = PostgresServer.uniqueName("reporting")
        try await PostgresServer.withSession { try await $0.execute("CREATE ROLE \(role)", purpose: "test role") }
        var failure: (any Error)?
        do {
            try await InitLoadFixture.with(documentCount: 10) { scene in
                try await scene.initLoad()
                let t = scene.targetSchema
                try await PostgresServer.withSession { session in
                    try await session.execute(
                        """
                        CREATE SCHEMA \(t)_reports;
                        CREATE VIEW \(t)_reports.names WITH (security_barrier) AS
                            SELECT "_id", "name" FROM \(t).customers WHERE "active";
                        CREATE VIEW \(t).name_count AS SELECT count(*) AS n FROM \(t)_reports.names;
                        CREATE MATERIALIZED VIEW \(t).accounts_per_customer AS
                            SELECT "customers_id", count(*) AS n FROM \(t).customers_accounts GROUP BY 1;
                        CREATE UNIQUE INDEX accounts_per_customer_id ON \(t).accounts_per_customer ("customers_id");
                        CREATE INDEX customers_by_name ON \(t).customers ("name");
                        GRANT USAGE ON SCHEMA \(t), \(t)_reports TO \(role);
                        GRANT SELECT ON \(t).customers, \(t)_reports.names, \(t).accounts_per_customer TO \(role);
                        GRANT SELECT ("accounts") ON \(t).customers_accounts TO \(role);
                        COMMENT ON TABLE \(t).customers IS 'synced from MongoDB';
                        """, purpose: "test: a user's objects")
                }
                try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).insert(
                    [
                        [
                            "_id": .objectID(ObjectID(hex: "000000000000000000000001")!), "name": .string("new"),
                            "active": .bool(true), "accounts": .array([.int32(1), .int32(2)]),
                        ]
                    ], into: scene.namespace)
                #expect(try await scene.read().status == 0)
                let copy = try await scene.copy()
                #expect(copy.status == 0, "\(copy.stderr)")

                let active = try await Self.query(
                    "SELECT count(*) FROM \(t).customers WHERE active"
                ).scalar
                #expect(try await Self.query("SELECT n FROM \(t).name_count").scalar == active)
                #expect(
                    try await Self.query("SELECT count(*) FROM \(t)_reports.names WHERE name = 'new'").scalar == "1")
                #expect(
                    try await Self.query(
                        "SELECT n FROM \(t).accounts_per_customer WHERE customers_id = '000000000000000000000001'"
                    ).scalar == "2", "the materialized view was filled from the new tables")
                let checks = try await Self.query(
                    """
                    SELECT has_table_privilege('\(role)', '\(t).customers', 'SELECT'),
                           has_table_privilege('\(role)', '\(t)_reports.names', 'SELECT'),
                           has_table_privilege('\(role)', '\(t).accounts_per_customer', 'SELECT'),
                           has_column_privilege('\(role)', '\(t).customers_accounts', 'accounts', 'SELECT'),
                           has_table_privilege('\(role)', '\(t).customers_accounts', 'SELECT'),
                           obj_description('\(t).customers'::regclass, 'pg_class'),
                           (SELECT count(*) FROM pg_indexes WHERE schemaname = '\(t)'
                            AND indexname IN ('customers_by_name', 'accounts_per_customer_id')),
                           (SELECT reloptions::text FROM pg_class WHERE oid = '\(t)_reports.names'::regclass)
                    """)
                #expect(
                    checks.rows.first == [
                        "t", "t", "t", "t", "f", "synced from MongoDB", "2", "{security_barrier=true}",
                    ])
                try await PostgresServer.withSession { session in
                    try await session.execute("DROP SCHEMA \(t)_reports CASCADE", purpose: "test cleanup")
                }
            }
        } catch {
            failure = error
        }
        try await PostgresServer.withSession { session in
            try await session.execute("DROP OWNED BY \(role); DROP ROLE \(role)", purpose: "drop test role")
        }
        if let failure { throw failure }
    }

    @Test(
        "what cannot be carried over is refused naming it (78), the live tables unchanged",
        arguments: [
            (
                "CREATE FUNCTION {t}.noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
                    + "CREATE TRIGGER audit BEFORE INSERT ON {t}.customers FOR EACH ROW EXECUTE FUNCTION {t}.noop()",
                "trigger audit on table customers"
            ),
            (
                "CREATE TABLE {t}.orders (customer text REFERENCES {t}.customers (\"_id\"))",
                "constraint orders_customer_fkey on table {t}.orders depends on table {t}.customers"
            ),
            ("CREATE VIEW {t}.emails AS SELECT email FROM {t}.customers", "view {t}.emails cannot be created again"),
        ])
    func usersObjectsRefused(setup: String, named: String) async throws {
        try await InitLoadFixture.with(documentCount: 5) { scene in
            try await scene.initLoad()
            let fill = { (text: String) in text.replacingOccurrences(of: "{t}", with: scene.targetSchema) }
            try await PostgresServer.withSession { try await $0.execute(fill(setup), purpose: "test: a user's object") }
            let before = try await InitLoadFailureTests.liveTables(scene)
            // The view's column leaves the schema file: the new tables cannot hold the view.
            let schema = try String(contentsOfFile: scene.schemaPath, encoding: .utf8)
            try schema.replacingOccurrences(of: #"  "email": "string",\#n"#, with: "")
                .write(toFile: scene.schemaPath, atomically: true, encoding: .utf8)
            #expect(try await scene.read().status == 0)
            let copy = try await scene.copy()
            #expect(copy.status == 78, "\(copy.stderr)")
            #expect(copy.stderr.contains(fill(named)), "\(copy.stderr)")
            #expect(!copy.stderr.contains("internal error"))
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
            #expect(try await Self.stagingSchemas(scene) == "0", "a failed load drops its staging schema")
        }
    }

    @Test(
        "a view owned by a role the loading role may not give it back to: 78 naming the view and the grant, the old tables and view kept; after the grant, carried over with its owner"
    )
    func viewOfAnotherRole() async throws {
        let loader = PostgresServer.uniqueName("loader"), viewer = PostgresServer.uniqueName("viewer")
        let password = try #require(ServerEnvironment.shared.values["PGPASSWORD"])
        try await PostgresServer.withSession { session in
            try await session.execute(
                """
                CREATE ROLE \(loader) LOGIN PASSWORD \(PostgresSQL.quoteLiteral(password));
                CREATE ROLE \(viewer);
                DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO \(loader)', current_database()); END $$
                """, purpose: "test roles")
        }
        var failure: (any Error)?
        do {
            var uri = try #require(URLComponents(string: try ServerEnvironment.shared.postgresURI()))
            uri.user = loader
            try await InitLoadFixture.with(postgresConninfo: try #require(uri.string), documentCount: 4) { scene in
                try await scene.initLoad()
                let t = scene.targetSchema
                // The loading role owns the target schema, so it could drop the view, but never give it back.
                try await PostgresServer.withSession { session in
                    try await session.execute(
                        """
                        GRANT USAGE, CREATE ON SCHEMA \(t) TO \(viewer);
                        GRANT SELECT ON \(t).customers TO \(viewer);
                        SET ROLE \(viewer);
                        CREATE VIEW \(t).names AS SELECT username FROM \(t).customers;
                        RESET ROLE
                        """, purpose: "test: a view of another role")
                }
                func viewOwner() async throws -> String? {
                    try await Self.query(
                        "SELECT viewowner FROM pg_views WHERE schemaname = '\(t)' AND viewname = 'names'"
                    )
                    .scalar
                }
                let before = try await InitLoadFailureTests.liveTables(scene)
                #expect(try await scene.etlstatus("init-load-start").status == 0)
                #expect(try await scene.read().status == 0)
                let refused = try await scene.copy()
                #expect(refused.status == 78, "\(refused.stderr)")
                #expect(refused.stderr.contains("view \(t).names is owned by role \(viewer)"), "\(refused.stderr)")
                #expect(refused.stderr.contains("GRANT \"\(viewer)\" TO \"\(loader)\""), "\(refused.stderr)")
                #expect(refused.stderr.contains("the live tables are unchanged"), "\(refused.stderr)")
                #expect(try await InitLoadFailureTests.liveTables(scene) == before)
                #expect(try await viewOwner() == viewer)

                try await PostgresServer.withSession {
                    try await $0.execute("GRANT \(viewer) TO \(loader)", purpose: "test: the grant the load needs")
                }
                let copied = try await scene.copy()
                #expect(copied.status == 0, "\(copied.stderr)")
                #expect(try await viewOwner() == viewer)
                #expect(try await Self.query("SELECT count(*) FROM \(t).names").scalar == "4")
            }
        } catch {
            failure = error
        }
        try await PostgresServer.withSession { session in
            try await session.execute(
                """
                DROP OWNED BY \(loader), \(viewer);
                DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM \(loader)', current_database()); END $$;
                DROP ROLE \(viewer); DROP ROLE \(loader)
                """, purpose: "drop test roles")
        }
        if let failure { throw failure }
    }

    // MARK: 6. A failed read's leftovers

    @Test("a mongo-reader that fails leaves neither parts nor temporary files nor a manifest")
    func failedReadLeavesNothing() async throws {
        try await InitLoadFixture.with(documentCount: 200) { scene in
            try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).insert(
                [["_id": .objectID(ObjectID(hex: "ffffffffffffffffffffffff")!), "name": .string("bad\u{0}name")]],
                into: scene.namespace)
            let read = try await scene.read(["--part-bytes", "4000"])
            #expect(read.status == 65, "\(read.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: scene.collectionFolder.path).filter {
                $0.hasSuffix(".tsv") || $0.hasSuffix(".tmp") || $0.hasPrefix("manifest")
            }
            #expect(left.isEmpty, "left behind: \(left)")
            let copy = try await scene.copy()
            #expect(copy.status == 65)
            #expect(copy.stderr.contains("no finished manifest"), "\(copy.stderr)")
        }
    }

    // MARK: 7. Signals

    @Test(
        "SIGTERM or SIGINT to psql-copy drops its staging schema and ends with 75; the live tables unchanged",
        arguments: [SIGTERM, SIGINT])
    func signalled(signal: Int32) async throws {
        try await InitLoadFixture.with(documentCount: 20) { scene in
            let before = try await InitLoadFailureTests.load(scene)
            #expect(try await scene.read().status == 0)
            let copy = try Running(
                "psql-copy", ["--collection", "\(scene.namespace)", "--csv-dir", scene.csvDirectory, "--jobs", "1"],
                scene: scene, environment: ["MONGO_PG_SYNC_HOLD_AT": "copy"])
            #expect(copy.waitForStderr("holding at copy"))
            #expect(try await Self.stagingSchemas(scene) == "1")
            let sent = ContinuousClock.now
            kill(copy.process.processIdentifier, signal)
            let outcome = copy.finish()
            #expect(ContinuousClock.now - sent < .seconds(15))
            #expect(outcome.status == 75, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("stopped by signal \(signal)"), "\(outcome.stderr)")
            #expect(try await Self.stagingSchemas(scene) == "0")
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
            let ledger = try await Self.query(
                "SELECT status, exit_code FROM \(scene.stateSchema).runs WHERE tool = 'psql-copy' ORDER BY id DESC LIMIT 1"
            )
            #expect(ledger.rows.first == ["error", "75"])
        }
    }

    @Test("a part whose checksum no longer matches fails the load (65) and drops its staging schema; live tables kept")
    func corruptPartDropsStaging() async throws {
        try await InitLoadFixture.with(documentCount: 20) { scene in
            let before = try await InitLoadFailureTests.load(scene)
            #expect(try await scene.read().status == 0)
            try InitLoadFailureTests.corruptFirstPart(scene)
            let copy = try await scene.copy()
            #expect(copy.status == 65, "\(copy.stderr)")
            #expect(copy.stderr.contains("does not match the manifest"), "\(copy.stderr)")
            #expect(try await Self.stagingSchemas(scene) == "0")
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
        }
    }

    // MARK: 8. init-load-start over an init load at work

    @Test("init-load-start while the running init load's mongo-reader is alive is 75 unless --force; once it died, 0")
    func initLoadAtWork() async throws {
        try await InitLoadFixture.with(documentCount: 20) { scene in
            #expect(try await scene.etlstatus("init-load-start").status == 0)
            let reader = try Running(
                "mongo-reader", ["--collection", "\(scene.namespace)", "--csv-dir", scene.csvDirectory], scene: scene,
                environment: ["MONGO_PG_SYNC_HOLD_AT": "read"])
            #expect(reader.waitForStderr("holding at read"))
            let refused = try await scene.etlstatus("init-load-start")
            #expect(refused.status == 75, "\(refused.stderr)")
            #expect(refused.stderr.contains("mongo-reader run"), "\(refused.stderr)")
            #expect(refused.stderr.contains("pid \(reader.process.processIdentifier)"), "\(refused.stderr)")
            #expect(refused.stderr.contains("--force"))
            let forced = try await scene.run("etlstatus", ["init-load-start", "--force"])
            #expect(forced.status == 0, "\(forced.stderr)")

            kill(reader.process.processIdentifier, SIGKILL)
            _ = reader.finish()
            let again = try await scene.etlstatus("init-load-start")
            #expect(again.status == 0, "a reader that died holds nothing up: \(again.stderr)")
        }
    }

    // MARK: 9. What PostgreSQL reports, in the loader's words

    @Test("a session holding a target table past lock_timeout: psql-copy ends with 75 naming it (55P03)")
    func lockHeld() async throws {
        try await InitLoadFixture.with(documentCount: 5) { scene in
            let before = try await InitLoadFailureTests.load(scene)
            #expect(try await scene.read().status == 0)
            let blocker = try await PostgresServer.session()
            try await blocker.execute(
                "SET application_name = 'nightly-report'; BEGIN; SELECT count(*) FROM \(scene.targetSchema).customers",
                purpose: "test: a reader in a long transaction")
            let pid = try await blocker.query("SELECT pg_backend_pid()", purpose: "test").scalar ?? "?"
            let copy = try await scene.copy(environment: ["PGOPTIONS": "-c lock_timeout=1s"])
            try await blocker.execute("ROLLBACK", purpose: "test")
            await blocker.close()
            #expect(copy.status == 75, "\(copy.stderr)")
            #expect(copy.stderr.contains("55P03"), "\(copy.stderr)")
            #expect(copy.stderr.contains("held by backend pid \(pid)"), "\(copy.stderr)")
            #expect(copy.stderr.contains("application nightly-report"), "\(copy.stderr)")
            #expect(try await InitLoadFailureTests.liveTables(scene) == before)
        }
    }
}

extension InitLoadFixture {
    /// Appends lines to the configuration, whose last section is `[collections]`.
    func appendToConfig(_ lines: String...) throws {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        try (text + "\n" + lines.joined(separator: "\n") + "\n").write(
            toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Writes `namespace`'s schema file: `text`, or the sample customers' schema.
    func writeSchema(for namespace: Namespace, _ text: String? = nil) throws {
        let url = directory.appendingPathComponent("schemas/\(namespace).json")
        if let text {
            try text.write(to: url, atomically: true, encoding: .utf8)
        } else {
            try FileManager.default.copyItem(at: Fixtures.url("schemas/sample_analytics.customers.json"), to: url)
        }
    }
}
