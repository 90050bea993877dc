import Foundation

/// The typed settings of every tool, read from the INI file that `--config` names (`sample-config.ini` documents each
/// key). Unknown sections and keys, missing required ones and bad values are `ConfigError`s naming file, line and key.
///
/// Secrets: the PostgreSQL password is never part of the file. It comes from `PGPASSWORD`, `~/.pgpass`, or the
/// variable that `password_env` names (`postgresPassword(environment:)`); a conninfo or URI holding a password is
/// rejected. `description` shows no URI and no conninfo, since a MongoDB URI may carry credentials.
public struct SyncConfig: Sendable, CustomStringConvertible {
    /// One replica set whose oplog `oplog-sync` replays: `[oplog:<name>]`, or `rs0` reading `[mongo] uri`.
    public struct OplogSource: Sendable, Equatable {
        public var name: String
        public var uri: String
        /// `mode`: how oplog-sync reads the source's changes.
        public var mode: OplogSourceMode = .oplog
        /// `scope`, in `changestream` mode: one stream on the cluster, or one per configured database.
        public var scope: OplogSourceScope = .cluster
        /// `full_document = update_lookup`, in `changestream` mode: updates apply the document as the server looks it
        /// up, not the update description.
        public var updateLookup = false
        public init(
            name: String, uri: String, mode: OplogSourceMode = .oplog, scope: OplogSourceScope = .cluster,
            updateLookup: Bool = false
        ) {
            self.name = name
            self.uri = uri
            self.mode = mode
            self.scope = scope
            self.updateLookup = updateLookup
        }
    }

    /// The file the settings came from, as given.
    public var path: String
    /// `[mongo] uri`: reads and verification.
    public var mongoURI: String
    /// `[psql] conninfo`: a libpq conninfo string (`host=… dbname=…`) or URI (`postgresql://…`), without a password,
    /// checked by libpq's parser; `[psql] connect_timeout`, when set, is added to it unless it names its own.
    public var postgresConninfo: String
    /// `[psql] password_env`: the name of the environment variable holding the password, if any.
    public var passwordEnvironmentVariable: String?
    /// `[sync] schemas_dir`, absolute: a relative path is resolved against the configuration file's folder.
    public var schemasDirectory: String
    public var stateSchema: String
    public var targetSchema: String
    public var tablePrefix: String
    public var batchSize: Int
    /// `[sync] follow_commit_seconds`: with `oplog-sync --follow`, a batch commits this long after its first entry
    /// was read, unless `batch_size` entries commit it first.
    public var followCommitSeconds: Int
    /// `[sync] document_cache_mb`: MiB of the documents oplog-sync wrote that it keeps between batches without
    /// verification, so that a later update of one need not read it back (0: none).
    public var documentCacheMB: Int
    public var keepExtra: Bool
    public var stripNul: Bool
    /// `[sync] on_history_lost`: what a plain oplog-sync does when a source's history no longer reaches its sync
    /// point: stop with 1 (default), or resync in place (`oplog-sync --resync`) and replay from there.
    public var onHistoryLost: HistoryLostAction
    /// At least one; in file order.
    public var oplogSources: [OplogSource]
    /// `[collections]`, in file order, at least one.
    public var collections: [Namespace]
    /// `[collections] DB.COLL = table`: the root table names the file gives, by `DB.COLL`.
    public var rootTableNames: [String: String]
    /// `[freshness]`, in file order: tables whose newest row `etlstatus check` watches.
    public var freshness: [FreshnessRule]

    private var passwordEnvironmentLine: Int?

    public static let defaultSchemasDirectory = "schemas"
    public static let defaultStateSchema = "etl"
    public static let defaultTargetSchema = "public"
    public static let defaultBatchSize = 1000
    /// A batch is held in memory whole, and a cursor's batchSize is an int32.
    public static let batchSizes = 1...1_000_000
    public static let defaultFollowCommitSeconds = 5
    public static let followCommitSecondsRange = 1...3600
    public static let defaultDocumentCacheMB = 64
    public static let documentCacheMBRange = 0...65536
    public static let defaultOplogSourceName = "rs0"

    public enum HistoryLostAction: String, Sendable, CaseIterable { case stop, resync }
    /// `[psql] connect_timeout`, in seconds (libpq waits at least 2); unset, `PostgresConninfo.defaultConnectTimeout`.
    public static let connectTimeouts = 1...3600

    /// Every section and its keys; `oplog:<name>` sections share the `oplog` entry. `[collections]` holds bare lines.
    static let knownKeys: [String: Set<String>] = [
        "mongo": ["uri"],
        "psql": ["conninfo", "password_env", "connect_timeout"],
        "sync": [
            "schemas_dir", "state_schema", "target_schema", "table_prefix", "batch_size", "follow_commit_seconds",
            "document_cache_mb",
            "keep_extra", "strip_nul", "on_history_lost",
        ],
        "oplog": ["uri", "mode", "scope", "full_document"],
        "collections": [],
        "freshness": [],  // its keys are table names: `freshnessRules(in:)` checks them
    ]

    // MARK: Reading

    /// Reads and checks the file at `path`. An unreadable file is a `ConfigError` naming the path (exit 78).
    public static func load(path: String) throws(ConfigError) -> SyncConfig {
        let text: String
        do {
            text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch {
            var isFolder: ObjCBool = false
            let reason: String
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
                reason = "no such file"
            } else if isFolder.boolValue {
                reason = "is a folder, not a file"
            } else if !FileManager.default.isReadableFile(atPath: path) {
                reason = "permission denied"
            } else {
                reason = "not UTF-8 text"
            }
            throw ConfigError(.unreadable, path: path, "cannot read the configuration file: \(reason)")
        }
        return try parse(text: text, path: path)
    }

    /// Parses and checks `text` as if read from `path` (which names the file in errors and anchors `schemas_dir`).
    public static func parse(text: String, path: String) throws(ConfigError) -> SyncConfig {
        let file = try INIFile(parsing: text, path: path, bareLineSections: ["collections"])
        return try SyncConfig(file: file)
    }

    private init(file: INIFile) throws(ConfigError) {
        let path = file.path
        self.path = path

        // Unknown sections and keys first, in file order, so the first error is the first bad line.
        for section in file.sections {
            let kind = section.name.hasPrefix("oplog:") ? "oplog" : section.name
            guard let keys = Self.knownKeys[kind] else {
                throw ConfigError(
                    .unknownSection, path: path, line: section.line, section: section.name,
                    "unknown section (known: [mongo], [psql], [sync], [oplog:<name>], [collections], [freshness])")
            }
            // [freshness] keys are table names, [collections] keys namespaces: each checks its own.
            for entry in section.entries where !keys.contains(entry.key) && kind != "freshness" && kind != "collections"
            {
                let known =
                    keys.isEmpty
                    ? "it lists namespaces DB.COLL, one per line" : "known: " + keys.sorted().joined(separator: ", ")
                throw ConfigError(
                    .unknownKey, path: path, line: entry.line, section: section.name, key: entry.key,
                    "unknown key (\(known))")
            }
        }

        func required(_ name: String) throws(ConfigError) -> INIFile.Section {
            guard let section = file.section(name) else {
                throw ConfigError(.missingSection, path: path, section: name, "required section is missing")
            }
            return section
        }
        func value(_ section: INIFile.Section, _ key: String) throws(ConfigError) -> INIFile.Entry {
            guard let entry = section.entry(key) else {
                throw ConfigError(
                    .missingKey, path: path, line: section.line, section: section.name, key: key,
                    "required key is missing from this section")
            }
            guard !entry.value.isEmpty else {
                throw ConfigError(
                    .badValue, path: path, line: entry.line, section: section.name, key: key, "must not be empty")
            }
            return entry
        }
        func bad(_ section: INIFile.Section, _ entry: INIFile.Entry, _ message: String) -> ConfigError {
            ConfigError(.badValue, path: path, line: entry.line, section: section.name, key: entry.key, message)
        }

        // [mongo]
        let mongo = try required("mongo")
        let mongoURI = try value(mongo, "uri")
        guard Self.isMongoURI(mongoURI.value) else {
            throw bad(mongo, mongoURI, "must be a MongoDB URI starting with mongodb:// or mongodb+srv://")
        }
        do {
            try MongoURI.check(mongoURI.value)
        } catch {
            throw bad(mongo, mongoURI, "libmongoc refuses it: \(error.message)")
        }
        self.mongoURI = mongoURI.value

        // [psql]
        let psql = try required("psql")
        let conninfo = try value(psql, "conninfo")
        switch Self.conninfoPassword(conninfo.value) {
        case nil:
            throw bad(psql, conninfo, "is neither a libpq URI (postgresql://…) nor `keyword=value` pairs")
        case true?:
            throw bad(
                psql, conninfo,
                "must not hold a password: use PGPASSWORD, ~/.pgpass or password_env naming an environment variable")
        case false?:
            postgresConninfo = conninfo.value
        }
        do {
            _ = try PostgresConninfo.keywords(of: conninfo.value)
        } catch {
            throw bad(psql, conninfo, "libpq refuses it: \(error.serverMessage)")
        }
        if let entry = psql.entry("connect_timeout") {
            guard let seconds = Int(entry.value), Self.connectTimeouts.contains(seconds) else {
                throw bad(psql, entry, "must be a whole number of seconds from 1 to 3600, not `\(entry.value)`")
            }
            do {
                postgresConninfo = try PostgresConninfo.adding("connect_timeout", String(seconds), to: postgresConninfo)
            } catch {
                throw bad(psql, conninfo, "libpq refuses it: \(error.serverMessage)")
            }
        }
        if let entry = psql.entry("password_env") {
            guard Self.isEnvironmentName(entry.value) else {
                throw bad(
                    psql, entry, "must name an environment variable (letters, digits and _, not starting with a digit)")
            }
            passwordEnvironmentVariable = entry.value
            passwordEnvironmentLine = entry.line
        } else {
            passwordEnvironmentVariable = nil
            passwordEnvironmentLine = nil
        }

        // [sync], optional: every key has a default.
        let sync = file.section("sync")
        func setting(_ key: String) -> INIFile.Entry? { sync?.entry(key) }
        func identifier(_ key: String, default fallback: String, allowEmpty: Bool) throws(ConfigError) -> String {
            guard let entry = setting(key), let sync else { return fallback }
            if entry.value.isEmpty && !allowEmpty { throw bad(sync, entry, "must not be empty") }
            guard entry.value.utf8.count <= 63 else {
                throw bad(sync, entry, "is longer than PostgreSQL's 63-byte identifier limit")
            }
            return entry.value
        }
        /// `unit` names what is counted in the error ("of seconds ").
        func wholeNumber(_ key: String, in range: ClosedRange<Int>, default fallback: Int, unit: String = "")
            throws(ConfigError) -> Int
        {
            guard let entry = setting(key), let sync else { return fallback }
            guard let number = Int(entry.value), range.contains(number) else {
                throw bad(
                    sync, entry,
                    "must be a whole number \(unit)from \(range.lowerBound) to \(range.upperBound), not `\(entry.value)`"
                )
            }
            return number
        }
        func bool(_ key: String) throws(ConfigError) -> Bool {
            guard let entry = setting(key), let sync else { return false }
            switch entry.value.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default:
                throw bad(sync, entry, "must be a boolean: true/false, yes/no, on/off or 1/0, not `\(entry.value)`")
            }
        }

        var schemas = Self.defaultSchemasDirectory
        if let entry = setting("schemas_dir"), let sync {
            guard !entry.value.isEmpty else { throw bad(sync, entry, "must not be empty") }
            schemas = entry.value
        }
        schemasDirectory = Self.resolve(schemas, againstFolderOf: path)
        stateSchema = try identifier("state_schema", default: Self.defaultStateSchema, allowEmpty: false)
        targetSchema = try identifier("target_schema", default: Self.defaultTargetSchema, allowEmpty: false)
        tablePrefix = try identifier("table_prefix", default: "", allowEmpty: true)
        batchSize = try wholeNumber("batch_size", in: Self.batchSizes, default: Self.defaultBatchSize)
        followCommitSeconds = try wholeNumber(
            "follow_commit_seconds", in: Self.followCommitSecondsRange, default: Self.defaultFollowCommitSeconds,
            unit: "of seconds ")
        documentCacheMB = try wholeNumber(
            "document_cache_mb", in: Self.documentCacheMBRange, default: Self.defaultDocumentCacheMB, unit: "of MiB ")
        keepExtra = try bool("keep_extra")
        stripNul = try bool("strip_nul")
        onHistoryLost = .stop
        if let entry = setting("on_history_lost"), let sync {
            guard let action = HistoryLostAction(rawValue: entry.value.lowercased()) else {
                throw bad(sync, entry, "must be stop or resync, not `\(entry.value)`")
            }
            onHistoryLost = action
        }

        // [oplog:<name>]
        var sources: [OplogSource] = []
        for section in file.sections where section.name.hasPrefix("oplog:") {
            let name = String(section.name.dropFirst("oplog:".count))
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) })
            else {
                throw ConfigError(
                    .badValue, path: path, line: section.line, section: section.name,
                    "the replica set name after `oplog:` must be letters, digits, _, - or .")
            }
            let uri = try value(section, "uri")
            guard Self.isMongoURI(uri.value) else {
                throw bad(section, uri, "must be a MongoDB URI starting with mongodb:// or mongodb+srv://")
            }
            do {
                try MongoURI.check(uri.value)
            } catch {
                throw bad(section, uri, "libmongoc refuses it: \(error.message)")
            }
            sources.append(try Self.oplogSource(name: name, uri: uri.value, section: section, path: path))
        }
        oplogSources = sources.isEmpty ? [OplogSource(name: Self.defaultOplogSourceName, uri: mongoURI.value)] : sources

        // [collections]: `DB.COLL`, or `DB.COLL = table` naming its root table.
        let list = try required("collections")
        var namespaces: [Namespace] = []
        var names: [String: String] = [:]
        var seen: [Namespace: Int] = [:]
        let lines =
            (list.bareLines.map { (text: $0.text, table: String?.none, line: $0.line) }
            + list.entries.map { (text: $0.key, table: Optional($0.value), line: $0.line) }).sorted {
                $0.line < $1.line
            }
        for line in lines {
            guard let namespace = Namespace(userGiven: line.text) else {
                throw ConfigError(
                    .badValue, path: path, line: line.line, section: list.name, key: line.text,
                    "not a namespace DB.COLL: \(Namespace.problem(with: line.text) ?? "refused")")
            }
            if let first = seen[namespace] {
                throw ConfigError(
                    .duplicateKey, path: path, line: line.line, section: list.name, key: line.text,
                    "namespace listed twice (first on line \(first))")
            }
            if let table = line.table {
                if let problem = Self.problem(withTableName: table) {
                    throw ConfigError(
                        .badValue, path: path, line: line.line, section: list.name, key: line.text,
                        "the table name after `=` \(problem)")
                }
                names[namespace.description] = table
            }
            seen[namespace] = line.line
            namespaces.append(namespace)
        }
        guard !namespaces.isEmpty else {
            throw ConfigError(
                .missingKey, path: path, line: list.line, section: list.name,
                "lists no namespace: give one DB.COLL per line")
        }
        rootTableNames = names
        // Two collections may never share a root table (DESIGN.md): the second load would replace the first's.
        let settings = FlattenSettings(tablePrefix: tablePrefix, rootTableNames: names)
        var owners: [FieldName: Namespace] = [:]
        for namespace in namespaces {
            let table = Identifier.sanitised(settings.rootTableName(of: namespace))
            if let other = owners.updateValue(namespace, forKey: FieldName(table)) {
                throw ConfigError(
                    .badValue, path: path, line: seen[namespace], section: list.name, key: namespace.description,
                    "its root table \"\(table)\" is also the root table of \(other) (line \(seen[other] ?? 0)): "
                        + "give one of them a table of its own, `\(namespace) = <table>`")
            }
        }
        collections = namespaces
        freshness = try Self.freshnessRules(in: file)
    }

    // MARK: Secrets

    /// The PostgreSQL password from the variable `password_env` names; nil when the key is absent (libpq then falls
    /// back to `PGPASSWORD` and `~/.pgpass`). A named variable that is unset or empty is a `ConfigError`.
    public func postgresPassword(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> String? {
        guard let name = passwordEnvironmentVariable else { return nil }
        guard let password = environment[name], !password.isEmpty else {
            throw ConfigError(
                .missingPassword, path: path, line: passwordEnvironmentLine, section: "psql", key: "password_env",
                "the environment variable \(name) is not set or empty")
        }
        return password
    }

    public var description: String {
        "configuration \(path): collections \(collections.map(\.description).joined(separator: ", ")); "
            + "oplog sources \(oplogSources.map(\.name).joined(separator: ", ")); schemas \(schemasDirectory); "
            + "state schema \(stateSchema), target schema \(targetSchema), table prefix \"\(tablePrefix)\", "
            + "batch size \(batchSize), follow commit seconds \(followCommitSeconds), document cache \(documentCacheMB) MiB, keep_extra \(keepExtra), strip_nul \(stripNul)"
    }

    // MARK: Checks

    static func isMongoURI(_ text: String) -> Bool {
        (text.hasPrefix("mongodb://") || text.hasPrefix("mongodb+srv://")) && !text.contains(where: \.isWhitespace)
    }

    /// Why `name` cannot name a root table, or nil: it must fit PostgreSQL's 63 bytes as it is (a cut name could
    /// not be told from another's) and hold no NUL.
    static func problem(withTableName name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > Identifier.maximumBytes {
            return "has \(name.utf8.count) bytes; PostgreSQL allows \(Identifier.maximumBytes)"
        }
        if name.contains("\0") { return "holds a NUL byte" }
        return nil
    }

    static func isEnvironmentName(_ text: String) -> Bool {
        guard let first = text.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return text.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    /// Whether a libpq connection string holds a password; nil when it is not one (libpq documents both forms in
    /// "Connection Strings": `keyword = value` pairs, values optionally single-quoted with `\'` and `\\` escapes,
    /// or a `postgresql://` / `postgres://` URI whose userinfo or query may carry `password`).
    static func conninfoPassword(_ text: String) -> Bool? {
        if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") {
            let rest = text[text.range(of: "://")!.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), authority[..<at].contains(":") { return true }
            if let question = rest.firstIndex(of: "?") {
                let parameters = rest[rest.index(after: question)...].split(separator: "&")
                if parameters.contains(where: { $0.split(separator: "=", maxSplits: 1).first == "password" }) {
                    return true
                }
            }
            return false
        }
        guard let keywords = conninfoKeywords(text) else { return nil }
        return keywords.contains("password")
    }

    /// The keywords of a `keyword = value` conninfo string; nil when malformed.
    static func conninfoKeywords(_ text: String) -> [String]? {
        var keywords: [String] = []
        var index = text.startIndex
        func skipSpaces() { while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) } }
        while true {
            skipSpaces()
            if index == text.endIndex { break }
            let keywordStart = index
            while index < text.endIndex, text[index] != "=", !text[index].isWhitespace {
                index = text.index(after: index)
            }
            let keyword = String(text[keywordStart..<index])
            skipSpaces()
            guard !keyword.isEmpty, index < text.endIndex, text[index] == "=" else { return nil }
            index = text.index(after: index)
            skipSpaces()
            if index < text.endIndex, text[index] == "'" {
                index = text.index(after: index)
                var closed = false
                while index < text.endIndex {
                    if text[index] == "\\" {
                        index = text.index(after: index)
                        guard index < text.endIndex else { return nil }
                    } else if text[index] == "'" {
                        closed = true
                        index = text.index(after: index)
                        break
                    }
                    index = text.index(after: index)
                }
                guard closed else { return nil }
            } else {
                while index < text.endIndex, !text[index].isWhitespace {
                    if text[index] == "\\" {
                        index = text.index(after: index)
                        guard index < text.endIndex else { return nil }
                    }
                    index = text.index(after: index)
                }
            }
            keywords.append(keyword)
        }
        return keywords.isEmpty ? nil : keywords
    }

    /// `folder` as is when absolute; otherwise relative to the folder holding the configuration file at `path`.
    static func resolve(_ folder: String, againstFolderOf path: String) -> String {
        if folder.hasPrefix("/") { return URL(fileURLWithPath: folder).standardizedFileURL.path }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        return base.appendingPathComponent(folder).standardizedFileURL.path
    }
}
