import ArgumentParser
import Foundation

/// `etlstatus`'s command line: one subcommand per answer, each calling one `ETLStatusCommand` function. The global
/// options (`--config`, `--log-level`, `--json`) belong to every subcommand and may also come before its name
/// (`etlstatus --config F init-load-status`, as crontabs have it): `main(arguments:)` moves them after it.
public struct ETLStatusCLI: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: Tool.etlstatus.rawValue,
        abstract: "The sync's state in PostgreSQL and the oplog's, answered in exit codes.",
        discussion: """
            Global options (--config, --log-level, --json) may come before or after the subcommand's name. \
            `etlstatus help SUBCOMMAND` shows each one's options and examples.

            EXAMPLES:
              etlstatus --config sync.ini init-load-status; echo $?
              etlstatus --config sync.ini lag
              etlstatus --config sync.ini check --warn-lag 5m --crit-lag 15m
              etlstatus --config sync.ini metrics --textfile /var/lib/node_exporter/textfile/mongo_pg_sync.prom

            \(ExitStatus.helpText)
            """,
        version: ToolVersion.current,
        subcommands: [
            InitLoadStart.self, InitLoadFinish.self, InitLoadStatus.self, Lag.self, Check.self, Freshness.self,
            Runs.self, Verify.self, Metrics.self, Config.self,
        ])

    public init() {}

    /// Runs the process's command line, as `main(arguments:)` does.
    public static func main() async { await main(arguments: Array(CommandLine.arguments.dropFirst())) }

    /// Parses `arguments` (global options moved after the subcommand's name) and runs the subcommand. `check`
    /// speaks monitoring's language even about its command line: a wrong one is 3 UNKNOWN with a status line, not 64.
    public static func main(arguments: [String]) async {
        let arguments = ETLStatusArguments.normalised(arguments)
        // ArgumentParser would answer about the first option it cannot place (`Unknown option '--config'`), hiding
        // that the subcommand's name is what is wrong.
        var names = ["help"]
        for subcommand in configuration.subcommands { names.insert(subcommand._commandName, at: names.count - 1) }
        if let unknown = ETLStatusArguments.unknownSubcommand(in: arguments, known: names) {
            FileHandle.standardError.write(
                Data(
                    ("\(Tool.etlstatus): unknown subcommand '\(unknown)': it is one of "
                        + names.dropLast().joined(separator: ", ") + " (etlstatus --help)\n").utf8))
            exit(withError: ExitCode(ExitStatus.usage.rawValue))
        }
        guard arguments.first == "check" else { return await main(arguments) }
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            print(CheckReport.unknown("wrong command line: " + message(for: error)).line)
            exit(withError: ExitCode(CheckStatus.unknown.rawValue))
        }
    }

    struct InitLoadStart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-load-start",
            abstract: "Records every oplog source's newest position, before any document is read.",
            discussion: """
                Run it before mongo-reader: oplog-sync later replays from these positions. An init load still \
                at work (a mongo-reader or psql-copy of the running one whose process is alive) is not abandoned: \
                75, naming it, unless --force; a psql-copy or oplog-sync holding the sync lock is 75 even then.

                With --collection, a load of only those collections: the others keep their tables and sync points, \
                and oplog-sync may go on running from cron (it keeps a reloaded collection's old tables in sync \
                until psql-copy swaps the new ones in; from then on it replays that collection from these positions).

                EXAMPLES:
                  etlstatus init-load-start --config sync.ini
                  etlstatus --config sync.ini init-load-start --json
                  etlstatus init-load-start --config sync.ini --force   # the other init load's tools are gone
                  etlstatus init-load-start --config sync.ini --collection shop.orders   # one collection

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions
        @Flag(help: "Start even though the running init load's mongo-reader or psql-copy seems alive.")
        var force = false
        @Option(
            help: "Load only this configured collection, DB.COLL (repeatable); the others keep syncing.",
            transform: Namespace.parsingArgument)
        var collection: [Namespace] = []

        func run() async throws {
            try await common.runTool(.etlstatus) {
                try await ETLStatusCommand(common: common, logger: $0).initLoadStart(
                    force: force, collections: collection.isEmpty ? nil : collection)
            }
        }
    }

    struct InitLoadFinish: AsyncParsableCommand {
        enum Outcome: String, ExpressibleByArgument, CaseIterable { case ok, error }
        static let configuration = CommandConfiguration(
            commandName: "init-load-finish",
            abstract: "Closes the running init load as ok or error.",
            discussion: """
                EXAMPLES:
                  etlstatus init-load-finish ok --config sync.ini
                  etlstatus --config sync.ini init-load-finish error

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "ok or error: how the init load ended.") var outcome: Outcome

        func run() async throws {
            try await common.runTool(.etlstatus) {
                try await ETLStatusCommand(common: common, logger: $0).initLoadFinish(ok: outcome == .ok)
            }
        }
    }

    struct InitLoadStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-load-status",
            abstract: "Exits 0 when the init load covers every collection and the oplog still reaches back.",
            discussion: """
                0 when a finished, successful init load covers every configured collection, no schema file changed
                since, and every oplog source's oldest entry is not later than its position (its sync point, or the \
                init load's position before any oplog-sync run); 1 (init load needed) otherwise, each reason on \
                stderr.

                EXAMPLES:
                  etlstatus --config sync.ini init-load-status; echo $?
                  etlstatus init-load-status --config sync.ini --json

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await common.runTool(.etlstatus) {
                try await ETLStatusCommand(common: common, logger: $0).initLoadStatus()
            }
        }
    }

    struct Lag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each oplog source's lag, oplog window and time left before its sync point falls off.",
            discussion: """
                Per [oplog:<name>] source: the position (its sync point; before any oplog-sync run the init load's \
                position), the newest oplog position, the lag in seconds and in entries, the oldest entry, and the \
                time left before the oplog's tail passes the position at the oplog's average write rate. Exits 1 \
                (init load needed) when a position has fallen off the oplog, or a source has none; 65 when a \
                position is later than the source's newest, or negative (no run of the tools wrote it).

                EXAMPLES:
                  etlstatus --config sync.ini lag
                  etlstatus lag --config sync.ini --json

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await common.runTool(.etlstatus) { try await ETLStatusCommand(common: common, logger: $0).lag() }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A monitoring check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, one line with perfdata.",
            discussion: """
                Judges the init load, each oplog source's lag and time left, the last oplog-sync runs (how many \
                failed in a row, CRITICAL from --max-failures on; with --max-age the last success's age), every \
                [freshness] table (measured now and recorded; see `etlstatus freshness`) and the newest \
                `etlstatus verify` of each collection (documents that differ and were not repaired are CRITICAL; \
                with --max-verify-age, a verification older than that, or none, is a WARNING). Durations: 90s, 5m, \
                2h, 1d. A server out of reach, or a configuration that \
                cannot be read, is 3 UNKNOWN, never OK.

                EXAMPLES:
                  etlstatus --config sync.ini check
                  etlstatus check --config sync.ini --warn-lag 2m --crit-lag 10m --max-age 30m
                  etlstatus check --config sync.ini --max-failures 3   # a failed cron run or two: WARNING
                  etlstatus check --config sync.ini --json

                EXIT STATUS:
                  0   OK
                  1   WARNING: a threshold is near (lag above --warn-lag, window left below --warn-window)
                  2   CRITICAL: init load needed, a sync point fell off or no run wrote it, failed syncs in a
                      row, a late sync, a stale table, documents found differing from MongoDB
                  3   UNKNOWN: something could not be read (server down, bad configuration, wrong command line)
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "WARNING above this lag.") var warnLag = CheckThresholds.defaultWarnLag
        @Option(help: "CRITICAL above this lag.") var critLag = CheckThresholds.defaultCritLag
        @Option(help: "WARNING when less time than this is left before a sync point falls off.")
        var warnWindow = CheckThresholds.defaultWarnWindow
        @Option(help: "CRITICAL when less time than this is left.") var critWindow = CheckThresholds.defaultCritWindow
        @Option(help: "CRITICAL when the last successful oplog-sync run ended longer ago than this.")
        var maxAge: TimeSpan?
        @Option(help: "WARNING when a collection's newest verification is older than this, or missing.")
        var maxVerifyAge: TimeSpan?
        @Option(
            help: """
                CRITICAL once this many of the newest oplog-sync runs failed in a row; fewer is a WARNING \
                (runs that found the lock held: CRITICAL from \(CheckThresholds.lockedRunsCritical) in a row).
                """)
        var maxFailures = CheckThresholds.defaultMaxFailures

        func validate() throws {
            guard warnLag <= critLag else { throw ValidationError("--warn-lag must not exceed --crit-lag") }
            guard maxFailures > 0 else { throw ValidationError("--max-failures must be positive") }
            guard warnWindow >= critWindow else {
                throw ValidationError("--warn-window must not be below --crit-window")
            }
        }

        func run() async throws {
            let thresholds = CheckThresholds(
                warnLag: warnLag, critLag: critLag, warnWindow: warnWindow, critWindow: critWindow, maxAge: maxAge,
                maxVerifyAge: maxVerifyAge, maxFailures: maxFailures)
            let status = await ETLStatusCommand(common: common, logger: common.logger(for: .etlstatus))
                .check(thresholds)
            if status != .ok { throw ExitCode(status.rawValue) }
        }
    }

    struct Freshness: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The recorded freshness checks of the [freshness] tables, newest first.",
            discussion: """
                `etlstatus check` and `etlstatus metrics` measure max(column) of each [freshness] table and record \
                it; this shows those records.

                EXAMPLES:
                  etlstatus --config sync.ini freshness
                  etlstatus freshness --config sync.ini --table customers --last 5 --json

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "How many checks to show.") var last = 20
        @Option(help: "Only this table's checks.") var table: String?

        func validate() throws { guard last > 0 else { throw ValidationError("--last must be positive") } }

        func run() async throws {
            try await common.runTool(.etlstatus) {
                try await ETLStatusCommand(common: common, logger: $0).freshness(last: last, table: table)
            }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The run ledger, newest first, with each run's figures.",
            discussion: """
                A run recorded as running whose process is gone (on this host) shows as `died`. \
                --last-successful TOOL prints that tool's newest successful run as `<id> <end time>`, and exits 1 \
                when it has none.

                EXAMPLES:
                  etlstatus --config sync.ini runs --last 10
                  etlstatus runs --config sync.ini --tool psql-copy --failed
                  etlstatus runs --config sync.ini --last-successful oplog-sync

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "How many runs to show.") var last = 20
        @Option(help: "Only this tool's runs (mongo-reader, psql-copy, oplog-sync, ...).") var tool: String?
        @Flag(help: "Only runs that failed or died.") var failed = false
        @Option(help: "Print the newest successful run of this tool: `<id> <end time>`.") var lastSuccessful: String?

        func validate() throws { guard last > 0 else { throw ValidationError("--last must be positive") } }

        func run() async throws {
            try await common.runTool(.etlstatus) { logger in
                let command = ETLStatusCommand(common: common, logger: logger)
                if let lastSuccessful { return try await command.lastSuccessfulRun(tool: lastSuccessful) }
                return try await command.runs(RunFilter(last: last, tool: tool, failed: failed))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compares documents in MongoDB with the same documents rebuilt from PostgreSQL.",
            discussion: """
                Reads documents from MongoDB and rebuilds the same documents from their rows through the catalog, \
                then lists the _ids that differ (with the first differing path), are missing from PostgreSQL or \
                are extra there. By default a random sample of \(VerifyRequest.defaultSampleSize) documents of \
                each side; --all reads both sides whole in _id order and merges them, so memory stays flat \
                whatever the collection's size. A document MongoDB changed after the sync point is not counted: \
                the next oplog-sync brings it. --repair replaces the rows of the divergent documents with \
                MongoDB's versions in one transaction (holding the sync lock, so no oplog-sync runs meanwhile). \
                Each run is recorded in the run ledger and its result in the state schema, where `check` and \
                `metrics` read it.

                EXAMPLES:
                  etlstatus --config sync.ini verify --collection shop.orders
                  etlstatus --config sync.ini verify --collection shop.orders --sample 10000
                  etlstatus --config sync.ini verify --all --repair

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "The namespace, DB.COLL (default: every configured collection).") var collection: Namespace?
        @Option(help: "Documents sampled on each side (default \(VerifyRequest.defaultSampleSize)).") var sample: Int?
        @Flag(help: "Compare every document of both sides.") var all = false
        @Flag(help: "Replace the rows of divergent documents with MongoDB's versions.") var repair = false

        func validate() throws {
            if all, sample != nil { throw ValidationError("--sample and --all exclude each other") }
            if let sample, sample <= 0 { throw ValidationError("--sample must be positive") }
        }

        func run() async throws {
            try await common.runTool(.etlstatus) {
                try await ETLStatusCommand(common: common, logger: $0).verify(
                    VerifyRequest(
                        collection: collection, sampleSize: all ? nil : sample ?? VerifyRequest.defaultSampleSize,
                        repair: repair))
            }
        }
    }

    struct Metrics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The sync's figures in Prometheus text format, for node_exporter's textfile collector.",
            discussion: """
                Lag and window per oplog source, the newest run of each tool (status, exit code, duration, age, \
                figures), freshness per table. With --textfile the file is replaced atomically (written beside it, \
                then renamed), so the collector never reads half a file.

                EXAMPLES:
                  etlstatus --config sync.ini metrics
                  etlstatus metrics --config sync.ini --textfile /var/lib/node_exporter/textfile/mongo_pg_sync.prom

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "Write into this file (atomically) instead of stdout.") var textfile: String?

        func run() async throws {
            try await common.runTool(.etlstatus) {
                try await ETLStatusCommand(common: common, logger: $0).metrics(textfile: textfile)
            }
        }
    }

    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prints one configured value, for shell wrappers.",
            discussion: """
                Defaults apply. 78 for an unknown key; a value holding a password is never printed (78). SECTION.KEY:
                \(Setting.helpList)

                EXAMPLES:
                  SCHEMAS=$(etlstatus --config sync.ini config sync.schemas_dir)
                  psql "$(etlstatus --config sync.ini config psql.conninfo)"

                \(ExitStatus.helpText)
                """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "SECTION.KEY, e.g. sync.schemas_dir.") var key: String

        func run() async throws {
            try await common.runTool(.etlstatus) { try ETLStatusCommand(common: common, logger: $0).configValue(key) }
        }
    }
}

/// `etlstatus`'s arguments as the subcommands parse them. Pure.
public enum ETLStatusArguments {
    /// Global options given before the subcommand's name moved right after it, so
    /// `--config F --json lag` parses as `lag --config F --json`. Stops at the first argument that is not a global
    /// option (`--help` and unknown options stay where they are, for ArgumentParser to answer).
    public static func normalised(_ arguments: [String]) -> [String] {
        var moved: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--config" || argument == "--log-level" {
                guard index + 1 < arguments.count else { return arguments }
                moved += [argument, arguments[index + 1]]
                index += 2
            } else if argument == "--json" || argument.hasPrefix("--config=") || argument.hasPrefix("--log-level=") {
                moved.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !moved.isEmpty, index < arguments.count, !arguments[index].hasPrefix("-") else { return arguments }
        return [arguments[index]] + moved + arguments[(index + 1)...]
    }

    /// The first argument of normalised `arguments` when it names no subcommand of `known` (nil when it is an option,
    /// such as `--help` or `--version`, or there is none).
    public static func unknownSubcommand(in arguments: [String], known: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-"), !known.contains(first) else { return nil }
        return first
    }
}
