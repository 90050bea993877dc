import Foundation
import Logging

/// What mongo-reader needs to read one collection.
public struct ReadRequest: Sendable {
    public var namespace: Namespace
    public var csvDirectory: String
    public var schemasDirectory: String
    public var settings: FlattenSettings
    /// A `mongodump` `.bson` file or Extended JSON lines instead of the server.
    public var inputFile: String?
    /// Parallel readers (server reads) or parallel flatteners (file reads).
    public var jobs: Int
    /// This worker's slice when several processes or hosts share the collection.
    public var partition: Partition?
    public var mongoURI: String
    /// Oplog sources by name, for the oplog position recorded before the first document.
    public var oplogSources: [String: String]
    /// Split points of a partitioned read, shared by every worker (see `SplitPointStore`).
    public var sharedSplitPoints: (@Sendable (Int) async throws -> [BSONValue])?
    /// Documents per server round trip (the cursor's `batchSize`) and per flatten batch: `[sync] batch_size`.
    public var batchSize: Int
    /// The configured collections (`[collections]`), whose tables this collection's must not meet.
    public var collections: [Namespace] = []
    /// The running init load a partitioned read belongs to, recorded in its manifest.
    public var initLoadID: Int64? = nil

    public static let defaultBatchSize = 1000
    /// A table's part is finished (renamed from `.tmp`) and the next one begun once it holds `partBytes` bytes or
    /// was begun `partSeconds` ago, so that `psql-copy --follow-reader` can load finished parts while the read goes
    /// on: whatever the read's speed, what is left to load when it ends is about `partSeconds` of it.
    public var partBytes = ReadRequest.defaultPartBytes
    public var partSeconds = ReadRequest.defaultPartSeconds
    public static let defaultPartBytes = 64 << 20
    public static let defaultPartSeconds = 1.0

    public init(
        namespace: Namespace, csvDirectory: String, schemasDirectory: String, settings: FlattenSettings,
        inputFile: String? = nil, jobs: Int = 1, partition: Partition? = nil, mongoURI: String,
        oplogSources: [String: String] = [:],
        sharedSplitPoints: (@Sendable (Int) async throws -> [BSONValue])? = nil,
        batchSize: Int = ReadRequest.defaultBatchSize
    ) {
        self.namespace = namespace
        self.csvDirectory = csvDirectory
        self.schemasDirectory = schemasDirectory
        self.settings = settings
        self.inputFile = inputFile
        self.jobs = jobs
        self.partition = partition
        self.mongoURI = mongoURI
        self.oplogSources = oplogSources
        self.sharedSplitPoints = sharedSplitPoints
        self.batchSize = batchSize
    }
}

/// What mongo-reader reports.
public struct ReadSummary: Sendable, Codable, Equatable {
    public var collection: String
    public var documents: Int
    public var rows: [String: Int]
    public var bytes: Int
    public var seconds: Double
    public var manifest: String
    public var report: [String: [String: Int]]

    enum CodingKeys: String, CodingKey {
        case collection, documents, rows, bytes, seconds, manifest, report
    }

    public var line: String {
        let rate = seconds > 0 ? Double(documents) / seconds : 0
        return "\(collection): \(documents) documents, \(rows.values.reduce(0, +)) rows in \(rows.count) tables, "
            + "\(bytes) bytes in \(String(format: "%.2f", seconds)) s (\(Int(rate)) docs/s) -> \(manifest)"
    }
}

/// mongo-reader: reads a collection (from the server in `_id` slices, or from a dump file), flattens every document
/// by its schema and streams the rows into COPY-format part files, then writes the manifest last. Parts live under
/// a temporary name until finished, so an interrupted run leaves nothing that looks complete.
public struct CollectionReader: Sendable {
    public let logger: Logger
    public let progress: Progress?

    public init(logger: Logger, progress: Progress? = nil) {
        self.logger = logger
        self.progress = progress
    }

    public func read(_ request: ReadRequest) async throws -> ReadSummary {
        let startedAt = timestampNow()
        let namespace = request.namespace
        let schema = try SchemaFile(
            namespace: namespace, schemasDirectory: request.schemasDirectory, settings: request.settings)
        let claims = TableClaims.fromSchemaFiles(
            schema, collections: request.collections, schemasDirectory: request.schemasDirectory,
            settings: request.settings, logger: logger)
        if let collision = claims.error(for: namespace, targetSchema: request.settings.targetSchema) { throw collision }
        let folder = CollectionFolder(csvDirectory: request.csvDirectory, namespace: namespace)
        let manifestName = CollectionFolder.manifestName(partition: request.partition)
        // A missing or unreadable input fails before an earlier run's output is touched.
        if let inputFile = request.inputFile { _ = try DocumentFileReader(path: inputFile) }
        // Every read locks its folder (partitioned workers share the lock); a whole-collection read also says what
        // it does in `reader.json`, for a following psql-copy.
        try Self.createFolder(folder)
        let lock = try ReaderLock(folder: folder.url, shared: request.partition != nil)
        var status: ReaderStatus?
        if request.partition == nil {
            status = ReaderStatus(
                run: UUID().uuidString.lowercased(), pid: getpid(), startedAt: startedAt, schemaHash: schema.hash,
                state: .reading)
        }
        try prepare(folder, manifestName: manifestName, partition: request.partition)
        try status?.write(in: folder.url)
        do {
            let summary = try await read(
                request, schema: schema, folder: folder, manifestName: manifestName, startedAt: startedAt)
            status?.state = .finished
            try status?.write(in: folder.url)
            withExtendedLifetime(lock) {}
            return summary
        } catch {
            status?.state = .failed
            status?.exitStatus = error.exitStatus.rawValue
            status?.message = "\(error)"
            try? status?.write(in: folder.url)
            // A failed read leaves nothing of its own behind: no finished part can be taken for a whole read.
            Self.removeFiles(in: folder, manifestName: manifestName, partition: request.partition)
            withExtendedLifetime(lock) {}
            throw error
        }
    }

    private func read(
        _ request: ReadRequest, schema: SchemaFile, folder: CollectionFolder, manifestName: String, startedAt: String
    ) async throws -> ReadSummary {
        let clock = ContinuousClock(), started = clock.now
        let namespace = request.namespace

        let jobs = max(1, request.jobs)
        // Bounded as `[sync] batch_size` is: the cursor's batchSize is an int32.
        let batchSize = min(max(1, request.batchSize), 1_000_000)
        var positions: [String: UInt64] = [:]
        let results: [JobResult]
        if let inputFile = request.inputFile {
            guard request.partition == nil else {
                throw LoadError(.usage, "--partition reads from the server; a dump file is read whole")
            }
            results = try await readFile(
                inputFile, schema: schema, folder: folder, jobs: jobs, batchSize: batchSize,
                partBytes: request.partBytes,
                partSeconds: request.partSeconds)
        } else {
            positions = await oplogPositions(request.oplogSources)
            results = try await readServer(request, schema: schema, folder: folder, jobs: jobs, batchSize: batchSize)
        }

        // Per table: every job's part, in job order.
        var report = FlattenReport()
        for result in results { report.merge(result.report) }
        let tables = schema.plan.tables.enumerated().map { index, table in
            let parts = results.flatMap { $0.parts[index] }
            return Manifest.Table(
                name: table.name, columns: table.columns.map(\.name), rows: parts.reduce(0) { $0 + $1.rows },
                parts: parts)
        }
        var manifest = Manifest(
            collection: namespace.description, schemaHash: schema.hash,
            source: Manifest.Source(
                kind: request.inputFile == nil ? "server" : "file", file: request.inputFile,
                partition: request.partition?.description),
            startedAt: startedAt, finishedAt: timestampNow(), oplogPositions: positions, documents: report.documents,
            tables: tables, report: report.counts)
        manifest.initLoadID = request.initLoadID
        try Self.writeDDL(schema.plan, to: folder)
        try manifest.write(to: folder.url, name: manifestName)
        progress?.finish()
        return ReadSummary(
            collection: namespace.description, documents: report.documents, rows: report.rows,
            bytes: tables.reduce(0) { $0 + $1.parts.reduce(0) { $0 + $1.bytes } },
            seconds: (clock.now - started).seconds,
            manifest: folder.url.appendingPathComponent(manifestName).path, report: manifest.report)
    }

    /// `schema.sql`: the tables' DDL, for people and for loading by hand.
    static func writeDDL(_ plan: TablePlan, to folder: CollectionFolder) throws(LoadError) {
        // Partition workers share the folder: each writes its own temporary file before the (atomic) rename.
        let url = folder.url.appendingPathComponent("schema.sql")
        let temporary = folder.url.appendingPathComponent("schema.sql.\(getpid()).tmp")
        do {
            try Data(plan.ddl.utf8).write(to: temporary)
        } catch {
            throw LoadError(.io, "cannot write \(temporary.path): \(error.localizedDescription)")
        }
        try FileSystem.syncAndRename(temporary, to: url)
    }

    private static func createFolder(_ folder: CollectionFolder) throws(LoadError) {
        do {
            try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true)
        } catch {
            throw LoadError(.io, "cannot create \(folder.url.path): \(error.localizedDescription)")
        }
    }

    /// Creates the folder and removes what an earlier run of this worker left: the reader status and its manifest
    /// first (so neither ever describes new parts), then its parts and temporary files.
    private func prepare(_ folder: CollectionFolder, manifestName: String, partition: Partition?) throws(LoadError) {
        try Self.createFolder(folder)
        if partition == nil {
            unlink(folder.url.appendingPathComponent(ReaderStatus.fileName).path)
            unlink(folder.url.appendingPathComponent(LoadedMark.fileName).path)
        }
        Self.removeFiles(in: folder, manifestName: manifestName, partition: partition)
    }

    /// Removes the parts, temporary files and manifests of this worker (of every worker for a whole-collection
    /// read), manifests first.
    private static func removeFiles(in folder: CollectionFolder, manifestName: String, partition: Partition?) {
        let mine = PartNames.prefix(partition: partition)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.url.path)) ?? []
        // A whole-collection read replaces everything; a partition only its own files.
        let stale = entries.filter { name in
            partition == nil
                ? (name.hasSuffix(".tsv") || name.hasSuffix(".tmp") || name.hasPrefix("manifest"))
                : (name.contains(mine) || name == manifestName || name == manifestName + ".tmp"
                    || name == "schema.sql.\(getpid()).tmp")
        }
        for name in stale.sorted(by: Self.removedBefore) {
            unlink(folder.url.appendingPathComponent(name).path)
        }
    }

    /// The order `prepare` removes stale files in: manifests first, so no old manifest ever describes new parts. A
    /// strict weak ordering, as `sorted(by:)` requires: no name comes before itself, nor one manifest before another.
    static func removedBefore(_ a: String, _ b: String) -> Bool {
        a.hasPrefix("manifest") && !b.hasPrefix("manifest")
    }

    /// Each oplog source's safe start position (`MongoSession.safeStartPosition`, as `etlstatus init-load-start`
    /// reads it), read before the first document. A source without one (a standalone server, a mongos) is reported
    /// and left out rather than failing the read: reading needs no oplog, and init-load-start, which refuses such a
    /// source, records the positions that count.
    private func oplogPositions(_ sources: [String: String]) async -> [String: UInt64] {
        var positions: [String: UInt64] = [:]
        for (name, uri) in sources.sorted(by: { $0.key < $1.key }) {
            do {
                let session = try MongoSession(uri: uri, name: "oplog-\(name)")
                positions[name] = try await session.safeStartPosition(source: name).packed
            } catch {
                logger.warning("cannot read the oplog position", metadata: ["source": "\(name)", "error": "\(error)"])
            }
        }
        return positions
    }

    struct JobResult: Sendable {
        /// Per table, this job's parts in order.
        var parts: [[Manifest.Part]]
        var report: FlattenReport
    }

    private func readServer(
        _ request: ReadRequest, schema: SchemaFile, folder: CollectionFolder, jobs: Int, batchSize: Int
    ) async throws -> [JobResult] {
        let namespace = request.namespace
        let planner = try MongoSession(uri: request.mongoURI, name: "split")
        let partitions = request.partition?.count ?? 1
        let slices = jobs * partitions
        let points: [BSONValue]
        if slices == 1 {
            points = []
        } else if let shared = request.sharedSplitPoints {
            points = try await shared(slices)
        } else {
            points = try await planner.splitPoints(namespace, parts: slices)
        }
        let allRanges = IDRange.ranges(splitPoints: points)
        // This worker's ranges: every partitions-th, starting at its index; the other-types slice goes to worker 1.
        let mine = allRanges.enumerated().filter { offset, range in
            guard let partition = request.partition else { return true }
            if range.otherTypesThan != nil { return partition.index == 1 }
            return offset % partition.count == partition.index - 1
        }.map(\.element)
        // The count only feeds the TTY's ETA, and some servers answer it slowly: ask only when someone watches.
        if let progress, let estimate = try? await planner.estimatedCount(namespace) {
            progress.expect(estimate / partitions)
        }
        logger.info(
            "reading", metadata: [LogKey.namespace: "\(namespace)", "ranges": "\(mine.count)", "jobs": "\(jobs)"])

        return try await withThrowingTaskGroup(of: (Int, JobResult).self) { group in
            for job in 0..<jobs {
                let ranges = mine.enumerated().filter { $0.offset % jobs == job }.map(\.element)
                group.addTask {
                    let session = try MongoSession(uri: request.mongoURI, name: "read\(job)")
                    let queue = ReadAheadQueue(capacity: 2)
                    // The session reads ahead on its own thread while this job flattens what it read.
                    return try await withThrowingTaskGroup(of: JobResult?.self) { reading in
                        reading.addTask {
                            defer { queue.end() }
                            for range in ranges {
                                let options = FindOptions(batchSize: Int32(batchSize))
                                let cursor = try await session.find(namespace, filter: range.filter, options: options)
                                // A flattening that stopped (it failed) wants no further range.
                                guard try await session.readAhead(cursor, maximum: batchSize, into: queue) else {
                                    break
                                }
                            }
                            return nil
                        }
                        reading.addTask {
                            defer { queue.end() }
                            var stream = try PartSink.stream(
                                folder: folder, plan: schema.plan, partition: request.partition, job: job,
                                partBytes: request.partBytes, partSeconds: request.partSeconds)
                            while let batch = await queue.next() {
                                try Self.flatten(batch, into: &stream, namespace: namespace)
                                logger.debug(
                                    "batch flattened", metadata: ["job": "\(job + 1)", "documents": "\(batch.count)"])
                                progress?.add(batch.count)
                                try await TestHooks.hold(at: "read")
                            }
                            return try Self.finish(&stream)
                        }
                        var flattened: JobResult?
                        for try await result in reading { if let result { flattened = result } }
                        guard let flattened else {
                            throw GeneralError(
                                .internalError, "\(Tool.mongoReader): a read job ended without its parts")
                        }
                        return (job, flattened)
                    }
                }
            }
            var results: [(Int, JobResult)] = []
            for try await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// A dump file is read on one task and flattened on `jobs` tasks, each writing its own parts.
    private func readFile(
        _ path: String, schema: SchemaFile, folder: CollectionFolder, jobs: Int, batchSize: Int, partBytes: Int,
        partSeconds: Double
    ) async throws -> [JobResult] {
        let namespace = schema.plan.namespace
        let channel = BatchChannel(capacity: jobs * 2)
        return try await withThrowingTaskGroup(of: (Int, JobResult)?.self) { group in
            for job in 0..<jobs {
                group.addTask {
                    var stream = try PartSink.stream(
                        folder: folder, plan: schema.plan, partition: nil, job: job, partBytes: partBytes,
                        partSeconds: partSeconds)
                    while let batch = await channel.receive() {
                        try Self.flatten(batch, into: &stream, namespace: namespace)
                        logger.debug("batch flattened", metadata: ["job": "\(job + 1)", "documents": "\(batch.count)"])
                        progress?.add(batch.count)
                    }
                    return (job, try Self.finish(&stream))
                }
            }
            group.addTask {
                do {
                    let reader = try DocumentFileReader(path: path)
                    var batch: [RawDocument] = []
                    batch.reserveCapacity(batchSize)
                    while let bytes = try reader.next() {
                        batch.append(RawDocument(bytes: bytes))
                        if batch.count == batchSize {
                            await channel.send(batch)
                            batch.removeAll(keepingCapacity: true)
                        }
                    }
                    if !batch.isEmpty { await channel.send(batch) }
                    await channel.close()
                } catch {
                    await channel.close()
                    throw error
                }
                return nil
            }
            var results: [(Int, JobResult)] = []
            do {
                for try await result in group { if let result { results.append(result) } }
            } catch {
                await channel.close()
                throw error
            }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Decodes and flattens one batch into `stream`: the per-document hot path of every read, from a server or a
    /// file, and what `mongo-pg-bench flatten` measures. A document that cannot be decoded is `LoadError.corruptPart`.
    /// Specialised for the benchmark's counting sink as the reads here are for `PartSink`, so that the benchmark runs
    /// the code mongo-reader runs rather than its unspecialised generic form.
    @_specialize(exported:true,where Sink == CountingCopySink)
    public static func flatten<Sink: CopySink>(
        _ batch: [RawDocument], into stream: inout CopyStream<Sink>, namespace: Namespace
    ) throws {
        for raw in batch {
            let document: BSONDocument
            do {
                document = try raw.decode()
            } catch {
                throw LoadError(.corruptPart, "a document of \(namespace) cannot be decoded: \(error)")
            }
            try stream.append(document)
        }
    }

    static func finish(_ stream: inout CopyStream<PartSink>) throws -> JobResult {
        try stream.flush()
        let report = stream.report
        let parts = try stream.sink.finish()
        for (index, table) in stream.flattener.plan.tables.enumerated() {
            let counted = parts[index].reduce(0) { $0 + $1.rows }
            guard counted == report.rows[table.name] ?? 0 else {
                let made = report.rows[table.name] ?? 0
                throw GeneralError(
                    .internalError, "the parts of \(table.name) hold \(counted) lines, the flattener made \(made) rows")
            }
        }
        return JobResult(parts: parts, report: report)
    }
}

/// Part file names: `<table index>-<table name made file-safe>.<worker>-<job>.tsv`. Table names come from field
/// names, so they never reach a path unfiltered.
enum PartNames {
    static func prefix(partition: Partition?) -> String { ".w\(partition?.index ?? 1)-" }

    /// `sequence` counts a job's parts of one table from 1; the first part keeps the name it had before parts
    /// rotated, the next ones add `.pN`.
    static func name(tableIndex: Int, table: String, partition: Partition?, job: Int, sequence: Int = 1) -> String {
        let safe = String(
            table.unicodeScalars.map {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
                    ? Character($0) : "_"
            }.prefix(60))
        let suffix = sequence == 1 ? "" : ".p\(sequence)"
        return String(format: "%03d", tableIndex) + "-" + safe + prefix(partition: partition)
            + "j\(job + 1)\(suffix).tsv"
    }
}

/// Writes each table's COPY text into this job's part files for that table: a part is finished and the next one
/// begun once it holds `partBytes` or is `partSeconds` old, so finished parts appear while the read goes on. Rows
/// are counted as lines: COPY text escapes every newline inside a value, so each newline byte ends one row.
struct PartSink: CopySink {
    private struct Current {
        var writer: PartWriter
        var sequence: Int
        var rows = 0
        var bytes = 0
        /// When the part got its first rows: a part's age counts from there, so the first part, opened before the
        /// server's first answer, does not finish with its first chunk and leave the next one a whole slice.
        var begun: ContinuousClock.Instant?
    }
    private var current: [Current]
    private var finished: [[Manifest.Part]]
    private let makeWriter: (Int, Int) throws(LoadError) -> PartWriter
    private let partBytes: Int
    private let partAge: Duration

    init(
        folder: CollectionFolder, plan: TablePlan, partition: Partition?, job: Int, partBytes: Int, partSeconds: Double
    ) throws(LoadError) {
        let names = plan.tables.map(\.name)
        makeWriter = { table, sequence throws(LoadError) in
            let name = PartNames.name(
                tableIndex: table, table: names[table], partition: partition, job: job, sequence: sequence)
            return try PartWriter(url: folder.url.appendingPathComponent(name))
        }
        var current: [Current] = []
        for table in plan.tables.indices { current.append(Current(writer: try makeWriter(table, 1), sequence: 1)) }
        self.current = current
        finished = Array(repeating: [], count: plan.tables.count)
        self.partBytes = max(1, partBytes)
        partAge = .milliseconds(Int64(max(0.001, partSeconds) * 1000))
    }

    /// A stream into a new sink; its chunks are no bigger than a part, so small parts rotate too.
    static func stream(
        folder: CollectionFolder, plan: TablePlan, partition: Partition?, job: Int, partBytes: Int, partSeconds: Double
    ) throws(LoadError) -> CopyStream<PartSink> {
        let sink = try PartSink(
            folder: folder, plan: plan, partition: partition, job: job, partBytes: partBytes, partSeconds: partSeconds)
        return CopyStream(plan: plan, sink: sink, chunkSize: min(1 << 20, max(1, partBytes)))
    }

    mutating func write(table: Int, _ bytes: UnsafeRawBufferPointer) throws {
        let now = ContinuousClock.now
        if current[table].begun == nil { current[table].begun = now }
        try current[table].writer.append(bytes)
        var lines = 0
        for byte in bytes where byte == 0x0A { lines += 1 }
        current[table].rows += lines
        current[table].bytes += bytes.count
        if current[table].bytes >= partBytes || now - (current[table].begun ?? now) >= partAge {
            finished[table].append(try current[table].writer.finish(rows: current[table].rows))
            let sequence = current[table].sequence + 1
            current[table] = Current(writer: try makeWriter(table, sequence), sequence: sequence)
        }
    }

    /// Finishes every table's last part (empty ones included: each job leaves one part per table at least) and
    /// returns every part, per table, in order.
    mutating func finish() throws(LoadError) -> [[Manifest.Part]] {
        var parts = finished
        for table in current.indices {
            if current[table].bytes > 0 || parts[table].isEmpty {
                parts[table].append(try current[table].writer.finish(rows: current[table].rows))
            }
        }
        return parts
    }
}

/// A bounded hand-over of document batches from one reader to several flatteners.
actor BatchChannel {
    private var buffer: [[RawDocument]] = []
    private var closed = false
    private let capacity: Int
    private var waitingReceivers: [CheckedContinuation<[RawDocument]?, Never>] = []
    private var waitingSenders: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func send(_ batch: [RawDocument]) async {
        while buffer.count >= capacity, !closed { await withCheckedContinuation { waitingSenders.append($0) } }
        guard !closed else { return }
        if !waitingReceivers.isEmpty {
            waitingReceivers.removeFirst().resume(returning: batch)
        } else {
            buffer.append(batch)
        }
    }

    /// The next batch, or nil once the channel is closed and drained.
    func receive() async -> [RawDocument]? {
        if !buffer.isEmpty {
            let batch = buffer.removeFirst()
            if !waitingSenders.isEmpty { waitingSenders.removeFirst().resume() }
            return batch
        }
        if closed { return nil }
        return await withCheckedContinuation { waitingReceivers.append($0) }
    }

    func close() {
        closed = true
        for receiver in waitingReceivers { receiver.resume(returning: nil) }
        for sender in waitingSenders { sender.resume() }
        waitingReceivers.removeAll()
        waitingSenders.removeAll()
    }
}
