import Foundation
import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

/// The smallest valid file: only the required sections.
private let minimal = """
    [mongo]
    uri = mongodb://127.0.0.1:27017/?directConnection=true

    [psql]
    conninfo = host=127.0.0.1 dbname=postgres user=sync

    [collections]
    sample_analytics.customers
    """

/// A file that must be rejected, the error it must give and where.
struct BadConfig: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var kind: ConfigError.Kind
    var line: Int?
    /// The key (or, when no key is at fault, the section) the description must name.
    var names: String

    var testDescription: String { name }
}

let badConfigs: [BadConfig] = [
    BadConfig(
        name: "a section given twice", text: minimal + "\n[mongo]\nuri = mongodb://h/", kind: .duplicateSection,
        line: 9, names: "[mongo]"),
    BadConfig(
        name: "a key given twice",
        text: minimal.replacingOccurrences(of: "user=sync\n", with: "user=sync\nconninfo = x=y\n"),
        kind: .duplicateKey, line: 6, names: "conninfo"),
    BadConfig(
        name: "an unknown section", text: minimal + "\n[mango]\nuri = x", kind: .unknownSection, line: 9,
        names: "[mango]"),
    BadConfig(
        name: "an unknown key", text: minimal.replacingOccurrences(of: "[psql]\n", with: "[psql]\npasswrd_env = X\n"),
        kind: .unknownKey, line: 5, names: "passwrd_env"),
    BadConfig(
        name: "a key = value line in [collections] whose key is no namespace", text: minimal + "\nbatch_size = 5",
        kind: .badValue, line: 9, names: "batch_size"),
    BadConfig(
        name: "a root table name longer than PostgreSQL's 63 bytes",
        text: minimal + "\ndb.c = " + String(repeating: "t", count: 64),
        kind: .badValue, line: 9, names: "63"),
    BadConfig(
        name: "two collections with one root table", text: minimal + "\nother.x = customers", kind: .badValue,
        line: 9, names: "also the root table of"),
    BadConfig(
        name: "a missing section",
        text: minimal.replacingOccurrences(
            of: "[psql]\nconninfo = host=127.0.0.1 dbname=postgres user=sync\n", with: ""),
        kind: .missingSection, line: nil, names: "[psql]"),
    BadConfig(
        name: "a missing key",
        text: minimal.replacingOccurrences(of: "uri = mongodb://127.0.0.1:27017/?directConnection=true\n", with: ""),
        kind: .missingKey, line: 1, names: "uri"),
    BadConfig(
        name: "an empty required value",
        text: minimal.replacingOccurrences(
            of: "conninfo = host=127.0.0.1 dbname=postgres user=sync", with: "conninfo ="),
        kind: .badValue, line: 5, names: "conninfo"),
    BadConfig(
        name: "an [oplog:<name>] without uri", text: minimal + "\n[oplog:shard1]\n", kind: .missingKey, line: 9,
        names: "uri"),
    BadConfig(
        name: "an [oplog:] without a name", text: minimal + "\n[oplog:]\nuri = mongodb://h/", kind: .badValue,
        line: 9, names: "[oplog:]"),
    BadConfig(
        name: "a bad boolean", text: minimal + "\n[sync]\nkeep_extra = maybe", kind: .badValue, line: 10,
        names: "keep_extra"),
    BadConfig(
        name: "an unknown schema_changes policy", text: minimal + "\n[sync]\nschema_changes = ignore", kind: .badValue,
        line: 10, names: "schema_changes"),
    BadConfig(
        name: "an unknown on_history_lost", text: minimal + "\n[sync]\non_history_lost = reload", kind: .badValue,
        line: 10, names: "on_history_lost"),
    BadConfig(
        name: "a zero batch size", text: minimal + "\n[sync]\nbatch_size = 0", kind: .badValue, line: 10,
        names: "batch_size"),
    BadConfig(
        name: "a negative batch size", text: minimal + "\n[sync]\nbatch_size = -5", kind: .badValue, line: 10,
        names: "batch_size"),
    BadConfig(
        name: "a batch size above a million", text: minimal + "\n[sync]\nbatch_size = 1000001", kind: .badValue,
        line: 10, names: "batch_size"),
    BadConfig(
        name: "a batch size beyond Int", text: minimal + "\n[sync]\nbatch_size = 99999999999999999999",
        kind: .badValue, line: 10, names: "batch_size"),
    BadConfig(
        name: "a batch size that is not a number", text: minimal + "\n[sync]\n\n# comment\nbatch_size = 1e3",
        kind: .badValue, line: 12, names: "batch_size"),
    BadConfig(
        name: "a follow commit time of zero", text: minimal + "\n[sync]\nfollow_commit_seconds = 0", kind: .badValue,
        line: 10, names: "follow_commit_seconds"),
    BadConfig(
        name: "a negative document cache", text: minimal + "\n[sync]\ndocument_cache_mb = -1", kind: .badValue,
        line: 10, names: "document_cache_mb"),
    BadConfig(
        name: "a document cache in GB", text: minimal + "\n[sync]\ndocument_cache_mb = 1GB", kind: .badValue,
        line: 10, names: "document_cache_mb"),
    BadConfig(
        name: "a follow commit time in a unit", text: minimal + "\n[sync]\nfollow_commit_seconds = 5s",
        kind: .badValue, line: 10, names: "follow_commit_seconds"),
    BadConfig(
        name: "an empty state schema", text: minimal + "\n[sync]\nstate_schema =", kind: .badValue, line: 10,
        names: "state_schema"),
    BadConfig(
        name: "a MongoDB URI of another scheme",
        text: minimal.replacingOccurrences(of: "uri = mongodb://", with: "uri = http://"), kind: .badValue, line: 2,
        names: "uri"),
    BadConfig(
        name: "a conninfo that is not one",
        text: minimal.replacingOccurrences(of: "host=127.0.0.1 dbname", with: "host dbname"),
        kind: .badValue, line: 5, names: "conninfo"),
    BadConfig(
        name: "a password_env that is not a variable name",
        text: minimal.replacingOccurrences(of: "[psql]\n", with: "[psql]\npassword_env = 1-PASS\n"), kind: .badValue,
        line: 5, names: "password_env"),
    BadConfig(
        name: "a namespace without a dot", text: minimal + "\ncustomers", kind: .badValue, line: 9, names: "customers"),
    BadConfig(
        name: "a namespace listed twice", text: minimal + "\nsample_analytics.customers", kind: .duplicateKey, line: 9,
        names: "sample_analytics.customers"),
    BadConfig(
        name: "an empty [collections]",
        text: minimal.replacingOccurrences(of: "sample_analytics.customers", with: "# none yet"), kind: .missingKey,
        line: 7, names: "[collections]"),
    BadConfig(
        name: "a line without = outside [collections]",
        text: minimal.replacingOccurrences(of: "[psql]\n", with: "[psql]\nhost 127.0.0.1\n"), kind: .syntax, line: 5,
        names: "[psql]"),
    BadConfig(
        name: "text before the first section", text: "uri = x\n" + minimal, kind: .syntax, line: 1, names: "section"),
    BadConfig(
        name: "an unclosed section header", text: "[mongo\n", kind: .syntax, line: 1, names: "[name]"),
    BadConfig(
        name: "a conninfo keyword libpq does not know",
        text: minimal.replacingOccurrences(of: "user=sync\n", with: "user=sync colour=blue\n"), kind: .badValue,
        line: 5, names: "conninfo"),
    BadConfig(
        name: "a conninfo URI parameter libpq does not know",
        text: minimal.replacingOccurrences(
            of: "host=127.0.0.1 dbname=postgres user=sync", with: "postgresql://sync@127.0.0.1/postgres?colour=blue"),
        kind: .badValue, line: 5, names: "conninfo"),
    BadConfig(
        name: "a connect_timeout that is not a number of seconds",
        text: minimal.replacingOccurrences(of: "[psql]\n", with: "[psql]\nconnect_timeout = soon\n"),
        kind: .badValue, line: 5, names: "connect_timeout"),
    BadConfig(
        name: "a MongoDB URI with port 99999",
        text: minimal.replacingOccurrences(of: "127.0.0.1:27017", with: "127.0.0.1:99999"), kind: .badValue, line: 2,
        names: "uri"),
    BadConfig(
        name: "an [oplog:<name>] URI libmongoc refuses", text: minimal + "\n[oplog:shard1]\nuri = mongodb://h:0/",
        kind: .badValue, line: 10, names: "uri"),
    BadConfig(
        name: "a namespace escaping its folder", text: minimal + "\nx/../../esc", kind: .badValue, line: 9,
        names: "x/../../esc"),
    BadConfig(
        name: "a database name with a character MongoDB forbids", text: minimal + "\nmy db.c", kind: .badValue,
        line: 9, names: "my db.c"),
    BadConfig(
        name: "a collection name with $", text: minimal + "\nshop.orders$x", kind: .badValue, line: 9,
        names: "shop.orders$x"),
]

@Suite("SyncConfig: the INI configuration's typed settings")
struct SyncConfigTests {
    static let path = "/etc/mongo-pg-sync/sync.ini"

    @Test("sample-config.ini parses and says what it documents")
    func sampleConfig() throws {
        let path = ServerEnvironment.packageRoot.appendingPathComponent("sample-config.ini").path
        let config = try SyncConfig.load(path: path)
        #expect(config.mongoURI == "mongodb://127.0.0.1:27017/?directConnection=true")
        // [psql] connect_timeout joins the conninfo, which names none.
        #expect(config.postgresConninfo == "host=127.0.0.1 port=5432 dbname=postgres user=sync connect_timeout=10")
        #expect(config.passwordEnvironmentVariable == "SYNC_PG_PASSWORD")
        #expect(config.collections.map(\.description) == ["sample_analytics.customers", "sample_analytics.accounts"])
        #expect(config.oplogSources == [.init(name: "rs0", uri: config.mongoURI)])
        #expect(config.schemasDirectory == ServerEnvironment.packageRoot.appendingPathComponent("schemas").path)
        #expect(config.stateSchema == "etl" && config.targetSchema == "public" && config.tablePrefix == "")
        #expect(config.batchSize == 1000 && !config.keepExtra && !config.stripNul)
        #expect(config.followCommitSeconds == 5)
        #expect(config.documentCacheMB == 64)
    }

    @Test("sample-config.ini documents every key of the setting table, each with a comment above it, and no other")
    func sampleConfigDocumentsEveryKey() throws {
        let path = ServerEnvironment.packageRoot.appendingPathComponent("sample-config.ini").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let file = try INIFile(parsing: text, path: path, bareLineSections: ["collections"])
        var documented: Set<String> = []
        for section in file.sections where !SyncConfig.dataSections.contains(section.name) {
            let kind = try #require(Setting.Section(header: section.name), "[\(section.name)] is no section we know")
            for entry in section.entries {
                let name = "\(kind.name).\(entry.key)"
                #expect(
                    Setting.named(entry.key, in: kind) != nil, "the sample documents \(name), which the table lacks")
                #expect(lines[entry.line - 2].hasPrefix("#"), "\(name) has no comment above it")
                documented.insert(name)
            }
        }
        #expect(Set(Setting.all.map(\.name)).subtracting(documented).isEmpty, "keys the sample does not document")
        let sections = Set(file.sections.map { Setting.Section(header: $0.name)?.name ?? $0.name })
        #expect(sections == Set(Setting.Section.allCases.map(\.name) + SyncConfig.dataSections))
    }

    @Test("the setting table names each key once, and each default is a value its type accepts")
    func settingTable() {
        #expect(Set(Setting.all.map(\.name)).count == Setting.all.count)
        for setting in Setting.all {
            if let value = setting.defaultValue {
                #expect(setting.type.problem(with: value) == nil, "\(setting.name) defaults to a value it refuses")
            }
            #expect(!(setting.isRequired && setting.defaultValue != nil), "\(setting.name): required with a default")
        }
    }

    @Test("[oplog:<name>] mode, scope and full_document: defaults, values, and the keys only a change stream takes")
    func oplogModes() throws {
        func sources(_ section: String) throws -> [SyncConfig.OplogSource] {
            try SyncConfig.parse(text: minimal + "\n\n[oplog:rs0]\nuri = mongodb://h/\n" + section, path: Self.path)
                .oplogSources
        }
        #expect(try sources("") == [.init(name: "rs0", uri: "mongodb://h/")])
        #expect(try sources("mode = oplog").first?.mode == .oplog)
        let stream = try #require(try sources("mode = changestream").first)
        #expect(stream.mode == .changeStream && stream.scope == .cluster && !stream.updateLookup)
        let narrow = try #require(
            try sources("mode = ChangeStream\nscope = database\nfull_document = update_lookup").first)
        #expect(narrow.mode == .changeStream && narrow.scope == .database && narrow.updateLookup)

        // scope = database: one sync point per database of [collections].
        let config = try SyncConfig.parse(
            text: minimal + "\nshop.orders\nshop.items\n\n[oplog:rs0]\nuri = mongodb://h/\nmode = changestream\n"
                + "scope = database\n", path: Self.path)
        #expect(config.positionNames.map(\.name) == ["rs0/sample_analytics", "rs0/shop"])

        // Defaults are accepted in oplog mode (the sample file spells them out).
        #expect(try sources("mode = oplog\nscope = cluster\nfull_document = off").first?.mode == .oplog)
        for (section, key, message) in [
            ("mode = tail", "mode", "`oplog` or `changestream`"),
            ("scope = database", "scope", "applies to `mode = changestream` only"),
            ("full_document = update_lookup", "full_document", "applies to `mode = changestream` only"),
            ("mode = changestream\nscope = shard", "scope", "`cluster` or `database`"),
            ("mode = changestream\nfull_document = whenAvailable", "full_document", "`off` or `update_lookup`"),
        ] {
            #expect {
                _ = try sources(section)
            } throws: { error in
                guard let error = error as? ConfigError else { return false }
                return error.kind == .badValue && error.description.contains(key)
                    && error.description.contains(message) && error.exitStatus == .configError
            }
        }
    }

    @Test("only the required sections: every other setting takes its default")
    func defaults() throws {
        let config = try SyncConfig.parse(text: minimal, path: Self.path)
        #expect(config.schemasDirectory == "/etc/mongo-pg-sync/schemas")
        #expect(config.stateSchema == "etl")
        #expect(config.targetSchema == "public")
        #expect(config.tablePrefix == "")
        #expect(config.batchSize == 1000)
        #expect(config.followCommitSeconds == SyncConfig.defaultFollowCommitSeconds)
        #expect(config.keepExtra == false)
        #expect(config.stripNul == false)
        #expect(config.schemaChanges == .apply)
        #expect(config.passwordEnvironmentVariable == nil)
        #expect(try config.postgresPassword(environment: ["PGPASSWORD": "x"]) == nil)
        #expect(config.oplogSources == [.init(name: "rs0", uri: "mongodb://127.0.0.1:27017/?directConnection=true")])
        #expect(config.collections == [Namespace(database: "sample_analytics", collection: "customers")])
        #expect(config.onHistoryLost == .stop)
    }

    @Test("[sync] on_history_lost reads stop and resync, in any case", arguments: ["stop", "resync", "Resync"])
    func onHistoryLost(value: String) throws {
        let config = try SyncConfig.parse(text: minimal + "\n[sync]\non_history_lost = \(value)", path: Self.path)
        #expect(config.onHistoryLost.rawValue == value.lowercased())
    }

    @Test(
        "every [sync] key and every [oplog:<name>] section is read",
        arguments: [
            ("yes", true), ("on", true), ("1", true), ("TRUE", true), ("no", false), ("off", false), ("0", false),
            ("False", false),
        ])
    func syncSettings(bool: String, expected: Bool) throws {
        let text =
            minimal + """

                [sync]
                schemas_dir = /var/lib/sync/schemas
                state_schema = sync_state
                target_schema = mirror
                table_prefix = mongo_
                batch_size = 250
                follow_commit_seconds = 2
                document_cache_mb = 0
                keep_extra = \(bool)
                strip_nul = \(bool)
                schema_changes = Stop

                [oplog:shard-a]
                uri = mongodb://a.example:27017/?replicaSet=shard-a

                [oplog:shard_b.2]
                uri = mongodb+srv://b.example.com/
                """
        let config = try SyncConfig.parse(text: text, path: Self.path)
        #expect(config.schemasDirectory == "/var/lib/sync/schemas")
        #expect(config.stateSchema == "sync_state")
        #expect(config.targetSchema == "mirror")
        #expect(config.tablePrefix == "mongo_")
        #expect(config.batchSize == 250)
        #expect(config.followCommitSeconds == 2)
        #expect(config.documentCacheMB == 0)
        #expect(config.keepExtra == expected)
        #expect(config.stripNul == expected)
        #expect(config.schemaChanges == .stop)
        #expect(config.oplogSources.map(\.name) == ["shard-a", "shard_b.2"])
        #expect(
            config.oplogSources.map(\.uri) == [
                "mongodb://a.example:27017/?replicaSet=shard-a", "mongodb+srv://b.example.com/",
            ])
    }

    @Test(
        "a relative schemas_dir is resolved against the configuration file's folder",
        arguments: [
            ("/etc/sync/sync.ini", "schemas", "/etc/sync/schemas"),
            ("/etc/sync/sync.ini", "./a/b", "/etc/sync/a/b"),
            ("/etc/sync/sync.ini", "../shared/schemas", "/etc/shared/schemas"),
            ("/etc/sync/sync.ini", "/srv/schemas", "/srv/schemas"),
        ])
    func schemasDirectory(configPath: String, setting: String, expected: String) throws {
        let config = try SyncConfig.parse(text: minimal + "\n[sync]\nschemas_dir = \(setting)", path: configPath)
        #expect(config.schemasDirectory == expected)
    }

    @Test("[collections] DB.COLL = table names the root table, as given, and plans name every table after it")
    func rootTableNames() throws {
        let config = try SyncConfig.parse(
            text: minimal + "\nshop.customers = shop_customers\n\n[sync]\ntable_prefix = mg_", path: Self.path)
        #expect(config.collections.map(\.description) == ["sample_analytics.customers", "shop.customers"])
        #expect(config.rootTableNames == ["shop.customers": "shop_customers"])
        let schema = #"{"_id": "objectId", "accounts": ["int"]}"#
        let own = try SchemaFixtures.plan(schema, namespace: "shop.customers", settings: config.flattenSettings)
        #expect(own.tables.map(\.name) == ["shop_customers", "shop_customers_accounts"])
        let prefixed = try SchemaFixtures.plan(
            schema, namespace: "sample_analytics.customers", settings: config.flattenSettings)
        #expect(prefixed.tables.map(\.name) == ["mg_customers", "mg_customers_accounts"])
        let back = try TablePlan(catalog: own.catalog, settings: FlattenSettings())
        #expect(back.tables.map(\.name) == own.tables.map(\.name), "the catalog alone names them back")
    }

    @Test("a configuration path relative to the working folder still yields an absolute schemas folder")
    func relativeConfigurationPath() throws {
        let config = try SyncConfig.parse(text: minimal, path: "conf/sync.ini")
        let expected = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent("conf/schemas").standardizedFileURL.path
        #expect(config.schemasDirectory == expected)
    }

    @Test("each bad file is a ConfigError (exit 78) naming the file, the line and the key", arguments: badConfigs)
    func badFile(_ bad: BadConfig) throws {
        let error = try #require(throws: ConfigError.self) { try SyncConfig.parse(text: bad.text, path: Self.path) }
        #expect(error.kind == bad.kind)
        #expect(error.line == bad.line)
        #expect(error.exitStatus == .configError)
        #expect(error.exitStatus.rawValue == 78)
        #expect(error.description.contains(Self.path + (bad.line.map { ":\($0):" } ?? ":")), "\(error)")
        #expect(error.description.contains(bad.names), "\(error)")
    }

    @Test("[psql] connect_timeout joins the conninfo unless the conninfo names its own")
    func connectTimeout() throws {
        func conninfo(_ value: String, timeout: String?) throws -> String {
            var text = minimal.replacingOccurrences(of: "host=127.0.0.1 dbname=postgres user=sync", with: value)
            if let timeout {
                text = text.replacingOccurrences(of: "[psql]\n", with: "[psql]\nconnect_timeout = \(timeout)\n")
            }
            return try SyncConfig.parse(text: text, path: Self.path).postgresConninfo
        }
        #expect(try conninfo("host=h user=u", timeout: "3") == "host=h user=u connect_timeout=3")
        #expect(try conninfo("host=h connect_timeout=7", timeout: "3") == "host=h connect_timeout=7")
        #expect(try conninfo("postgresql://u@h/db", timeout: "3") == "postgresql://u@h/db?connect_timeout=3")
        #expect(
            try conninfo("postgresql://u@h/db?sslmode=disable", timeout: "3")
                == "postgresql://u@h/db?sslmode=disable&connect_timeout=3")
        let own = "postgresql://u@h/db?connect_timeout=7"
        #expect(try conninfo(own, timeout: "3") == own)
        #expect(try conninfo("host=h user=u", timeout: nil) == "host=h user=u")
        let keywords = try PostgresConninfo.keywords(of: try conninfo("host=h user=u", timeout: "3"))
        #expect(keywords["connect_timeout"] == "3")
    }

    @Test("a MongoDB URI libmongoc refuses is named by line and key, without its password")
    func mongoURIPassword() throws {
        let secret = "s3cr3t-\(UUID().uuidString.prefix(6))"
        let text = minimal.replacingOccurrences(
            of: "mongodb://127.0.0.1:27017/", with: "mongodb://reader:\(secret)@127.0.0.1:99999/")
        let error = try #require(throws: ConfigError.self) { try SyncConfig.parse(text: text, path: Self.path) }
        #expect(error.description.contains("\(Self.path):2: [mongo] uri:"), "\(error)")
        #expect(!error.description.contains(secret))
    }

    @Test("an unreadable file is a ConfigError naming its path, exit 78")
    func unreadableFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for path in [folder.appendingPathComponent("missing.ini").path, folder.path] {
            let error = try #require(throws: ConfigError.self) { try SyncConfig.load(path: path) }
            #expect(error.kind == .unreadable)
            #expect(error.exitStatus == .configError)
            #expect(error.description.contains(path))
        }
        let file = folder.appendingPathComponent("ok.ini")
        try Data(minimal.utf8).write(to: file)
        #expect(try SyncConfig.load(path: file.path).collections.count == 1)
    }

    @Test(
        "a password in the conninfo is rejected without being repeated",
        arguments: [
            "host=h dbname=d password=Hunter2-secret",
            "host=h password = 'Hunter2-secret with space' dbname=d",
            "postgresql://sync:Hunter2-secret@127.0.0.1:5432/postgres",
            "postgres://127.0.0.1/postgres?user=sync&password=Hunter2-secret",
        ])
    func passwordInConninfo(conninfo: String) throws {
        let text = minimal.replacingOccurrences(of: "host=127.0.0.1 dbname=postgres user=sync", with: conninfo)
        let error = try #require(throws: ConfigError.self) { try SyncConfig.parse(text: text, path: Self.path) }
        #expect(error.kind == .badValue)
        #expect(error.key == "conninfo")
        #expect(!error.description.contains("Hunter2"))
    }

    @Test(
        "conninfo strings and URIs without a password are accepted as written",
        arguments: [
            "host=127.0.0.1 port=5432 dbname=postgres user=sync",
            "host = 127.0.0.1  application_name='mongo pg sync' dbname=x\\ y",
            "postgresql://sync@127.0.0.1:5432/postgres?sslmode=disable",
            "postgres:///postgres",
        ])
    func conninfoAccepted(conninfo: String) throws {
        let text = minimal.replacingOccurrences(of: "host=127.0.0.1 dbname=postgres user=sync", with: conninfo)
        #expect(try SyncConfig.parse(text: text, path: Self.path).postgresConninfo == conninfo)
    }

    @Test("password_env resolves from the environment; the password appears in no description")
    func passwordFromEnvironment() throws {
        let text = minimal.replacingOccurrences(of: "[psql]\n", with: "[psql]\npassword_env = SYNC_PG_PASSWORD\n")
            .replacingOccurrences(of: "mongodb://127.0.0.1", with: "mongodb://reader:Mongo-secret@127.0.0.1")
        let config = try SyncConfig.parse(text: text, path: Self.path)
        #expect(try config.postgresPassword(environment: ["SYNC_PG_PASSWORD": "Hunter2-secret"]) == "Hunter2-secret")
        #expect(!config.description.contains("Hunter2"))
        #expect(!config.description.contains("Mongo-secret"))
        #expect(!String(describing: config).contains("Mongo-secret"))

        for environment in [[:], ["SYNC_PG_PASSWORD": ""]] {
            let error = try #require(throws: ConfigError.self) { try config.postgresPassword(environment: environment) }
            #expect(error.kind == .missingPassword)
            #expect(error.exitStatus == .configError)
            #expect(error.line == 5)
            #expect(error.description.contains("SYNC_PG_PASSWORD"))
            #expect(error.description.contains("password_env"))
            #expect(error.description.contains(Self.path + ":5:"))
        }
    }

    @Test("a bad MongoDB URI is named by its key, never repeated (it may hold credentials)")
    func mongoURINotRepeated() throws {
        let text = minimal.replacingOccurrences(
            of: "mongodb://127.0.0.1:27017/?directConnection=true", with: "mongo://admin:Mongo-secret@h/")
        let error = try #require(throws: ConfigError.self) { try SyncConfig.parse(text: text, path: Self.path) }
        #expect(error.key == "uri")
        #expect(!error.description.contains("Mongo-secret"))
    }

    @Test("valid files with random names and numbers read back what they say")
    func randomValidFiles() async {
        await propertyCheck(
            count: 200, input: Gen.int(in: 1...1_000_000), Gen.letterOrNumber.string(of: 1...12),
            Gen.letterOrNumber.string(of: 1...12)
        ) { batchSize, database, collection in
            let text =
                minimal.replacingOccurrences(of: "sample_analytics.customers", with: "\(database).\(collection)")
                + "\n[sync]\nbatch_size = \(batchSize)\n"
            do {
                let config = try SyncConfig.parse(text: text, path: "/x/y.ini")
                #expect(config.batchSize == batchSize)
                #expect(config.collections == [Namespace(database: database, collection: collection)])
            } catch {
                Issue.record("a valid file was rejected: \(error)")
            }
        }
    }

    @Test("random text never crashes the parser: it parses or throws a ConfigError naming the file")
    func randomText() async {
        let pieces = [
            "[", "]", "=", " = ", "#", ";", "\n", "\r\n", "\r", " ", "\t", ".", ":", "mongo", "psql", "sync", "oplog:",
            "collections", "uri", "conninfo", "password_env", "batch_size", "keep_extra", "mongodb://h/",
            "postgresql://u@h/d", "host=h", "'", "\\", "@", "a", "Z", "0", "-1", "é", "\u{0}", "\u{FEFF}", "[mongo]\n",
            "[psql]\n", "[collections]\n", "a.b\n",
        ]
        let pieceGenerator = Gen<String?>.element(of: pieces).map { (piece: String?) -> String in piece ?? "" }
        let textGenerator = pieceGenerator.array(of: 0...80).map { (parts: [String]) -> String in parts.joined() }
        await propertyCheck(count: 1000, input: textGenerator) { text in
            do {
                _ = try SyncConfig.parse(text: text, path: "/fuzz/sync.ini")
            } catch let error as ConfigError {
                #expect(error.exitStatus == .configError)
                #expect(error.description.hasPrefix("configuration /fuzz/sync.ini"))
            } catch {
                Issue.record("not a ConfigError: \(error)")
            }
        }
    }
}
