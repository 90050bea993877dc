import Foundation
import MongoPG

/// Schema helpers for tests: plans from inline JSON and the fixture schemas.
public enum SchemaFixtures {
    public static func schema(_ json: String, namespace: String = "test.edge") throws -> CollectionSchema {
        try CollectionSchema(namespace: Namespace(namespace)!, jsonText: json)
    }

    public static func plan(
        _ json: String, namespace: String = "test.edge", settings: FlattenSettings = FlattenSettings()
    )
        throws -> TablePlan
    {
        try TablePlan(schema: schema(json, namespace: namespace), settings: settings)
    }

    /// A fixture schema under `Fixtures/schemas/`.
    public static func fixturePlan(_ name: String, namespace: String, settings: FlattenSettings = FlattenSettings())
        throws -> TablePlan
    {
        let text = try String(contentsOf: Fixtures.url("schemas/\(name)"), encoding: .utf8)
        return try TablePlan(
            schema: CollectionSchema(namespace: Namespace(namespace)!, jsonText: text), settings: settings)
    }

    /// The documents of an Extended JSON lines fixture.
    public static func documents(_ relativePath: String) throws -> [BSONDocument] {
        try Fixtures.extendedJSONLines(relativePath).map { try BSONDocument(extendedJSON: $0) }
    }

    /// Catalog rows sorted by table name bytes: catalogs compared whatever order PostgreSQL gave them in.
    public static func sortedTables(_ tables: [CatalogTable]) -> [CatalogTable] {
        tables.sorted { Array($0.table.utf8).lexicographicallyPrecedes($1.table.utf8) }
    }

    /// Catalog column rows sorted by table, then column name bytes.
    public static func sortedColumns(_ columns: [CatalogColumn]) -> [CatalogColumn] {
        columns.sorted {
            Array(($0.table + "\0" + $0.column).utf8).lexicographicallyPrecedes(($1.table + "\0" + $1.column).utf8)
        }
    }

    /// The fields sorted by name bytes at every level: schemas compared without their field order.
    public static func unordered(_ fields: [SchemaField]) -> [SchemaField] {
        fields.map { SchemaField($0.name, unordered($0.node)) }.sorted {
            Array($0.name.utf8).lexicographicallyPrecedes($1.name.utf8)
        }
    }

    public static func unordered(_ node: SchemaNode) -> SchemaNode {
        switch node {
        case .scalar, .excluded, .hashed: node
        case .object(let fields): .object(unordered(fields))
        case .array(let element): .array(unordered(element))
        }
    }
}

/// Locates the package's built executables, next to the test bundle in the build products folder.
public enum Binaries {
    /// The products folder: the test bundle's folder (`.build*/debug`), else `$SYNC_BIN_DIR`.
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["SYNC_BIN_DIR"] { return URL(fileURLWithPath: override) }
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }

    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    public struct Outcome: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// How long the run took.
        public var seconds: Double
        /// The run's peak resident memory in KiB (`measurePeakMemory`), as getrusage(2) gives it.
        public var peakMemoryKiB: Int? = nil
    }

    /// Runs the binary under a python3 that reports its child's peak RSS (`ru_maxrss`) on the last stderr line.
    private static let peakMemoryReporter = """
        import resource, subprocess, sys
        status = subprocess.call(sys.argv[1:])
        print("peak-rss-kib:", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
        sys.exit(status if status >= 0 else 128 - status)
        """

    /// Runs a built binary to completion and collects its exit status and output; `environment` adds to (or
    /// overrides) the test process's own. `killAfter` ends a run that hangs (the test then fails on its status
    /// instead of stalling the suite); `fullStandardOutput` points stdout at /dev/full. The waiting happens on a
    /// thread of its own, never on the two threads of Swift's cooperative pool: a test waiting for a long run must not
    /// stall every other test (and their timings).
    public static func run(
        _ name: String, _ arguments: [String], environment: [String: String] = [:], killAfter: Double = 600,
        fullStandardOutput: Bool = false, measurePeakMemory: Bool = false
    ) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        try runBlocking(
                            name, arguments, environment: environment, killAfter: killAfter,
                            fullStandardOutput: fullStandardOutput, measurePeakMemory: measurePeakMemory)
                    })
            }
        }
    }

    private static func runBlocking(
        _ name: String, _ arguments: [String], environment: [String: String], killAfter: Double,
        fullStandardOutput: Bool, measurePeakMemory: Bool
    ) throws -> Outcome {
        let process = Process()
        if measurePeakMemory {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", peakMemoryReporter, url(name).path] + arguments
        } else {
            process.executableURL = url(name)
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        let full = fullStandardOutput ? FileHandle(forWritingAtPath: "/dev/full") : nil
        process.standardOutput = full ?? out
        process.standardError = err
        let started = Date()
        try process.run()
        let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + killAfter, execute: killer)
        // Drain stderr on another thread while reading stdout, so neither pipe can fill and block the child.
        nonisolated(unsafe) var stderrData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            stderrData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        try? out.fileHandleForWriting.close()
        let outData = full == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        group.wait()
        process.waitUntilExit()
        killer.cancel()
        try? full?.close()
        var stderr = String(decoding: stderrData, as: UTF8.self)
        var peak: Int?
        if measurePeakMemory, let range = stderr.range(of: "peak-rss-kib: ", options: .backwards) {
            peak = Int(stderr[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines))
            stderr = String(stderr[..<range.lowerBound])
        }
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: stderr,
            seconds: Date().timeIntervalSince(started), peakMemoryKiB: peak)
    }
}
