/// One key of the configuration file: its section, what it accepts, its default and what it means. `Setting.all` is
/// the one list of keys: parsing accepts exactly these (`[collections]` and `[freshness]` hold data, not keys),
/// `etlstatus config SECTION.KEY` answers each, its help lists them, and a test holds `sample-config.ini` to them.
public struct Setting: Sendable {
    /// The sections holding keys. `oplog` stands for every `[oplog:<name>]` section.
    public enum Section: String, Sendable, CaseIterable {
        case mongo, psql, sync, oplog

        /// As a header names it, `oplog:<name>` for the oplog sections.
        public var name: String { self == .oplog ? "oplog:<name>" : rawValue }

        /// The section a header names, or nil when it names none of these.
        init?(header: String) {
            if header.hasPrefix("oplog:") {
                self = .oplog
            } else if let section = Section(rawValue: header), section != .oplog {
                self = section
            } else {
                return nil
            }
        }
    }

    /// Where `etlstatus config` reads the setting's value, defaults applied.
    enum Reader: Sendable {
        case config(@Sendable (SyncConfig) -> String)
        case source(@Sendable (SyncConfig.OplogSource) -> String)
    }

    public let section: Section
    public let key: String
    public let type: SettingType
    /// The section cannot do without it.
    public let isRequired: Bool
    /// The value an absent key takes, as the file would spell it; nil when required or when absent means "none".
    public let defaultValue: String?
    /// What it is for, in one line.
    public let summary: String
    let reader: Reader

    /// `sync.batch_size`, `oplog:<name>.uri`.
    public var name: String { "\(section.name).\(key)" }

    init(
        _ section: Section, _ key: String, _ type: SettingType, required: Bool = false, default value: String? = nil,
        _ summary: String, reader: Reader
    ) {
        self.section = section
        self.key = key
        self.type = type
        self.isRequired = required
        self.defaultValue = value
        self.summary = summary
        self.reader = reader
    }

    /// The setting `key` of `section`, if the table has it.
    static func named(_ key: String, in section: Section) -> Setting? {
        all.first { $0.section == section && $0.key == key }
    }

    /// Every key, by section in file order.
    public static let all: [Setting] = [
        Setting(
            .mongo, "uri", .mongoURI, required: true, "the MongoDB the tools read and verify against",
            reader: .config(\.mongoURI)),

        Setting(
            .psql, "conninfo", .conninfo, required: true,
            "the PostgreSQL database to load: libpq conninfo or URI, never a password",
            reader: .config(\.postgresConninfo)),
        Setting(
            .psql, "password_env", .environmentName,
            "the variable holding the password (else PGPASSWORD or ~/.pgpass)",
            reader: .config { $0.passwordEnvironmentVariable ?? "" }),
        Setting(
            .psql, "connect_timeout", .wholeNumber(SyncConfig.connectTimeouts, unit: "of seconds "),
            default: String(PostgresConninfo.defaultConnectTimeout),
            "seconds to wait for a connection; a conninfo's own connect_timeout wins",
            reader: .config(\.postgresConnectTimeout)),
        Setting(
            .psql, "distribute", .choice(Distribution.allCases.map(\.rawValue)), default: Distribution.auto.rawValue,
            "citus: distributed tables; none: ordinary; auto: citus where installed",
            reader: .config { $0.distribute.rawValue }),

        Setting(
            .sync, "schemas_dir", .folder, default: SyncConfig.defaultSchemasDirectory,
            "the schema files' folder, relative to this file's (answered absolute)",
            reader: .config(\.schemasDirectory)),
        Setting(
            .sync, "state_schema", .identifier(allowEmpty: false), default: SyncConfig.defaultStateSchema,
            "the PostgreSQL schema of the tools' state", reader: .config(\.stateSchema)),
        Setting(
            .sync, "target_schema", .identifier(allowEmpty: false), default: SyncConfig.defaultTargetSchema,
            "the PostgreSQL schema receiving the synced tables", reader: .config(\.targetSchema)),
        Setting(
            .sync, "table_prefix", .identifier(allowEmpty: true), default: "", "text put before every table name",
            reader: .config(\.tablePrefix)),
        Setting(
            .sync, "batch_size", .wholeNumber(SyncConfig.batchSizes, unit: ""),
            default: String(SyncConfig.defaultBatchSize), "documents per read batch, oplog entries per transaction",
            reader: .config { String($0.batchSize) }),
        Setting(
            .sync, "follow_commit_seconds", .wholeNumber(SyncConfig.followCommitSecondsRange, unit: "of seconds "),
            default: String(SyncConfig.defaultFollowCommitSeconds),
            "oplog-sync --follow: seconds after a batch's first entry it commits",
            reader: .config { String($0.followCommitSeconds) }),
        Setting(
            .sync, "document_cache_mb", .wholeNumber(SyncConfig.documentCacheMBRange, unit: "of MiB "),
            default: String(SyncConfig.defaultDocumentCacheMB),
            "MiB of written documents oplog-sync keeps between unverified batches",
            reader: .config { String($0.documentCacheMB) }),
        Setting(
            .sync, "keep_extra", .boolean, default: "false",
            "keep values the schema does not fit in the root table's _extra column",
            reader: .config { String($0.keepExtra) }),
        Setting(
            .sync, "hash_key_env", .environmentName,
            "the variable holding the key of schema leaves {\"hash\": ...} (HMAC-SHA-256)",
            reader: .config { $0.hashKeyEnvironmentVariable ?? "" }),
        Setting(
            .sync, "strip_nul", .boolean, default: "false", "remove NUL bytes from strings instead of failing",
            reader: .config { String($0.stripNul) }),
        Setting(
            .sync, "schema_changes", .choice(SchemaChangePolicy.allCases.map(\.rawValue)),
            default: SchemaChangePolicy.apply.rawValue,
            "apply a schema file changed since the load in place (additive changes), or stop with exit 1",
            reader: .config { $0.schemaChanges.rawValue }),
        Setting(
            .sync, "on_history_lost", .choice(HistoryLostAction.allCases.map(\.rawValue)),
            default: HistoryLostAction.stop.rawValue,
            "oplog-sync finding its oplog rolled past the sync point: stop (1) or resync in place",
            reader: .config { $0.onHistoryLost.rawValue }),
        Setting(
            .oplog, "uri", .mongoURI, required: true, "a URI reaching the replica set whose oplog is replayed",
            reader: .source(\.uri)),
        Setting(
            .oplog, "mode", .choice(OplogSourceMode.allCases.map(\.rawValue)), default: OplogSourceMode.oplog.rawValue,
            "how oplog-sync reads the source: its oplog or a change stream", reader: .source(\.mode.rawValue)),
        Setting(
            .oplog, "scope", .choice(OplogSourceScope.allCases.map(\.rawValue)),
            default: OplogSourceScope.cluster.rawValue,
            "mode = changestream: one stream on the cluster or one per database", reader: .source(\.scope.rawValue)),
        Setting(
            .oplog, "full_document", .choice(["off", "update_lookup"]), default: "off",
            "mode = changestream: apply update descriptions (off) or looked-up documents",
            reader: .source { $0.updateLookup ? "update_lookup" : "off" }),
    ]

    /// The keys `etlstatus config` answers, each with its default and, on the next line, what it is, for its help
    /// (lines short enough for ArgumentParser's 80 columns).
    public static var helpList: String {
        let rows =
            all.map { setting in
                let fallback = setting.defaultValue.map { " (default: \($0.isEmpty ? "empty" : $0))" } ?? ""
                return (setting.name + fallback, setting.summary)
            } + [
                ("freshness.<table>", "a [freshness] line: the timestamp column and the max age"),
                ("collections", "the namespaces of [collections], one a line"),
            ]
        return rows.map { "  \($0.0)\n      \($0.1)" }.joined(separator: "\n")
    }
}

/// What a setting's text must be. `problem(with:)` says why a text is refused, in the words of the configuration
/// errors; it never repeats a value that may hold a secret (URIs, conninfo).
public enum SettingType: Sendable {
    case mongoURI
    case conninfo
    case environmentName
    /// A non-empty path, relative to the configuration file's folder.
    case folder
    /// A PostgreSQL name of at most 63 bytes.
    case identifier(allowEmpty: Bool)
    /// `unit` names what is counted in errors, with a trailing space ("of seconds "), or is empty.
    case wholeNumber(ClosedRange<Int>, unit: String)
    /// true/false, yes/no, on/off, 1/0, in any case.
    case boolean
    /// One of these words, in any case.
    case choice([String])

    /// Why `text` is not a value of this type, or nil when it is.
    func problem(with text: String) -> String? {
        switch self {
        case .mongoURI:
            guard SyncConfig.isMongoURI(text) else {
                return "must be a MongoDB URI starting with mongodb:// or mongodb+srv://"
            }
            do {
                try MongoURI.check(text)
            } catch {
                return "libmongoc refuses it: \(error.message)"
            }
            return nil
        case .conninfo:
            switch SyncConfig.conninfoPassword(text) {
            case .failure(let error): return "libpq refuses it: \(error.serverMessage)"
            case .success(true):
                return
                    "must not hold a password: use PGPASSWORD, ~/.pgpass or password_env naming an environment variable"
            case .success(false): return nil
            }
        case .environmentName:
            return SyncConfig.isEnvironmentName(text)
                ? nil : "must name an environment variable (letters, digits and _, not starting with a digit)"
        case .folder:
            return text.isEmpty ? "must not be empty" : nil
        case .identifier(let allowEmpty):
            if text.isEmpty && !allowEmpty { return "must not be empty" }
            return text.utf8.count > 63 ? "is longer than PostgreSQL's 63-byte identifier limit" : nil
        case .wholeNumber(let range, let unit):
            guard let number = Int(text), range.contains(number) else {
                return "must be a whole number \(unit)from \(range.lowerBound) to \(range.upperBound), not `\(text)`"
            }
            return nil
        case .boolean:
            return Self.boolean(text) == nil
                ? "must be a boolean: true/false, yes/no, on/off or 1/0, not `\(text)`" : nil
        case .choice(let words):
            return words.contains(text.lowercased())
                ? nil : "must be " + words.map { "`\($0)`" }.joined(separator: " or ") + ", not `\(text)`"
        }
    }

    /// The value of a boolean setting's text, nil when it is none.
    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}
