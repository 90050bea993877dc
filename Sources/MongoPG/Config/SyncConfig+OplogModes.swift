/// How oplog-sync reads a source's changes (`[oplog:<name>] mode`).
public enum OplogSourceMode: String, Sendable, Equatable, CaseIterable {
    /// `local.oplog.rs`, read from the sync point (needs `find` on `local.oplog.rs`).
    case oplog
    /// A change stream resumed from its stored token (needs `find` and `changeStream` on what it watches).
    case changeStream = "changestream"
}

/// What a `changestream` source watches (`[oplog:<name>] scope`).
public enum OplogSourceScope: String, Sendable, Equatable, CaseIterable {
    /// One stream on the whole deployment.
    case cluster
    /// One stream per database of `[collections]`, for users whose privileges stop at those databases.
    case database
}

extension SyncConfig {
    /// `[oplog:<name>]`'s `scope` and `full_document` only mean something for a change stream, so a value other than
    /// their default is refused with `mode = oplog` rather than ignored.
    static func checkChangeStreamKeys(of source: OplogSource, section: INIFile.Section, path: String)
        throws(ConfigError)
    {
        guard source.mode == .oplog else { return }
        for (key, isDefault) in [("scope", source.scope == .cluster), ("full_document", !source.updateLookup)]
        where !isDefault {
            guard let entry = section.entry(key) else { continue }
            throw ConfigError(
                .badValue, path: path, line: entry.line, section: section.name, key: key,
                "`\(entry.value)` applies to `mode = changestream` only")
        }
    }
}

extension SyncConfig {
    /// Every name a sync point is kept under, with its source: an oplog source's name, or each change stream's
    /// (`<name>/<database>` with `scope = database`).
    public var positionNames: [(name: String, source: OplogSource)] {
        oplogSources.flatMap { source -> [(name: String, source: OplogSource)] in
            guard source.mode == .changeStream, source.scope == .database else { return [(source.name, source)] }
            return Set(collections.map(\.database)).sorted().map { ("\(source.name)/\($0)", source) }
        }
    }

    /// Per source name, the position `collection`'s entries are read under (see `positionNames`).
    public func positionNames(for collection: Namespace) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: oplogSources.map { source in
                let database = source.mode == .changeStream && source.scope == .database
                return (source.name, database ? "\(source.name)/\(collection.database)" : source.name)
            })
    }
}

/// What a plain oplog-sync does when a source's history no longer reaches its sync point (`[sync] on_history_lost`).
public enum HistoryLostAction: String, Sendable, Equatable, CaseIterable {
    /// Exit 1, naming `oplog-sync --resync`.
    case stop
    /// Resync every collection in place (a warning says so), then replay: cron recovers unattended.
    case resync
}
