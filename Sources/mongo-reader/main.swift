import ArgumentParser
import MongoPG

@main
struct MongoReader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mongo-reader",
        abstract: "Reads a collection (or a mongodump .bson / Extended JSON file) into COPY-format CSV files, DDL and a manifest.",
        discussion: """
            EXAMPLES:
              mongo-reader --config sync.ini --collection sample_analytics.customers --csv-dir /var/tmp/csv
              mongo-reader --config sync.ini --collection sample_analytics.customers --csv-dir out --input-file customers.bson

            \(ExitStatus.helpText)
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "The namespace to read, DB.COLL.") var collection: Namespace
    @Option(help: "Where the CSV files, schema.sql and manifest.json go.") var csvDir: String
    @Option(help: "Read a mongodump .bson file or Extended JSON lines instead of the server.") var inputFile: String?
    @Option(help: "Parallel readers by _id range.") var jobs: Int = 1

    func run() async throws {
        try await common.runTool("mongo-reader") { _ in throw notImplemented("mongo-reader", issue: "init load") }
    }
}
