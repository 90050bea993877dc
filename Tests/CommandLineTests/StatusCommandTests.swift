import Foundation
import MongoPG
import TestSupport
import Testing

/// etlstatus's monitoring answers through the real binary, against real servers.
@Suite("etlstatus: lag, check, freshness, runs, metrics, config", .tags(.integration))
struct StatusCommandTests {
    static func withPrivateScene<Result>(
        arguments: [String] = [], _ body: (InitLoadFixture, MongoSession) async throws -> Result
    ) async throws -> Result {
        try await InitLoadFixture.withPrivateServer(arguments: arguments, documentCount: 20) { scene, mongo, _ in
            try await body(scene, mongo)
        }
    }

    /// `count` new documents, one insert (and so one oplog entry) each.
    static func write(_ count: Int, into scene: InitLoadFixture, _ mongo: MongoSession) async throws {
        for index in 0..<count {
            try await mongo.insert(
                [["_id": .string("w\(UUID().uuidString)-\(index)"), "name": .string("n")]],
                into: scene.namespace)
        }
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    static func firstSource(_ outcome: Binaries.Outcome) throws -> [String: Any] {
        let sources = try #require(try json(outcome.stdout)["sources"] as? [[String: Any]])
        return try #require(sources.first)
    }

    static func replaceInConfig(_ scene: InitLoadFixture, _ old: String, with new: String) throws {
        let text = try String(contentsOfFile: scene.configPath, encoding: .utf8)
        #expect(text.contains(old))
        try text.replacingOccurrences(of: old, with: new).write(
            toFile: scene.configPath, atomically: true, encoding: .utf8)
    }

    static func appendToConfig(_ scene: InitLoadFixture, _ text: String) throws {
        let old = try String(contentsOfFile: scene.configPath, encoding: .utf8)
        try (old + "\n" + text + "\n").write(toFile: scene.configPath, atomically: true, encoding: .utf8)
    }

    @Test("lag counts the entries written after the init load's position, then after a sync point")
    func lagFigures() async throws {
        try await Self.withPrivateScene { scene, mongo in
            try await scene.initLoad()
            var lag = try await scene.etlstatus("lag", "--json")
            #expect(lag.status == 0, "\(lag.stderr)")
            var source = try Self.firstSource(lag)
            #expect(source["source"] as? String == "rs0")
            #expect(source["lag_entries"] as? Int == 0)
            #expect(source["lag_seconds"] as? Double == 0)
            #expect((source["position"] as? [String: Any])?["origin"] as? String == "init_load")
            #expect(source["fallen_off"] as? Bool == false)

            try await Task.sleep(for: .milliseconds(2_100))
            try await Self.write(7, into: scene, mongo)
            lag = try await scene.etlstatus("lag", "--json")
            #expect(lag.status == 0, "\(lag.stderr)")
            source = try Self.firstSource(lag)
            #expect(source["lag_entries"] as? Int == 7)
            #expect((source["lag_seconds"] as? Double ?? 0) >= 2)
            #expect((source["window_seconds"] as? Double ?? 0) >= 2)
            #expect(source["time_left_seconds"] != nil)

            // oplog-sync will move the sync point to the last entry it read; lag then starts from there.
            let newest = try #require(try await mongo.newestOplogPosition())
            try await PostgresServer.withSession { session in
                try await StateStore(session: session, schema: scene.stateSchema).moveSyncPoints(["rs0": newest])
            }
            try await Self.write(2, into: scene, mongo)
            lag = try await scene.etlstatus("lag", "--json")
            source = try Self.firstSource(lag)
            #expect(source["lag_entries"] as? Int == 2)
            #expect((source["position"] as? [String: Any])?["origin"] as? String == "sync_point")

            let table = try await scene.etlstatus("lag")
            #expect(table.status == 0)
            #expect(table.stdout.hasPrefix("SOURCE"))
            #expect(table.stdout.contains("rs0") && table.stdout.contains("sync_point"))
        }
    }

    @Test("init-load-status and lag answer 1 naming the source once the oplog rolled past its position")
    func oplogRolled() async throws {
        try await Self.withPrivateScene(arguments: ["--oplog-max-entries", "30"]) { scene, mongo in
            try await scene.initLoad()
            #expect(try await scene.etlstatus("init-load-status").status == 0)
            #expect(try await scene.etlstatus("lag").status == 0)

            try await Self.write(45, into: scene, mongo)
            // SecantusDB prunes every 1000 writes; its admin command prunes now, as mongod does on each write.
            _ = try await mongo.runCommand(["secantusAdmin.pruneOplog": .int32(1)], database: "admin")
            let status = try await scene.etlstatus("init-load-status")
            #expect(status.status == 1, "\(status.stderr)")
            #expect(status.stderr.contains("the oplog of rs0 no longer reaches back to its init load position"))
            let lag = try await scene.etlstatus("lag")
            #expect(lag.status == 1, "\(lag.stderr)")
            #expect(lag.stderr.contains("rs0"))
            #expect(lag.stdout.contains("FELL OFF"))
            let check = try await scene.etlstatus("check")
            #expect(check.status == 2, "\(check.stdout)")
            #expect(check.stdout.contains("no longer reaches back"))
            #expect(
                try await scene.etlstatus("metrics").stdout.contains(
                    "mongo_pg_sync_sync_point_fallen_off{source=\"rs0\"} 1"))
        }
    }

    @Test("check answers 0, 1 and 2 from its thresholds and from table freshness")
    func checkThresholds() async throws {
        try await Self.withPrivateScene { scene, mongo in
            try await scene.initLoad()
            let quiet = ["--warn-window", "0s", "--crit-window", "0s"]
            var check = try await scene.run("etlstatus", ["check"] + quiet)
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(check.stdout.hasPrefix("ETLSTATUS OK - init load "))
            #expect(check.stdout.contains("| rs0_lag_seconds=0s;300;900;0 rs0_lag_entries=0;;;0"))

            try await Task.sleep(for: .milliseconds(2_100))
            try await Self.write(3, into: scene, mongo)
            check = try await scene.run("etlstatus", ["check", "--warn-lag", "1s", "--crit-lag", "1h"] + quiet)
            #expect(check.status == 1, "\(check.stdout)")
            #expect(check.stdout.hasPrefix("ETLSTATUS WARNING - rs0: lag "))
            #expect(check.stdout.contains("(3 entries) > 1s"))
            check = try await scene.run(
                "etlstatus", ["check", "--warn-lag", "1s", "--crit-lag", "1s", "--json"] + quiet)
            #expect(check.status == 2, "\(check.stdout)")
            #expect(try Self.json(check.stdout)["label"] as? String == "CRITICAL")

            // Freshness: a table of the target schema with a fresh row is OK, a stale column CRITICAL.
            try await PostgresServer.withSession { session in
                try await session.execute(
                    """
                    CREATE TABLE \(PostgresSQL.qualifiedName(schema: scene.targetSchema, "seen")) (at timestamptz);
                    INSERT INTO \(PostgresSQL.qualifiedName(schema: scene.targetSchema, "seen")) VALUES (now())
                    """, purpose: "test")
            }
            try Self.appendToConfig(scene, "[freshness]\nseen = at 1h")
            check = try await scene.run("etlstatus", ["check", "--crit-lag", "1h", "--warn-lag", "1h"] + quiet)
            #expect(check.status == 0, "\(check.stdout)")
            #expect(check.stdout.contains("seen.at ") && check.stdout.contains("s old"), "\(check.stdout)")
            #expect(check.stdout.contains("seen.at_age_seconds="))
            try Self.replaceInConfig(scene, "seen = at 1h", with: "customers = birthdate 1d")
            check = try await scene.run("etlstatus", ["check", "--crit-lag", "1h", "--warn-lag", "1h"] + quiet)
            #expect(check.status == 2, "\(check.stdout)")
            #expect(check.stdout.contains("customers.birthdate "))

            let history = try await scene.etlstatus("freshness", "--json")
            #expect(history.status == 0, "\(history.stderr)")
            let checks = try #require(try Self.json(history.stdout)["checks"] as? [[String: Any]])
            #expect(checks.map { $0["table"] as? String } == ["customers", "seen"])
            #expect(try await scene.etlstatus("freshness", "--table", "seen").stdout.contains("seen"))
        }
    }

    @Test("check is 3 UNKNOWN when MongoDB or PostgreSQL is down or the configuration is bad, never OK")
    func checkUnknown() async throws {
        try await withDeadLoopbackPort { deadPort in
            try await InitLoadFixture.with(documentCount: 5) { scene in
                try await scene.initLoad()
                let mongoURI = try ServerEnvironment.shared.mongoURI()
                try Self.replaceInConfig(
                    scene, "uri = \(mongoURI)",
                    with: "uri = mongodb://127.0.0.1:\(deadPort)/?serverSelectionTimeoutMS=1000"
                )
                let check = try await scene.etlstatus("check")
                #expect(check.status == 3, "\(check.stdout)")
                #expect(check.stdout.hasPrefix("ETLSTATUS UNKNOWN - rs0: cannot read the oplog"))
                #expect(try await scene.etlstatus("lag").status == 69)
                #expect(try await scene.etlstatus("init-load-status").status == 69)

                let usage = try await scene.etlstatus("check", "--warn-lag", "soon")
                #expect(usage.status == 3, "\(usage.stdout)\(usage.stderr)")
                #expect(usage.stdout.hasPrefix("ETLSTATUS UNKNOWN - wrong command line: "))
                #expect(try await scene.etlstatus("lag", "--bogus").status == 64)

                try Self.appendToConfig(scene, "[freshness]\nseen = at soon")
                let bad = try await scene.etlstatus("check")
                #expect(bad.status == 3)
                #expect(bad.stdout.contains("\(scene.configPath):"))
                #expect(try await scene.etlstatus("lag").status == 78)
            }
            try await InitLoadFixture.with(
                postgresConninfo: "postgresql://sync@127.0.0.1:\(deadPort)/postgres?connect_timeout=3", documentCount: 1
            ) { scene in
                let password = scene.environment["SYNC_TEST_PGPASSWORD"] ?? ""
                let outcomes = [
                    try await scene.etlstatus("check"), try await scene.etlstatus("runs"),
                    try await scene.etlstatus("metrics"),
                    try await scene.etlstatus("freshness"),
                ]
                #expect(outcomes.map(\.status) == [3, 69, 69, 69], "\(outcomes.map(\.stderr))")
                #expect(outcomes[0].stdout.hasPrefix("ETLSTATUS UNKNOWN - PostgreSQL: "))
                for outcome in outcomes {
                    #expect(password.isEmpty || !(outcome.stdout + outcome.stderr).contains(password))
                    #expect(outcome.stderr.split(separator: "\n").count <= 1, "\(outcome.stderr)")
                }
            }
        }
    }

    @Test("metrics parse as Prometheus text with prometheus_client, on stdout and in an atomically written file")
    func metrics() async throws {
        try await InitLoadFixture.with(documentCount: 10) { scene in
            try await scene.initLoad()
            let metrics = try await scene.etlstatus("metrics")
            #expect(metrics.status == 0, "\(metrics.stderr)")
            let families = try PrometheusParser.parse(metrics.stdout)
            #expect(families["mongo_pg_sync_init_load_needed"]?[""] == 0)
            #expect(families["mongo_pg_sync_oplog_source_up"]?["source=rs0"] == 1)
            #expect(families["mongo_pg_sync_lag_entries"]?["source=rs0"] != nil)
            #expect(families["mongo_pg_sync_last_run_success"]?["tool=psql-copy"] == 1)
            #expect(families["mongo_pg_sync_last_run_exit_code"]?["tool=etlstatus init-load-finish"] == 0)
            #expect(families["mongo_pg_sync_last_run_figure"]?["figure=documents,tool=psql-copy"] == 10)

            let json = try await scene.etlstatus("metrics", "--json")
            #expect(json.status == 0, "\(json.stderr)")
            let samples = try #require(try Self.json(json.stdout)["samples"] as? [[String: Any]])
            let success = samples.first {
                $0["name"] as? String == "mongo_pg_sync_last_run_success"
                    && ($0["labels"] as? [String: String])?["tool"] == "psql-copy"
            }
            #expect(success?["value"] as? Double == 1)

            let folder = scene.directory.appendingPathComponent("textfile")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let file = folder.appendingPathComponent("mongo_pg_sync.prom").path
            let written = try await scene.etlstatus("metrics", "--textfile", file)
            #expect(written.status == 0, "\(written.stderr)")
            #expect(written.stdout.isEmpty)
            let fromFile = try PrometheusParser.parse(try String(contentsOfFile: file, encoding: .utf8))
            #expect(fromFile["mongo_pg_sync_last_run_success"]?["tool=psql-copy"] == 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["mongo_pg_sync.prom"])

            let missing = try await scene.etlstatus(
                "metrics", "--textfile", folder.appendingPathComponent("no/such.prom").path)
            #expect(missing.status == 74)
            #expect(missing.stderr.contains("no/such.prom"))
        }
    }

    @Test("runs lists the ledger newest first, filters it, names the last successful run, and shows died runs")
    func runs() async throws {
        try await InitLoadFixture.with(documentCount: 5) { scene in
            try await scene.initLoad()
            #expect(try await scene.etlstatus("init-load-finish", "ok").status == 1)  // none running: a failed run
            let all = try await scene.etlstatus("runs", "--json")
            #expect(all.status == 0, "\(all.stderr)")
            let runs = try #require(try Self.json(all.stdout)["runs"] as? [[String: Any]])
            #expect(
                runs.map { $0["tool"] as? String } == [
                    "etlstatus init-load-finish", "etlstatus init-load-finish", "psql-copy", "mongo-reader",
                    "etlstatus init-load-start",
                ])
            let failed = try #require(
                try Self.json(try await scene.etlstatus("runs", "--failed", "--json").stdout)["runs"]
                    as? [[String: Any]])
            #expect(failed.count == 1)
            #expect(failed.first?["exit_code"] as? Int == 1)
            let copyID = try #require(runs[2]["id"] as? Int)
            let last = try await scene.etlstatus("runs", "--last-successful", "psql-copy")
            #expect(last.status == 0)
            #expect(last.stdout.hasPrefix("\(copyID) 20"))
            #expect(try await scene.etlstatus("runs", "--last-successful", "oplog-sync").status == 1)
            let table = try await scene.etlstatus("runs", "--tool", "psql-copy", "--last", "1")
            #expect(table.stdout.split(separator: "\n").count == 2)
            #expect(table.stdout.contains("psql-copy") && table.stdout.contains("documents="))

            // A run whose process is gone shows as died, never running forever.
            try await PostgresServer.withSession { session in
                try await session.query(
                    "INSERT INTO \(PostgresSQL.qualifiedName(schema: scene.stateSchema, "runs")) "
                        + "(tool, host, pid, arguments) VALUES ('oplog-sync', $1, 4194303, '')",
                    parameters: [ProcessInfo.processInfo.hostName], purpose: "test")
            }
            let died = try await scene.etlstatus("runs", "--last", "1")
            #expect(died.stdout.contains("died"), "\(died.stdout)")
            let check = try await scene.etlstatus("check", "--warn-window", "0s", "--crit-window", "0s")
            #expect(check.status == 2)
            #expect(check.stdout.contains("died"))
        }
    }

    @Test(
        "every oplog-sync run that reaches PostgreSQL is in the ledger, a failed one too: check is CRITICAL naming how many failed in a row, metrics say so"
    )
    func failedSyncs() async throws {
        try await InitLoadFixture.with(documentCount: 3) { scene in
            try await scene.initLoad()
            let badFile = try await scene.run("oplog-sync", ["--from-file", scene.directory.path + "/no-such.bson"])
            #expect(badFile.status == 74, "\(badFile.stderr)")
            let locked = try await PostgresServer.withSession { session in
                try await session.tryAdvisoryLock(
                    key: SyncLock.key(stateSchema: scene.stateSchema), purpose: "hold the sync lock")
                return try await scene.run("oplog-sync", [])
            }
            #expect(locked.status == 75, "\(locked.stderr)")

            let runs = try Self.json(try await scene.etlstatus("runs", "--tool", "oplog-sync", "--json").stdout)
            let ledger = try #require(runs["runs"] as? [[String: Any]])
            #expect(ledger.map { $0["exit_code"] as? Int } == [75, 74])
            #expect((ledger.last?["message"] as? String)?.contains("no-such.bson") == true)

            // The shared server's oplog is small: its window is not what this judges.
            let window = ["--warn-window", "0s", "--crit-window", "0s"]
            let check = try await scene.run("etlstatus", ["check"] + window)
            #expect(check.status == 2, "\(check.stdout)")
            #expect(check.stdout.contains("holding the lock; the newest 2 runs failed in a row"), "\(check.stdout)")
            let lenient = try await scene.run("etlstatus", ["check", "--max-failures", "3"] + window)
            #expect(lenient.status == 1, "\(lenient.stdout)")
            #expect(lenient.stdout.contains("(CRITICAL from --max-failures 3 in a row)"), "\(lenient.stdout)")
            #expect(try await scene.etlstatus("check", "--max-failures", "0").status == 3)

            let failing = try PrometheusParser.parse(try await scene.etlstatus("metrics").stdout)
            #expect(failing["mongo_pg_sync_last_run_success"]?["tool=oplog-sync"] == 0)
            #expect(failing["mongo_pg_sync_last_run_exit_code"]?["tool=oplog-sync"] == 75)
            #expect(failing["mongo_pg_sync_oplog_sync_failures_in_a_row"]?[""] == 2)

            _ = try await OplogSyncFixture.sync(scene)
            let healthy = try PrometheusParser.parse(try await scene.etlstatus("metrics").stdout)
            #expect(healthy["mongo_pg_sync_last_run_success"]?["tool=oplog-sync"] == 1)
            #expect(healthy["mongo_pg_sync_oplog_sync_failures_in_a_row"]?[""] == 0)
            let healed = try await scene.run("etlstatus", ["check"] + window)
            #expect(healed.status == 0, "\(healed.stdout)")
        }
    }

    @Test("config SECTION.KEY prints one value, 78 for an unknown key, never a password")
    func config() async throws {
        try await InitLoadFixture.with(documentCount: 1) { scene in
            let target = try await scene.etlstatus("config", "sync.target_schema")
            #expect(target.status == 0)
            #expect(target.stdout == scene.targetSchema + "\n")
            // Global options after the subcommand's name, as well as before.
            let after = try await Binaries.run(
                "etlstatus", ["config", "sync.state_schema", "--config", scene.configPath, "--json"])
            #expect(after.status == 0, "\(after.stderr)")
            #expect(try Self.json(after.stdout)["value"] as? String == scene.stateSchema)
            #expect(try await scene.etlstatus("config", "psql.password_env").stdout == "SYNC_TEST_PGPASSWORD\n")
            let unknown = try await scene.etlstatus("config", "sync.csv_dir")
            #expect(unknown.status == 78)
            #expect(unknown.stderr.contains("sync.csv_dir"))

            let password = "pa55-\(UUID().uuidString.prefix(6))"
            let mongoURI = try ServerEnvironment.shared.mongoURI()
            try Self.replaceInConfig(
                scene, "uri = \(mongoURI)",
                with: "uri = "
                    + mongoURI.replacingOccurrences(
                        of: "mongodb://", with: "mongodb://reader:\(password)@"))
            let secret = try await scene.etlstatus("config", "mongo.uri")
            #expect(secret.status == 78)
            #expect(!(secret.stdout + secret.stderr).contains(password))
        }
    }

    @Test("a state schema of a newer release is 78 for the monitoring commands and UNKNOWN for check")
    func newerStateSchema() async throws {
        try await InitLoadFixture.with(documentCount: 1) { scene in
            #expect(try await scene.etlstatus("runs").status == 0)  // creates the state schema
            try await PostgresServer.withSession { session in
                try await session.query(
                    "UPDATE \(PostgresSQL.qualifiedName(schema: scene.stateSchema, "schema_version")) SET version = $1",
                    parameters: [String(StateStore.currentVersion + 1)], purpose: "test")
            }
            for command in ["runs", "freshness", "lag", "metrics", "init-load-status"] {
                let outcome = try await scene.etlstatus(command)
                #expect(outcome.status == 78, "\(command): \(outcome.stderr)")
            }
            #expect(try await scene.etlstatus("check").status == 3)
        }
    }
}

/// Prometheus text read by the reference parser, prometheus_client's `text_string_to_metric_families`, installed
/// into the project's .venv when missing: family name -> "label=value,..." (sorted) -> value.
enum PrometheusParser {
    static let python = ServerEnvironment.packageRoot.appendingPathComponent(".venv/bin/python").path

    static let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = {}
        for family in text_string_to_metric_families(sys.stdin.read()):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out.setdefault(sample.name, {})[labels] = sample.value
        print(json.dumps(out))
        """

    static func parse(_ text: String) throws -> [String: [String: Double]] {
        if try run(["-c", "import prometheus_client"]).status != 0 {
            let install = try run([
                "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "prometheus_client",
            ])
            #expect(install.status == 0, "\(install.stderr)")
        }
        let parsed = try run(["-c", script], input: text)
        try #require(parsed.status == 0, "prometheus_client refused the text: \(parsed.stderr)")
        return try JSONDecoder().decode([String: [String: Double]].self, from: Data(parsed.stdout.utf8))
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], input: String = "") throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }
}
