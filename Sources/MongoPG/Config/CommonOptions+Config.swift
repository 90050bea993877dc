extension CommonOptions {
    /// The settings of the file `--config` names; a missing, unreadable or invalid file is a `ConfigError` (exit 78).
    public func loadConfig() throws(ConfigError) -> SyncConfig { try SyncConfig.load(path: config) }
}
