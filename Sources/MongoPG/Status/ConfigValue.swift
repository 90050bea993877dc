extension SyncConfig {
    /// One configured value for shell wrappers (`etlstatus config SECTION.KEY`): `sync.schemas_dir` (absolute),
    /// `psql.conninfo`, `oplog:rs0.uri`, `freshness.<table>`, `collections` (one namespace a line), ... Defaults
    /// apply: `sync.state_schema` answers `etl` when the file does not set it; an optional key that is not set
    /// answers an empty string. An unknown key is a `ConfigError` (78). A value holding a password is never printed:
    /// a MongoDB URI with one is refused with a `ConfigError` too (a conninfo cannot hold one: loading refuses it).
    public func value(forKey key: String) throws(ConfigError) -> String {
        func unknown() -> ConfigError {
            ConfigError(
                .unknownKey, path: path, key: key,
                "unknown setting; give SECTION.KEY: mongo.uri, psql.conninfo, psql.password_env, sync.<key>, "
                    + "oplog:<name>.uri, freshness.<table> or collections")
        }
        func refused() -> ConfigError {
            ConfigError(.badValue, path: path, key: key, "holds a password, which is never printed; put it elsewhere")
        }
        func secretFree(_ uri: String) throws(ConfigError) -> String {
            guard !Self.uriHoldsPassword(uri) else { throw refused() }
            return uri
        }
        if key == "collections" { return collections.map(\.description).joined(separator: "\n") }
        if key.hasPrefix("freshness.") {
            let table = String(key.dropFirst("freshness.".count))
            guard let rule = freshness.first(where: { $0.table == table }) else { throw unknown() }
            return "\(rule.column) \(rule.maxAge)"
        }
        guard let dot = key.lastIndex(of: ".") else { throw unknown() }
        let section = String(key[..<dot]), name = String(key[key.index(after: dot)...])
        switch (section, name) {
        case ("mongo", "uri"): return try secretFree(mongoURI)
        case ("psql", "conninfo"):
            guard Self.conninfoPassword(postgresConninfo) == false else { throw refused() }
            return postgresConninfo
        case ("psql", "password_env"): return passwordEnvironmentVariable ?? ""
        case ("sync", "schemas_dir"): return schemasDirectory
        case ("sync", "state_schema"): return stateSchema
        case ("sync", "target_schema"): return targetSchema
        case ("sync", "table_prefix"): return tablePrefix
        case ("sync", "batch_size"): return String(batchSize)
        case ("sync", "follow_commit_seconds"): return String(followCommitSeconds)
        case ("sync", "keep_extra"): return String(keepExtra)
        case ("sync", "strip_nul"): return String(stripNul)
        case ("sync", "on_history_lost"): return onHistoryLost.rawValue
        case (let section, "uri") where section.hasPrefix("oplog:"):
            guard let source = oplogSources.first(where: { "oplog:" + $0.name == section }) else { throw unknown() }
            return try secretFree(source.uri)
        case (let section, let key)
        where section.hasPrefix("oplog:") && ["mode", "scope", "full_document"].contains(key):
            guard let source = oplogSources.first(where: { "oplog:" + $0.name == section }) else { throw unknown() }
            switch key {
            case "mode": return source.mode.rawValue
            case "scope": return source.scope.rawValue
            default: return source.updateLookup ? "update_lookup" : "off"
            }
        default: throw unknown()
        }
    }

    /// Whether a `mongodb://` URI carries a password in its userinfo (`user:password@`).
    static func uriHoldsPassword(_ uri: String) -> Bool {
        guard let scheme = uri.range(of: "://") else { return false }
        let rest = uri[scheme.upperBound...]
        let authority = rest[..<(rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex)]
        guard let at = authority.lastIndex(of: "@") else { return false }
        return authority[..<at].contains(":")
    }
}
