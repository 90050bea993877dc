import Foundation
import MongoPG
import TestSupport
import Testing

/// One init-load scene of its own: a MongoDB database holding the sample customers, a schemas folder, a config, a
/// state schema and a target schema no other test uses, and the tools run as real binaries against them.
struct InitLoadFixture {
    let directory: URL
    let namespace: Namespace
    let stateSchema: String
    let targetSchema: String
    let configPath: String
    /// The PostgreSQL the scene's tables live in: the test cluster, or the Citus coordinator.
    let postgresURI: String
    let documents: [BSONDocument]
    /// The password reaches the binaries through `password_env`, as an operator would set it up.
    let environment: [String: String]

    var csvDirectory: String { directory.appendingPathComponent("csv").path }
    var schemaPath: String { directory.appendingPathComponent("schemas/\(namespace).json").path }
    var collectionFolder: URL { URL(fileURLWithPath: csvDirectory).appendingPathComponent(namespace.description) }

    /// A scene whose MongoDB is a SecantusDB of its own (started with `arguments`), holding the scene's documents:
    /// for tests whose oplog must hold only their own entries (small batches, lag, a small oplog). `body` gets the
    /// scene, a session on that server and its URI.
    static func withPrivateServer<Result>(
        arguments: [String] = [], documentCount: Int? = nil, batchSize: Int? = nil, schema: String? = nil,
        documents: [BSONDocument]? = nil, _ body: (InitLoadFixture, MongoSession, _ uri: String) async throws -> Result
    ) async throws -> Result {
        try await PrivateMongoServer.with(arguments: arguments) { uri in
            try await withDocuments(
                on: uri, documentCount: documentCount, batchSize: batchSize, schema: schema, documents: documents
            ) { scene, mongo in try await body(scene, mongo, uri) }
        }
    }

    /// `withPrivateServer` on a server the test can stop, restart and start with other flags.
    static func withRestartableServer<Result>(
        batchSize: Int? = nil, schema: String? = nil, documents: [BSONDocument]? = nil,
        _ body: (InitLoadFixture, MongoSession, PrivateMongoServer.Restartable) async throws -> Result
    ) async throws -> Result {
        try await PrivateMongoServer.withRestartable { server in
            try await withDocuments(on: server.uri, batchSize: batchSize, schema: schema, documents: documents) {
                scene, mongo in try await body(scene, mongo, server)
            }
        }
    }

    /// A scene on the MongoDB at `uri`, its documents inserted there.
    private static func withDocuments<Result>(
        on uri: String, documentCount: Int? = nil, batchSize: Int?, schema: String?, documents: [BSONDocument]?,
        _ body: (InitLoadFixture, MongoSession) async throws -> Result
    ) async throws -> Result {
        try await InitLoadFixture.with(
            mongoURI: uri, documentCount: documentCount, batchSize: batchSize, schema: schema, documents: documents
        ) { scene in
            let mongo = try MongoSession(uri: uri, name: "private")
            try await mongo.insert(scene.documents, into: scene.namespace)
            return try await body(scene, mongo)
        }
    }

    /// Runs `body` with a scene of its own, cleaned up (schemas, MongoDB database, folder) after `body` returned or
    /// threw, before this returns. `mongoURI` and `postgresConninfo` may be replaced to point at dead servers; the
    /// documents go to MongoDB only when `mongoURI` is the real server's. `schema` and `documents` replace the sample
    /// customers' schema file text and documents. `citus`: the tables go to the Citus cluster's coordinator.
    static func with<Result>(
        mongoURI: String? = nil, postgresConninfo: String? = nil, citus: Bool = false, documentCount: Int? = nil,
        batchSize: Int? = nil, schema: String? = nil, documents: [BSONDocument]? = nil,
        _ body: (InitLoadFixture) async throws -> Result
    ) async throws -> Result {
        let scene = try InitLoadFixture(
            mongoURI: mongoURI, postgresConninfo: postgresConninfo, citus: citus, documentCount: documentCount,
            batchSize: batchSize, schema: schema, documents: documents)
        return try await withCleanUp {
            if mongoURI == nil {
                try await MongoSession(uri: try ServerEnvironment.shared.mongoURI()).insert(
                    scene.documents, into: scene.namespace)
            }
            return try await body(scene)
        } cleanUp: {
            await scene.cleanUp()
        }
    }

    /// Everything but the documents in MongoDB: `with` inserts those, and cleans up.
    /// `batchSize` sets `[sync] batch_size`.
    private init(
        mongoURI: String?, postgresConninfo: String?, citus: Bool, documentCount: Int?, batchSize: Int?,
        schema: String?, documents: [BSONDocument]?
    ) throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        namespace = Namespace(database: "il_\(suffix)", collection: "customers")
        stateSchema = "etl_\(suffix)"
        targetSchema = "tgt_\(suffix)"
        var documents =
            try documents
            ?? Fixtures.extendedJSONLines("sample_analytics/customers.json").map { try BSONDocument(extendedJSON: $0) }
        if let documentCount { documents = Array(documents.prefix(documentCount)) }
        self.documents = documents
        let mongoURI = try mongoURI ?? ServerEnvironment.shared.mongoURI()
        postgresURI = try citus ? ServerEnvironment.shared.citusURI() : ServerEnvironment.shared.postgresURI()
        let postgresConninfo = postgresConninfo ?? postgresURI
        environment = ["SYNC_TEST_PGPASSWORD": ServerEnvironment.shared.values["PGPASSWORD"] ?? ""]
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("init-load-\(suffix)")
        configPath = directory.appendingPathComponent("sync.ini").path
        do {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent("schemas"), withIntermediateDirectories: true)
            let schemaURL = directory.appendingPathComponent("schemas/\(namespace).json")
            if let schema {
                try schema.write(to: schemaURL, atomically: true, encoding: .utf8)
            } else {
                try FileManager.default.copyItem(
                    at: Fixtures.url("schemas/sample_analytics.customers.json"), to: schemaURL)
            }
            try """
            # written by InitLoadFixture
            [mongo]
            uri = \(mongoURI)

            [psql]
            conninfo = \(postgresConninfo)
            password_env = SYNC_TEST_PGPASSWORD

            [sync]
            schemas_dir = schemas
            state_schema = \(stateSchema)
            target_schema = \(targetSchema)
            \(batchSize.map { "batch_size = \($0)" } ?? "")

            [collections]
            \(namespace)
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Runs a tool with `--config` and this scene's environment.
    func run(_ tool: String, _ arguments: [String], environment extra: [String: String] = [:]) async throws
        -> Binaries.Outcome
    {
        try await Binaries.run(
            tool, ["--config", configPath] + arguments, environment: environment.merging(extra) { _, new in new })
    }

    func read(_ extra: [String] = []) async throws -> Binaries.Outcome {
        try await run("mongo-reader", ["--collection", namespace.description, "--csv-dir", csvDirectory] + extra)
    }

    func copy(_ extra: [String] = [], environment: [String: String] = [:]) async throws -> Binaries.Outcome {
        try await run(
            "psql-copy", ["--collection", namespace.description, "--csv-dir", csvDirectory] + extra,
            environment: environment)
    }

    /// A whole init load as a user runs it (init-load-start, mongo-reader, psql-copy, init-load-finish ok), each
    /// step expected to succeed.
    func initLoad(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for outcome in [
            try await etlstatus("init-load-start"), try await read(), try await copy(),
            try await etlstatus("init-load-finish", "ok"),
        ] {
            #expect(outcome.status == 0, "\(outcome.stderr)", sourceLocation: sourceLocation)
        }
    }

    func etlstatus(_ arguments: String...) async throws -> Binaries.Outcome { try await run("etlstatus", arguments) }

    func plan() throws -> TablePlan {
        try SchemaFile(
            namespace: namespace, schemasDirectory: directory.appendingPathComponent("schemas").path,
            settings: FlattenSettings(targetSchema: targetSchema)
        ).plan
    }

    /// Runs `body` with a session on the scene's PostgreSQL (`postgresURI`).
    func withPostgres<R>(_ body: (PostgresSession) async throws -> R) async throws -> R {
        try await PostgresServer.withSession(conninfo: postgresURI, body)
    }

    /// How many rows a table of the scene's state schema holds, as PostgreSQL prints the count.
    func stateRowCount(_ table: String) async throws -> String? {
        try await withPostgres { session in
            try await session.query(
                "SELECT count(*) FROM \(PostgresSQL.qualifiedName(schema: stateSchema, table))", purpose: "test"
            ).scalar
        }
    }

    /// Every table's rows, sorted, as text: for comparing two loads.
    func tableContents(_ session: PostgresSession) async throws -> [String: [[String?]]] {
        var contents: [String: [[String?]]] = [:]
        for table in try plan().tables {
            let rows = try await session.query("SELECT * FROM \(try plan().qualifiedName(table))", purpose: "test").rows
            contents[table.name] = rows.sorted {
                $0.map { $0 ?? "\u{0}" }.lexicographicallyPrecedes($1.map { $0 ?? "\u{0}" })
            }
        }
        return contents
    }

    func cleanUp() async {
        if let session = try? await PostgresServer.session(conninfo: postgresURI) {
            for schema in [stateSchema, targetSchema, "\(stateSchema)_load"] {
                try? await session.execute(
                    "DROP SCHEMA IF EXISTS \(PostgresSQL.quoteIdentifier(schema)) CASCADE", purpose: "test cleanup")
            }
            let stagings = try? await session.query(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", parameters: [stateSchema + "_load_%"],
                purpose: "test cleanup")
            for staging in stagings?.column("nspname") ?? [] {
                if let staging {
                    try? await session.execute(
                        "DROP SCHEMA IF EXISTS \(PostgresSQL.quoteIdentifier(staging)) CASCADE", purpose: "test cleanup"
                    )
                }
            }
            await session.close()
        }
        if let uri = try? ServerEnvironment.shared.mongoURI(), let session = try? MongoSession(uri: uri) {
            _ = try? await session.runCommand(["dropDatabase": .int32(1)], database: namespace.database)
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
