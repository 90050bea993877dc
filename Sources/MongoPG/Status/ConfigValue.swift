extension SyncConfig {
    /// One configured value for shell wrappers (`etlstatus config SECTION.KEY`): every key of `Setting.all`
    /// (`sync.schemas_dir` absolute, `oplog:rs0.uri`, ...), `freshness.<table>`, and `collections` (one namespace a
    /// line). Defaults apply: `sync.state_schema` answers `etl` when the file does not set it; an optional key without
    /// a default answers an empty string. An unknown key is a `ConfigError` (78). A value holding a password is never
    /// printed: a MongoDB URI with one is refused with a `ConfigError` too (a conninfo cannot hold one: loading
    /// refuses it).
    public func value(forKey key: String) throws(ConfigError) -> String {
        func unknown() -> ConfigError {
            ConfigError(
                .unknownKey, path: path, key: key,
                "unknown setting; give SECTION.KEY: "
                    + (Setting.all.map(\.name) + ["freshness.<table>", "collections"]).joined(separator: ", "))
        }
        if key == "collections" { return collections.map(\.description).joined(separator: "\n") }
        if key.hasPrefix("freshness.") {
            let table = String(key.dropFirst("freshness.".count))
            guard let rule = freshness.first(where: { $0.table == table }) else { throw unknown() }
            return "\(rule.column) \(rule.maxAge)"
        }
        guard let dot = key.lastIndex(of: ".") else { throw unknown() }
        let header = String(key[..<dot])
        guard let section = Setting.Section(header: header),
            let setting = Setting.named(String(key[key.index(after: dot)...]), in: section)
        else { throw unknown() }
        let value: String
        switch setting.reader {
        case .config(let read): value = read(self)
        case .source(let read):
            guard let source = oplogSources.first(where: { "oplog:" + $0.name == header }) else { throw unknown() }
            value = read(source)
        }
        let holdsPassword =
            switch setting.type {
            case .mongoURI: URIPassword.of(value) != nil
            case .conninfo: (try? Self.conninfoPassword(value).get()) != false
            default: false
            }
        guard !holdsPassword else {
            throw ConfigError(
                .badValue, path: path, key: key, "holds a password, which is never printed; put it elsewhere")
        }
        return value
    }
}
