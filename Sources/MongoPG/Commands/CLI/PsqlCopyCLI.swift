import ArgumentParser

/// `psql-copy`: the parts of one collection into PostgreSQL; the work is `PsqlCopyCommand`'s.
public struct PsqlCopyCLI: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: Tool.psqlCopy.rawValue,
        abstract:
            "Loads the CSV files mongo-reader wrote into PostgreSQL through COPY, atomically, and writes the catalog.",
        discussion: """
            Checks the manifest (parts present with their sizes, schema hash, table names no other collection
            claims) before touching PostgreSQL, loads every part into staging tables checking each part's checksum
            and row count as it streams, builds the primary keys, then swaps the new tables in place of the live ones
            in one transaction, creating users' views, materialized views, indexes and grants on them again. A
            failure at any point leaves the live tables as they were; SIGTERM or SIGINT before the swap drops the
            staging tables and exits 75. A folder a mongo-reader is writing is refused (75).

            With --follow-reader it loads while mongo-reader (started first, on this host) still reads: each part is
            copied as soon as the reader finishes it, and the swap waits for the reader's manifest and for every
            part's checksum, size and row count to match it. If the reader fails, dies or writes nothing for
            --wait-seconds, psql-copy stops with the reader's reason (and its exit status when it reported one).

            EXAMPLES:
              psql-copy --config sync.ini --collection sample_analytics.customers --csv-dir /var/tmp/csv
              psql-copy --config sync.ini --collection sample_analytics.customers --csv-dir /var/tmp/csv --json
              mongo-reader --config sync.ini --collection db.big --csv-dir /var/tmp/csv &
              psql-copy --config sync.ini --collection db.big --csv-dir /var/tmp/csv --follow-reader

            \(ExitStatus.helpText)
            """,
        version: ToolVersion.current)

    @OptionGroup var common: CommonOptions
    @Option(help: "The namespace to load, DB.COLL.", transform: Namespace.parsingArgument) var collection: Namespace
    @Option(help: "The folder mongo-reader wrote (its parent: the tool adds DB.COLL).") var csvDir: String
    @Option(help: "Parallel COPY sessions.") var jobs: Int = 2
    @Flag(help: "Load the parts while mongo-reader still writes them; swap once its manifest arrives.")
    var followReader = false
    @Option(help: "With --follow-reader: how long to wait for mongo-reader to start, or to write anything.")
    var waitSeconds = 300

    public init() {}

    public func validate() throws {
        guard jobs >= 1, jobs <= 32 else { throw ValidationError("--jobs must be between 1 and 32") }
        guard waitSeconds >= 1 else { throw ValidationError("--wait-seconds must be at least 1") }
    }

    public func run() async throws {
        try await common.runTool(.psqlCopy) { logger in
            try await PsqlCopyCommand(
                collection: collection, csvDirectory: csvDir, jobs: jobs, followReader: followReader,
                waitSeconds: waitSeconds
            ).run(common: common, logger: logger)
        }
    }
}
