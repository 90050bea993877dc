import ArgumentParser

/// `mongo-reader`: a collection or a dump file into COPY-format parts; the work is `MongoReaderCommand`'s.
public struct MongoReaderCLI: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: Tool.mongoReader.rawValue,
        abstract:
            "Reads a collection (or a mongodump .bson / Extended JSON file) into COPY-format CSV files, DDL and a manifest.",
        discussion: """
            Writes CSV-DIR/DB.COLL/: one part file per table and job (PostgreSQL COPY text format), schema.sql and,
            last, manifest.json. Parts are written under a temporary name, so an interrupted run leaves nothing that
            looks complete. Several workers (processes or hosts) can share a collection with --partition K/N after
            `etlstatus init-load-start`; psql-copy loads their union once all N have finished.

            EXAMPLES:
              mongo-reader --config sync.ini --collection sample_analytics.customers --csv-dir /var/tmp/csv --jobs 4
              mongo-reader --config sync.ini --collection sample_analytics.customers --csv-dir out --input-file customers.bson
              mongo-reader --config sync.ini --collection db.big --csv-dir /shared/csv --partition 2/3

            \(ExitStatus.helpText)
            """,
        version: ToolVersion.current)

    @OptionGroup var common: CommonOptions
    @Option(help: "The namespace to read, DB.COLL.", transform: Namespace.parsingArgument) var collection: Namespace
    @Option(help: "Where the CSV files, schema.sql and manifest.json go.") var csvDir: String
    @Option(help: "Read a mongodump .bson file or Extended JSON lines instead of the server.") var inputFile: String?
    @Option(
        help: ArgumentHelp(
            "Parallel readers by _id range (server; default 1) or parallel flatteners (file; default: the cores).",
            discussion:
                "On mongod each slice is an _id index range; SecantusDB scans for ranges, so one reader is faster there."
        ))
    var jobs: Int?
    @Option(help: "This worker's share, K/N, when N workers read the collection together.") var partition:
        PartitionArgument?
    @Option(
        help: ArgumentHelp(
            "Finish a table's part file and begin the next once it holds this many bytes (default 64 MiB).",
            discussion: "Finished parts appear while the read goes on, for psql-copy --follow-reader."))
    var partBytes: Int = ReadRequest.defaultPartBytes
    @Option(help: "Finish a table's part file and begin the next once it is this many seconds old (default 1).")
    var partSeconds: Double = ReadRequest.defaultPartSeconds

    public init() {}

    public func validate() throws {
        if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs must be between 1 and 64") }
        if partBytes < 1 { throw ValidationError("--part-bytes must be at least 1") }
        if !(partSeconds > 0) { throw ValidationError("--part-seconds must be above 0") }
    }

    public func run() async throws {
        try await common.runTool(.mongoReader) { logger in
            try await MongoReaderCommand(
                collection: collection, csvDirectory: csvDir, inputFile: inputFile, jobs: jobs,
                partition: partition?.value, partBytes: partBytes, partSeconds: partSeconds
            ).run(common: common, logger: logger)
        }
    }
}

struct PartitionArgument: ExpressibleByArgument {
    let value: Partition
    init?(argument: String) {
        guard let value = Partition(argument) else { return nil }
        self.value = value
    }
}
