import ArgumentParser

/// `mongo-schema`: a schema file inferred and printed; the work is `MongoSchemaCommand`'s.
public struct MongoSchemaCLI: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: Tool.mongoSchema.rawValue,
        abstract: "Infers a schema file from a live collection or a dump / Extended JSON file and prints it.",
        discussion: """
            Prints the schema on stdout and, on stderr, a report: per field path the types seen with their counts, \
            the type chosen and the values it cannot hold. int + long gives long, int + double gives double, null \
            joins anything, conflicting types give the most common one; objects keyed by data (ids, dates) become \
            json. With --input-file no server and no configuration file are needed. With --json stdout holds one \
            object: the report's fields and the schema file's text under "schema".

            With --diff it prints instead what the sample would change against the tables the collection was loaded \
            with (their catalog): columns and tables to add, widenings, differences only a load of the collection \
            resolves, and per path how many values oplog-sync put into _extra or NULL since the load. It exits 0 \
            when nothing would change and 3 when something would (as verify's divergence: the tables do not hold \
            all that MongoDB holds); edit the schema file and the next oplog-sync applies additive changes.

            EXAMPLES:
              mongo-schema --config sync.ini --collection sample_analytics.customers > schemas/sample_analytics.customers.json
              mongo-schema --config sync.ini --collection sample_analytics.customers --sample 1000
              mongo-schema --collection sample_analytics.customers --input-file customers.json
              mongo-schema --config sync.ini --collection sample_analytics.customers --diff

            \(ExitStatus.helpText)
            """,
        version: ToolVersion.current)

    @OptionGroup var common: CommonOptions

    @Option(help: "The namespace to sample, DB.COLL.", transform: Namespace.parsingArgument) var collection: Namespace
    @Option(help: "Read a mongodump .bson file or Extended JSON lines instead of the server.") var inputFile: String?
    @Option(help: "How many documents to sample ($sample on the server, the first ones of a file); all when absent.")
    var sample: Int?
    @Flag(help: "Print what the sample would change against the loaded tables; exit 3 when anything would.")
    var diff = false

    public init() {}

    public func validate() throws {
        if let sample, sample < 1 { throw ValidationError("--sample must be at least 1") }
    }

    public func run() async throws {
        try await common.runTool(.mongoSchema) { logger in
            try await MongoSchemaCommand(collection: collection, inputFile: inputFile, sample: sample, diff: diff)
                .run(common: common, logger: logger)
        }
    }
}
