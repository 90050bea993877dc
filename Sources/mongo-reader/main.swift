import ArgumentParser
import Foundation
import MongoPG

@main
struct MongoReader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mongo-reader",
        abstract: "Reads a collection (or a mongodump .bson / Extended JSON file) into COPY-format CSV files, DDL and a manifest.",
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
            """)

    @OptionGroup var common: CommonOptions
    @Option(help: "The namespace to read, DB.COLL.") var collection: Namespace
    @Option(help: "Where the CSV files, schema.sql and manifest.json go.") var csvDir: String
    @Option(help: "Read a mongodump .bson file or Extended JSON lines instead of the server.") var inputFile: String?
    @Option(help: ArgumentHelp(
        "Parallel readers by _id range (server; default 1) or parallel flatteners (file; default: the cores).",
        discussion: "On mongod each slice is an _id index range; SecantusDB scans for ranges, so one reader is faster there."))
    var jobs: Int?
    @Option(help: "This worker's share, K/N, when N workers read the collection together.") var partition: PartitionArgument?
    @Option(help: ArgumentHelp(
        "Finish a table's part file and begin the next once it holds this many bytes (default 64 MiB).",
        discussion: "Finished parts appear while the read goes on, for psql-copy --follow-reader."))
    var partBytes: Int = ReadRequest.defaultPartBytes
    @Option(help: "Finish a table's part file and begin the next once it is this many seconds old (default 1).")
    var partSeconds: Double = ReadRequest.defaultPartSeconds

    func validate() throws {
        if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs must be between 1 and 64") }
        if partBytes < 1 { throw ValidationError("--part-bytes must be at least 1") }
        if !(partSeconds > 0) { throw ValidationError("--part-seconds must be above 0") }
    }

    func run() async throws {
        try await common.runTool("mongo-reader") { logger in
            let config = try common.loadConfig()
            // Every run goes into the ledger (DESIGN.md: each run of each tool), but reading needs no PostgreSQL: a
            // dump can be turned into parts on a host that cannot reach it. Then the manifest is the only record.
            let openStore: DetachedRun.OpenStore = { try await config.stateStore(logger: logger) }
            let ledger = await DetachedRun.start(tool: "mongo-reader", arguments: Array(CommandLine.arguments.dropFirst()), logger: logger, open: openStore)
            let store: StateStore? = partition == nil ? nil : try await openStore()
            let mongoURI = config.mongoURI, namespace = collection
            var request = ReadRequest(
                namespace: collection, csvDirectory: csvDir, schemasDirectory: config.schemasDirectory,
                settings: config.flattenSettings, inputFile: inputFile,
                jobs: jobs ?? (inputFile == nil ? 1 : ProcessInfo.processInfo.activeProcessorCount), partition: partition?.value,
                mongoURI: config.mongoURI, oplogSources: config.oplogSourceURIs)
            request.partBytes = partBytes
            request.partSeconds = partSeconds
            if let store {
                request.sharedSplitPoints = { slices in
                    try await store.sharedSplitPoints(collection: namespace, slices: slices) {
                        try await MongoSession(uri: mongoURI, name: "split").splitPoints(namespace, parts: slices)
                    }
                }
            }
            let reader = CollectionReader(logger: logger, progress: Progress.onTerminal(label: collection.description))
            let summary: ReadSummary
            do {
                summary = try await reader.read(request)
            } catch {
                await ledger?.finish(status: error.exitStatus, message: "\(error)", step: "read", figures: [:])
                throw error
            }
            await ledger?.finish(status: .ok, step: "read", figures: [
                "documents": Double(summary.documents), "rows": Double(summary.rows.values.reduce(0, +)),
                "bytes": Double(summary.bytes), "seconds": summary.seconds,
            ])
            try common.printResult(summary, line: summary.line)
            return .ok
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
