// Benchmarks that print figures; scripts/bench-* run them in release mode. Never asserted in tests.
import CMongoC
import Foundation
import Logging
import MongoPG

func usage() -> Never {
    FileHandle.standardError.write(
        Data(
            """
            usage: mongo-pg-bench bson-decode FILE... [--documents N]
                   mongo-pg-bench raw-read URI DB.COLL [--jobs N]   (the server's floor: documents fetched, not decoded)
                   mongo-pg-bench copy [--rows N]      (needs PG_URI and PGPASSWORD, as scripts/services writes them)
                   mongo-pg-bench flatten --schema schemas/DB.COLL.json FILE... [--documents N] [--rounds N]
                       (BSON decode alone against decode + flatten + COPY text encode, one core, same run)

            """.utf8))
    exit(64)
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let elapsed = try clock.measure(body)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func figure(_ value: Double) -> String { String(format: value >= 100 ? "%.0f" : "%.2f", value) }

// MARK: BSON decode

/// libbson's own walk over every element, recursing into documents and arrays and reading each string: the
/// reference a decoder is measured against (it allocates nothing, so it is a ceiling, not a peer).
func libbsonWalk(_ iterator: OpaquePointer) -> Int {
    var visited = 0
    while bson_iter_next(iterator) {
        visited += 1
        switch sk_iter_type(iterator) {
        case 0x03, 0x04:
            let child = sk_iter_alloc()!
            defer { sk_iter_free(child) }
            if bson_iter_recurse(iterator, child) { visited += libbsonWalk(child) }
        case 0x02:
            var length: UInt32 = 0
            _ = bson_iter_utf8(iterator, &length)
            visited += Int(length & 1)
        default: break
        }
    }
    return visited
}

func benchDecode(files: [String], documentCount: Int) throws {
    var samples: [[UInt8]] = []
    for file in files {
        let reader = try DocumentFileReader(path: file)
        while let document = try reader.next() { samples.append(document) }
    }
    guard !samples.isEmpty else { usage() }
    let documents = (0..<documentCount).map { samples[$0 % samples.count] }
    let megabytes = Double(documents.reduce(0) { $0 + $1.count }) / 1_048_576
    print(
        "BSON decode: \(documents.count) documents, \(figure(megabytes)) MB (replicated from \(samples.count) samples)")

    var checksum = 0
    let iterator = sk_iter_alloc()!
    defer { sk_iter_free(iterator) }
    let libbson = seconds {
        for document in documents {
            document.withUnsafeBufferPointer { buffer in
                if bson_iter_init_from_data(iterator, buffer.baseAddress, buffer.count) {
                    checksum &+= libbsonWalk(iterator)
                }
            }
        }
    }
    let validate = seconds {
        for document in documents {
            document.withUnsafeBufferPointer { buffer in
                guard let raw = bson_new_from_data(buffer.baseAddress, buffer.count) else { return }
                var offset = 0
                if bson_validate(raw, BSON_VALIDATE_UTF8, &offset) { checksum &+= 1 }
                bson_destroy(raw)
            }
        }
    }
    let swift = try seconds {
        for document in documents { checksum &+= try BSONDecoder.decode(document).count }
    }
    for (name, time) in [
        ("libbson walk (reference)", libbson), ("libbson validate UTF-8", validate), ("BSONDecoder.decode", swift),
    ] {
        print(
            "  \(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(figure(Double(documents.count) / time)) docs/s  \(figure(megabytes / time)) MB/s"
        )
    }
    print(
        "  ratio BSONDecoder / libbson walk: \(figure(libbson / swift)); / libbson validate: \(figure(validate / swift))  (checksum \(checksum))"
    )
}

// MARK: Flatten + encode

/// A copy of `sample` whose `_id` is made distinct by `number`: an ObjectId keeps its first four bytes (the time)
/// and takes `number` as its last eight; strings get a suffix, numbers become `number`. Other `_id` types stay as
/// they are (the flattener does not care whether ids repeat).
func distinctCopy(_ sample: [UInt8], number: Int) throws -> [UInt8] {
    var document = try BSONDecoder.decode(sample)
    switch document["_id"] {
    case .objectID(let id):
        let time = withUnsafeBytes(of: id.bytes) { Array($0.prefix(4)) }
        document["_id"] = .objectID(ObjectID(time + withUnsafeBytes(of: UInt64(number).bigEndian) { Array($0) })!)
    case .string(let text): document["_id"] = .string("\(text)-\(number)")
    case .int32: document["_id"] = .int32(Int32(truncatingIfNeeded: number))
    case .int64: document["_id"] = .int64(Int64(number))
    case .double: document["_id"] = .double(Double(number))
    default: break
    }
    return try BSONEncoder.encode(document)
}

/// Decode alone (the ceiling) against decode + flatten + COPY text encode into a discarding sink, through
/// `CollectionReader.flatten`, the loop mongo-reader runs per batch. One thread; rounds alternate so machine noise
/// hits both alike, and the best round of each counts.
func benchFlatten(schemaPath: String, files: [String], documentCount: Int, rounds: Int) throws {
    let url = URL(fileURLWithPath: schemaPath)
    guard url.pathExtension == "json", let namespace = Namespace(url.deletingPathExtension().lastPathComponent) else {
        FileHandle.standardError.write(Data("mongo-pg-bench: the schema file must be named DB.COLL.json\n".utf8))
        exit(64)
    }
    let directory = url.deletingLastPathComponent().path
    let plan = try SchemaFile(namespace: namespace, schemasDirectory: directory, settings: FlattenSettings()).plan
    var samples: [[UInt8]] = []
    for file in files {
        let reader = try DocumentFileReader(path: file)
        while let document = try reader.next() { samples.append(document) }
    }
    guard !samples.isEmpty else { usage() }
    let count = max(documentCount, samples.count)
    let documents = try (0..<count).map {
        RawDocument(bytes: try distinctCopy(samples[$0 % samples.count], number: $0))
    }
    let batches = stride(from: 0, to: count, by: ReadRequest.defaultBatchSize).map {
        Array(documents[$0..<min($0 + ReadRequest.defaultBatchSize, count)])
    }
    let megabytes = Double(documents.reduce(0) { $0 + $1.bytes.count }) / 1_048_576
    print(
        "flatten \(namespace): \(count) documents, \(figure(megabytes)) MB of BSON (replicated from \(samples.count) "
            + "samples), \(plan.tables.count) tables")

    var checksum = 0, rows = 0, copyBytes = 0
    var decodeTimes: [Double] = [], flattenTimes: [Double] = []
    for _ in 0..<max(1, rounds) {
        decodeTimes.append(
            try seconds {
                for batch in batches {
                    for raw in batch { checksum &+= try raw.decode().count }
                }
            })
        var stream = CopyStream(plan: plan, sink: CountingCopySink())
        flattenTimes.append(
            try seconds {
                for batch in batches { try CollectionReader.flatten(batch, into: &stream, namespace: namespace) }
                try stream.flush()
            })
        precondition(stream.report.documents == count, "flattened \(stream.report.documents) of \(count) documents")
        rows = stream.report.rows.values.reduce(0, +)
        copyBytes = stream.sink.bytes
    }
    let decode = decodeTimes.min()!, flatten = flattenTimes.min()!
    let documentsPerSecond = Double(count) / decode
    print("  decode alone (ceiling)       \(figure(documentsPerSecond)) docs/s  \(figure(megabytes / decode)) MB/s")
    let copyMegabytes = Double(copyBytes) / 1_048_576
    print(
        "  decode + flatten + encode    \(figure(Double(count) / flatten)) docs/s  \(figure(megabytes / flatten)) MB/s "
            + " \(figure(Double(rows) / flatten)) rows/s  (\(rows) rows, \(figure(copyMegabytes)) MB of COPY text)")
    print(
        "  ratio flatten+encode / decode: \(String(format: "%.3f", decode / flatten))  (target >= 0.40; best of "
            + "\(decodeTimes.count) rounds, checksum \(checksum))")
}

// MARK: Raw read

/// Reads a collection the way mongo-reader does (same `_id` slices, same batches) but neither decodes nor flattens.
func benchRawRead(uri: String, namespace: Namespace, jobs: Int) async throws {
    let clock = ContinuousClock(), started = clock.now
    let planner = try MongoSession(uri: uri, name: "split")
    let ranges = IDRange.ranges(splitPoints: try await planner.splitPoints(namespace, parts: jobs))
    let (documents, bytes) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
        for job in 0..<jobs {
            let mine = ranges.enumerated().filter { $0.offset % jobs == job }.map(\.element)
            group.addTask {
                let session = try MongoSession(uri: uri, name: "raw\(job)")
                var documents = 0, bytes = 0
                for range in mine {
                    let cursor = try await session.find(
                        namespace, filter: range.filter, options: FindOptions(batchSize: 1000))
                    while true {
                        let batch = try await session.nextBatch(cursor, maximum: 1000)
                        if batch.isEmpty { break }
                        documents += batch.count
                        bytes += batch.reduce(0) { $0 + $1.bytes.count }
                    }
                }
                return (documents, bytes)
            }
        }
        var total = (0, 0)
        for try await part in group { total = (total.0 + part.0, total.1 + part.1) }
        return total
    }
    let seconds = (clock.now - started)
    let elapsed = Double(seconds.components.seconds) + Double(seconds.components.attoseconds) / 1e18
    print(
        "raw read \(namespace) jobs=\(jobs): \(documents) docs, \(figure(Double(bytes) / 1_048_576)) MB in \(figure(elapsed)) s: \(figure(Double(documents) / elapsed)) docs/s"
    )
}

// MARK: COPY

func benchCopy(rows: Int) async throws {
    let environment = ProcessInfo.processInfo.environment
    guard let uri = environment["PG_URI"] else { usage() }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("copy-bench-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("rows.tsv").path

    // Ten columns of the kinds a flattened collection has: ids, text, numbers, booleans, timestamps, NULLs.
    _ = FileManager.default.createFile(atPath: file, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
    var chunk = ""
    for row in 0..<rows {
        chunk +=
            "5ca4bbcea2dd94ee\(String(format: "%08x", row))\tuser\(row)\tName \(row % 977) with\\ttab\t\(row % 100_000)\t\(Double(row) * 1.25)\t\(row % 2 == 0 ? "t" : "f")\t2020-01-\(String(format: "%02d", row % 28 + 1)) 12:34:56.789+00\t\(row % 7 == 0 ? "\\N" : "x\(row)@example.com")\t\(row * 31)\tCity \(row % 50)\n"
        if chunk.utf8.count > 1 << 20 {
            handle.write(Data(chunk.utf8))
            chunk = ""
        }
    }
    handle.write(Data(chunk.utf8))
    try handle.close()
    let megabytes = Double((try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0) / 1_048_576
    print("COPY: \(rows) rows of 10 columns, \(figure(megabytes)) MB")

    var logger = Logger(label: "bench")
    logger.logLevel = .warning  // "table does not exist, skipping" notices are expected
    let session = PostgresSession(name: "bench", logger: logger)
    try await session.connect(conninfo: uri)
    let table = "copy_bench_\(getpid())"
    let columns = ["id", "username", "name", "n", "amount", "active", "created", "email", "total", "city"]
    try await session.execute(
        """
        DROP TABLE IF EXISTS \(table);
        CREATE UNLOGGED TABLE \(table) (id text, username text, name text, n integer, amount double precision,
          active boolean, created timestamptz, email text, total bigint, city text)
        """, purpose: "create the benchmark table")

    var ours: [Double] = [], psql: [Double] = []
    for _ in 0..<3 {  // alternate, so machine noise hits both alike
        try await session.execute("TRUNCATE \(table)", purpose: "empty the benchmark table")
        let clock = ContinuousClock()
        var start = clock.now
        let loaded = try await session.copyIn(table: table, columns: columns, purpose: "benchmark COPY", fromFile: file)
        ours.append(
            Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds))
        precondition(loaded == rows, "loaded \(loaded) rows, expected \(rows)")
        try await session.execute("TRUNCATE \(table)", purpose: "empty the benchmark table")
        start = clock.now
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [
            uri, "-q", "-v", "ON_ERROR_STOP=1", "-c",
            "\\copy \(table) (\(columns.joined(separator: ", "))) from '\(file)'",
        ]
        try process.run()
        process.waitUntilExit()
        let elapsed = clock.now - start
        psql.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        precondition(process.terminationStatus == 0, "psql failed")
    }
    let bestOurs = ours.min()!, bestPsql = psql.min()!
    print(
        "  PostgresSession.copyIn   \(figure(Double(rows) / bestOurs)) rows/s  \(figure(megabytes / bestOurs)) MB/s  (best of 3)"
    )
    print(
        "  psql \\copy               \(figure(Double(rows) / bestPsql)) rows/s  \(figure(megabytes / bestPsql)) MB/s  (best of 3)"
    )
    print("  ratio copyIn / psql: \(figure(bestPsql / bestOurs))\n")
    try await session.execute("DROP TABLE IF EXISTS \(table)", purpose: "drop the benchmark table")
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { usage() }
arguments.removeFirst()
@MainActor func option(_ name: String, default value: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count,
        let number = Int(arguments[index + 1])
    else { return value }
    arguments.removeSubrange(index...index + 1)
    return number
}
do {
    switch command {
    case "bson-decode":
        let count = option("--documents", default: 200_000)
        try benchDecode(files: arguments, documentCount: count)
    case "raw-read":
        let jobs = option("--jobs", default: 1)
        guard arguments.count == 2, let namespace = Namespace(arguments[1]) else { usage() }
        try await benchRawRead(uri: arguments[0], namespace: namespace, jobs: jobs)
    case "flatten":
        let count = option("--documents", default: 100_000), rounds = option("--rounds", default: 5)
        guard let index = arguments.firstIndex(of: "--schema"), index + 1 < arguments.count else { usage() }
        let schema = arguments[index + 1]
        arguments.removeSubrange(index...index + 1)
        guard !arguments.isEmpty else { usage() }
        try benchFlatten(schemaPath: schema, files: arguments, documentCount: count, rounds: rounds)
    case "copy":
        try await benchCopy(rows: option("--rows", default: 1_000_000))
    default: usage()
    }
} catch {
    FileHandle.standardError.write(Data("mongo-pg-bench: \(error)\n".utf8))
    exit(70)
}
