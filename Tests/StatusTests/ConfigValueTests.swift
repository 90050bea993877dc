import Testing

@testable import MongoPG

@Suite("[freshness] and etlstatus config SECTION.KEY (pure)")
struct ConfigValueTests {
    static func config(_ extra: String = "", mongo: String = "mongodb://127.0.0.1:1/") throws -> SyncConfig {
        try SyncConfig.parse(
            text: """
                [mongo]
                uri = \(mongo)
                [psql]
                conninfo = host=db dbname=sync user=etl
                [sync]
                target_schema = mirror
                [oplog:shard.a]
                uri = mongodb://a:1/
                [collections]
                shop.orders
                \(extra)
                """, path: "/etc/sync/sync.ini")
    }

    @Test("[freshness] lines name a table, its timestamp column and a max age")
    func freshness() throws {
        let config = try Self.config("[freshness]\norders = updated_at 2h\n日本 表 = created at 90s")
        #expect(
            config.freshness == [
                FreshnessRule(table: "orders", column: "updated_at", maxAge: TimeSpan(seconds: 7_200)),
                FreshnessRule(table: "日本 表", column: "created at", maxAge: TimeSpan(seconds: 90)),
            ])
        #expect(try Self.config().freshness.isEmpty)
    }

    @Test(
        "a bad [freshness] line is a configuration error naming file, line and table",
        arguments: [
            ("orders = updated_at", "must be"), ("orders = updated_at soon", "`soon`"),
            ("orders = updated_at 0s", "`0s`"),
            ("orders = updated_at -5m", "`-5m`"), ("orders =", "must be"),
        ])
    func badFreshness(line: String, reason: String) throws {
        let error = #expect(throws: ConfigError.self) { try Self.config("[freshness]\n" + line) }
        #expect(error?.exitStatus == .configError)
        #expect(
            error?.description.hasPrefix("configuration /etc/sync/sync.ini:12: [freshness] orders:") == true,
            "\(error?.description ?? "")")
        #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
    }

    @Test(
        "known keys answer their value, defaults included",
        arguments: [
            ("mongo.uri", "mongodb://127.0.0.1:1/"), ("psql.conninfo", "host=db dbname=sync user=etl"),
            ("psql.password_env", ""), ("sync.schemas_dir", "/etc/sync/schemas"), ("sync.state_schema", "etl"),
            ("sync.target_schema", "mirror"), ("sync.table_prefix", ""), ("sync.batch_size", "1000"),
            ("sync.follow_commit_seconds", "5"), ("sync.document_cache_mb", "64"), ("psql.connect_timeout", "10"),
            ("sync.keep_extra", "false"), ("oplog:shard.a.uri", "mongodb://a:1/"), ("oplog:shard.a.mode", "oplog"),
            ("oplog:shard.a.scope", "cluster"), ("oplog:shard.a.full_document", "off"), ("collections", "shop.orders"),
            ("freshness.orders", "updated_at 2h"),
        ])
    func values(key: String, value: String) throws {
        #expect(try Self.config("[freshness]\norders = updated_at 120m").value(forKey: key) == value)
    }

    @Test("the two keys the answers once lacked: set in the file, and connect_timeout as the conninfo's own")
    func documentCacheAndConnectTimeout() throws {
        func config(psql: String, sync: String = "") throws -> SyncConfig {
            try SyncConfig.parse(
                text: "[mongo]\nuri = mongodb://h/\n[psql]\n\(psql)\n[sync]\n\(sync)\n[collections]\nshop.orders\n",
                path: "/etc/sync/sync.ini")
        }
        let set = try config(psql: "conninfo = host=db\nconnect_timeout = 3", sync: "document_cache_mb = 0")
        #expect(try set.value(forKey: "sync.document_cache_mb") == "0")
        #expect(try set.value(forKey: "psql.connect_timeout") == "3")
        let own = try config(psql: "conninfo = host=db connect_timeout=7\nconnect_timeout = 3")
        #expect(try own.value(forKey: "psql.connect_timeout") == "7")
        let uri = try config(psql: "conninfo = postgresql://etl@db/sync?connect_timeout=8")
        #expect(try uri.value(forKey: "psql.connect_timeout") == "8")
    }

    @Test("every key of the setting table answers, for a file that sets none of the optional ones")
    func everyKeyAnswers() throws {
        let config = try Self.config()
        for setting in Setting.all {
            let key = setting.name.replacingOccurrences(of: "<name>", with: "shard.a")
            let value = try config.value(forKey: key)
            if let fallback = setting.defaultValue, !["schemas_dir", "target_schema"].contains(setting.key) {
                #expect(value == fallback, "\(key)")
            }
        }
    }

    @Test(
        "an unknown key is a configuration error (78)",
        arguments: [
            "mongo.url", "sync", "psql.password", "oplog:rs0.uri", "freshness.customers", "", ".", "collections.x",
        ])
    func unknownKey(key: String) throws {
        let error = #expect(throws: ConfigError.self) { try Self.config().value(forKey: key) }
        #expect(error?.kind == .unknownKey)
        #expect(error?.exitStatus == .configError)
    }

    @Test("a MongoDB URI holding a password is never printed")
    func password() throws {
        let config = try Self.config(mongo: "mongodb://reader:s3cret@db:27017/?authSource=admin")
        let error = #expect(throws: ConfigError.self) { try config.value(forKey: "mongo.uri") }
        #expect(error?.exitStatus == .configError)
        #expect(error?.description.contains("s3cret") == false)
        #expect(
            try Self.config(mongo: "mongodb://reader@db:27017/").value(forKey: "mongo.uri")
                == "mongodb://reader@db:27017/")
    }
}
