extension SyncConfig {
    /// The optional `[freshness]` section: one line per watched table of the target schema,
    /// `<table> = <timestamp column> <max age>` (`customers = updated_at 2h`). A line that is not that is a
    /// `ConfigError` naming file, line and table.
    static func freshnessRules(in file: INIFile) throws(ConfigError) -> [FreshnessRule] {
        guard let section = file.section("freshness") else { return [] }
        var rules: [FreshnessRule] = []
        for entry in section.entries {
            switch FreshnessRule.parse(table: entry.key, value: entry.value) {
            case .success(let rule): rules.append(rule)
            case .failure(let reason):
                throw ConfigError(
                    .badValue, path: file.path, line: entry.line, section: section.name, key: entry.key, reason.message)
            }
        }
        return rules
    }
}
