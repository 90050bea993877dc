import ArgumentParser
import MongoPG

@main
struct MongoSchema: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mongo-schema",
        abstract: "Infers a schema file from a live collection or a dump / Extended JSON file and prints it.",
        discussion: """
            EXAMPLES:
              mongo-schema --config sync.ini --collection sample_analytics.customers > schemas/sample_analytics.customers.json
              mongo-schema --collection sample_analytics.customers --input-file customers.json

            \(ExitStatus.helpText)
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "The namespace to sample, DB.COLL.") var collection: Namespace
    @Option(help: "Read a mongodump .bson file or Extended JSON lines instead of the server.") var inputFile: String?
    @Option(help: "How many documents to sample; all when absent.") var sample: Int?

    func run() async throws {
        try await common.runTool("mongo-schema") { _ in throw notImplemented("mongo-schema", issue: "schemas and flattening") }
    }
}
