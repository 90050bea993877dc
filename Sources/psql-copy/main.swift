import ArgumentParser
import MongoPG

@main
struct PsqlCopy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psql-copy",
        abstract: "Loads the CSV files mongo-reader wrote into PostgreSQL through COPY, atomically, and writes the catalog.",
        discussion: """
            EXAMPLES:
              psql-copy --config sync.ini --collection sample_analytics.customers --csv-dir /var/tmp/csv

            \(ExitStatus.helpText)
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "The namespace to load, DB.COLL.") var collection: Namespace
    @Option(help: "The folder mongo-reader wrote.") var csvDir: String

    func run() async throws {
        try await common.runTool("psql-copy") { _ in throw notImplemented("psql-copy", issue: "init load") }
    }
}
