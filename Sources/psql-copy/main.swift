import ArgumentParser
import MongoPG

@main
struct PsqlCopy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psql-copy",
        abstract: "Loads the CSV files mongo-reader wrote into PostgreSQL through COPY, atomically, and writes the catalog.",
        discussion: """
            Checks the manifest (checksums, schema hash) before touching PostgreSQL, loads every part into staging
            tables, checks each part's row count, builds the primary keys, then swaps the new tables in place of the
            live ones in one transaction. A failure at any point leaves the live tables as they were.

            EXAMPLES:
              psql-copy --config sync.ini --collection sample_analytics.customers --csv-dir /var/tmp/csv
              psql-copy --config sync.ini --collection sample_analytics.customers --csv-dir /var/tmp/csv --json

            \(ExitStatus.helpText)
            """)

    @OptionGroup var common: CommonOptions
    @Option(help: "The namespace to load, DB.COLL.", transform: Namespace.parsingArgument) var collection: Namespace
    @Option(help: "The folder mongo-reader wrote (its parent: the tool adds DB.COLL).") var csvDir: String
    @Option(help: "Parallel COPY sessions.") var jobs: Int = 2

    func validate() throws {
        guard jobs >= 1, jobs <= 32 else { throw ValidationError("--jobs must be between 1 and 32") }
    }

    func run() async throws {
        try await common.runTool("psql-copy") { logger in
            try await PsqlCopyCommand(collection: collection, csvDirectory: csvDir, jobs: jobs)
                .run(common: common, logger: logger)
        }
    }
}
