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
    /// `[oplog:<name>]`'s `mode`, `scope` and `full_document`, checked: the last two only mean something for a
    /// change stream, so a value other than their default is refused with `mode = oplog` rather than ignored.
    static func oplogSource(name: String, uri: String, section: INIFile.Section, path: String) throws(ConfigError)
        -> OplogSource
    {
        func bad(_ entry: INIFile.Entry, _ message: String) -> ConfigError {
            ConfigError(.badValue, path: path, line: entry.line, section: section.name, key: entry.key, message)
        }
        var source = OplogSource(name: name, uri: uri)
        if let entry = section.entry("mode") {
            guard let mode = OplogSourceMode(rawValue: entry.value.lowercased()) else {
                throw bad(entry, "must be `oplog` or `changestream`, not `\(entry.value)`")
            }
            source.mode = mode
        }
        if let entry = section.entry("scope") {
            guard let scope = OplogSourceScope(rawValue: entry.value.lowercased()) else {
                throw bad(entry, "must be `cluster` or `database`, not `\(entry.value)`")
            }
            guard source.mode == .changeStream || scope == .cluster else {
                throw bad(entry, "`\(entry.value)` applies to `mode = changestream` only")
            }
            source.scope = scope
        }
        if let entry = section.entry("full_document") {
            switch entry.value.lowercased() {
            case "off": source.updateLookup = false
            case "update_lookup": source.updateLookup = true
            default: throw bad(entry, "must be `off` or `update_lookup`, not `\(entry.value)`")
            }
            guard source.mode == .changeStream || !source.updateLookup else {
                throw bad(entry, "`\(entry.value)` applies to `mode = changestream` only")
            }
        }
        return source
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
}
