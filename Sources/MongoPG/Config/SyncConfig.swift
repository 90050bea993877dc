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
    /// `[psql] distribute`: whether psql-copy creates Citus distributed tables.
    public var distribute: Distribution
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
    /// `[sync] schema_changes`: whether oplog-sync applies a schema file changed since the load in place.
    public var schemaChanges: SchemaChangePolicy
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
    /// `[sync] hash_key_env`: the name of the environment variable holding the key of hashed fields, if any. It is
    /// read when a schema hashes a field (`flattenSettings`); unset or empty then, the schema is refused (exit 78).
    public var hashKeyEnvironmentVariable: String?

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
    /// `[psql] connect_timeout`, in seconds (libpq waits at least 2); unset, `PostgresConninfo.defaultConnectTimeout`.
    public static let connectTimeouts = 1...3600

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

    /// The sections whose keys are data, each checked by its own reader: `[collections]` names namespaces,
    /// `[freshness]` tables.
    static let dataSections = ["collections", "freshness"]

    private init(file: INIFile) throws(ConfigError) {
        let path = file.path
        self.path = path

        // Unknown sections and keys first, in file order, so the first error is the first bad line.
        for section in file.sections where !Self.dataSections.contains(section.name) {
            guard let kind = Setting.Section(header: section.name) else {
                let known = Setting.Section.allCases.map { "[\($0.name)]" } + Self.dataSections.map { "[\($0)]" }
                throw ConfigError(
                    .unknownSection, path: path, line: section.line, section: section.name,
                    "unknown section (known: \(known.joined(separator: ", ")))")
            }
            for entry in section.entries where Setting.named(entry.key, in: kind) == nil {
                let known = Setting.all.filter { $0.section == kind }.map(\.key).sorted()
                throw ConfigError(
                    .unknownKey, path: path, line: entry.line, section: section.name, key: entry.key,
                    "unknown key (known: \(known.joined(separator: ", ")))")
            }
        }

        func required(_ name: String) throws(ConfigError) -> INIFile.Section {
            guard let section = file.section(name) else {
                throw ConfigError(.missingSection, path: path, section: name, "required section is missing")
            }
            return section
        }
        func bad(_ section: INIFile.Section, _ entry: INIFile.Entry, _ message: String) -> ConfigError {
            ConfigError(.badValue, path: path, line: entry.line, section: section.name, key: entry.key, message)
        }
        /// The text of `key` in `section` (nil: the section is absent), checked against its type in the table; its
        /// default when the section does not set it.
        func text(_ key: String, in section: INIFile.Section?) throws(ConfigError) -> String {
            let kind = section.flatMap { Setting.Section(header: $0.name) } ?? .sync
            guard let setting = Setting.named(key, in: kind) else {
                preconditionFailure("the setting table has no key \(key) in [\(kind.name)]")
            }
            guard let section, let entry = section.entry(key) else {
                if setting.isRequired, let section {
                    throw ConfigError(
                        .missingKey, path: path, line: section.line, section: section.name, key: key,
                        "required key is missing from this section")
                }
                return setting.defaultValue ?? ""
            }
            if setting.isRequired && entry.value.isEmpty { throw bad(section, entry, "must not be empty") }
            if let problem = setting.type.problem(with: entry.value) { throw bad(section, entry, problem) }
            return entry.value
        }

        // [mongo]
        let mongo = try required("mongo")
        mongoURI = try text("uri", in: mongo)

        // [psql]
        let psql = try required("psql")
        postgresConninfo = try text("conninfo", in: psql)
        if let entry = psql.entry("connect_timeout") {
            let seconds = Int(try text("connect_timeout", in: psql)) ?? PostgresConninfo.defaultConnectTimeout
            do {
                postgresConninfo = try PostgresConninfo.adding("connect_timeout", String(seconds), to: postgresConninfo)
            } catch {
                throw bad(psql, entry, "libpq refuses it: \(error.serverMessage)")
            }
        }
        let passwordVariable = try text("password_env", in: psql)
        passwordEnvironmentVariable = passwordVariable.isEmpty ? nil : passwordVariable
        passwordEnvironmentLine = psql.entry("password_env")?.line
        distribute = Distribution(rawValue: try text("distribute", in: psql).lowercased()) ?? .auto

        // [sync], optional: every key has a default.
        let sync = file.section("sync")
        func number(_ key: String) throws(ConfigError) -> Int {
            Int(try text(key, in: sync)) ?? 0  // the type check accepted only whole numbers
        }
        func flag(_ key: String) throws(ConfigError) -> Bool {
            SettingType.boolean(try text(key, in: sync)) ?? false  // the type check accepted only booleans
        }
        schemasDirectory = Self.resolve(try text("schemas_dir", in: sync), againstFolderOf: path)
        stateSchema = try text("state_schema", in: sync)
        targetSchema = try text("target_schema", in: sync)
        tablePrefix = try text("table_prefix", in: sync)
        batchSize = try number("batch_size")
        followCommitSeconds = try number("follow_commit_seconds")
        documentCacheMB = try number("document_cache_mb")
        keepExtra = try flag("keep_extra")
        stripNul = try flag("strip_nul")
        schemaChanges = SchemaChangePolicy(rawValue: try text("schema_changes", in: sync).lowercased()) ?? .apply
        onHistoryLost = HistoryLostAction(rawValue: try text("on_history_lost", in: sync).lowercased()) ?? .stop
        let hashKeyVariable = try text("hash_key_env", in: sync)
        hashKeyEnvironmentVariable = hashKeyVariable.isEmpty ? nil : hashKeyVariable

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
            var source = OplogSource(name: name, uri: try text("uri", in: section))
            source.mode = OplogSourceMode(rawValue: try text("mode", in: section).lowercased()) ?? .oplog
            source.scope = OplogSourceScope(rawValue: try text("scope", in: section).lowercased()) ?? .cluster
            source.updateLookup = try text("full_document", in: section).lowercased() == "update_lookup"
            try Self.checkChangeStreamKeys(of: source, section: section, path: path)
            sources.append(source)
        }
        oplogSources = sources.isEmpty ? [OplogSource(name: Self.defaultOplogSourceName, uri: mongoURI)] : sources

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

    /// The `connect_timeout` every connection uses: the conninfo's own, the one `[psql] connect_timeout` added to it,
    /// or `PostgresConninfo.defaultConnectTimeout`.
    public var postgresConnectTimeout: String {
        (try? PostgresConninfo.keywords(of: postgresConninfo))?["connect_timeout"]
            ?? String(PostgresConninfo.defaultConnectTimeout)
    }

    public var description: String {
        "configuration \(path): collections \(collections.map(\.description).joined(separator: ", ")); "
            + "oplog sources \(oplogSources.map(\.name).joined(separator: ", ")); schemas \(schemasDirectory); "
            + "state schema \(stateSchema), target schema \(targetSchema), table prefix \"\(tablePrefix)\", "
            + "batch size \(batchSize), follow commit seconds \(followCommitSeconds), document cache \(documentCacheMB) MiB, keep_extra \(keepExtra), strip_nul \(stripNul), schema_changes \(schemaChanges.rawValue)"
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

    /// Whether a libpq connection string sets a password (a `password` keyword, a URI's `user:password@` or
    /// `?password=`), as libpq's own parser reads it; libpq's refusal when it is no connection string.
    static func conninfoPassword(_ text: String) -> Result<Bool, PostgresError> {
        do {
            return .success(try PostgresConninfo.keywords(of: text)["password"] != nil)
        } catch {
            return .failure(error)
        }
    }

    /// `folder` as is when absolute; otherwise relative to the folder holding the configuration file at `path`.
    static func resolve(_ folder: String, againstFolderOf path: String) -> String {
        if folder.hasPrefix("/") { return URL(fileURLWithPath: folder).standardizedFileURL.path }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        return base.appendingPathComponent(folder).standardizedFileURL.path
    }
}

/// `[sync] schema_changes`: what oplog-sync does with a schema file changed since its collection's load.
public enum SchemaChangePolicy: String, Sendable, Equatable, CaseIterable {
    /// Additive changes are applied in place; others stop the run with exit 1.
    case apply
    /// Every change stops the run with exit 1 (init load needed).
    case stop
}
