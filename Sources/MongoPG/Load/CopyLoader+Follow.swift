import Foundation
import Synchronization

/// psql-copy `--follow-reader`: loads a folder while mongo-reader still writes it. Each part the reader finishes
/// (renamed from `.tmp`) is copied into staging at once, its checksum and size computed as it streams; the swap
/// waits for the manifest and happens only when every part of it was loaded with its checksum, size and row count.
/// The reader's lock and status (`ReaderStatus`) tell a reader that failed, died or stalled from one still at work,
/// so a broken read ends the load with the reader's reason and never reaches the swap.
extension CopyLoader {
    /// A part loaded into staging, as it was streamed.
    struct LoadedPart: Sendable {
        var table: Int
        var rows: Int
        var bytes: Int
        var checksum: String
    }

    /// Waits (up to `request.waitSeconds`) for a reader to follow: the live one writing the folder, or the last one
    /// that finished there when nobody loaded its read yet. The status of a reader that failed or died is not
    /// followed, since a new reader may be about to replace it (one started together with psql-copy); it is the
    /// answer only when no reader came within the wait. Checks the reader's schema before PostgreSQL is touched.
    func readerToFollow(_ folder: CollectionFolder, schema: SchemaFile, request: LoadRequest) async throws
        -> ReaderStatus
    {
        let deadline = ContinuousClock.now + .seconds(request.waitSeconds)
        var last: ReaderStatus?
        while true {
            let holder = ReaderLock.holder(of: folder.url)
            if let status = ReaderStatus.read(in: folder.url) {
                let live = holder != nil && holder == status.pid && status.state == .reading
                let unloaded =
                    holder == nil && status.state == .finished
                    && LoadedMark.read(in: folder.url)?.run != status.run
                if live || unloaded {
                    guard status.schemaHash == schema.hash else {
                        throw LoadError(
                            .schemaMismatch,
                            "\(schema.path) (hash \(schema.hash)) is not the schema \(Tool.mongoReader) reads "
                                + "\(folder.url.path) "
                                + "with (hash \(status.schemaHash)): run both with the same schema file")
                    }
                    logger.info(
                        "following \(Tool.mongoReader)",
                        metadata: [
                            LogKey.namespace: "\(folder.namespace)", "pid": "\(status.pid)", "run": "\(status.run)",
                            "state": "\(status.state.rawValue)",
                        ])
                    return status
                }
                if holder == nil { last = status }
            }
            guard ContinuousClock.now < deadline else {
                let waited = "no \(Tool.mongoReader) started writing \(folder.url.path) within \(request.waitSeconds) s"
                switch last?.state {
                case .failed?:
                    throw LoadError(
                        .readerFailed,
                        "\(waited); the last one (pid \(last?.pid ?? 0)) failed"
                            + "\(last?.exitStatus.map { " with exit status \($0)" } ?? ""): "
                            + (last?.message ?? "no reason given"),
                        readerExitStatus: last?.exitStatus.flatMap(ExitStatus.init(rawValue:)))
                case .reading?:
                    throw LoadError(
                        .readerFailed,
                        "\(waited); the last one (pid \(last?.pid ?? 0)) ended without finishing (killed or crashed)")
                default:
                    throw LoadError(
                        .readerFailed,
                        "\(waited) (the last read there, if any, was loaded already): start \(Tool.mongoReader) for "
                            + "\(folder.namespace) with the same --csv-dir")
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Copies every part of the followed read into `staging` (tables created with their primary keys, so nothing
    /// but statistics is left once the read ends) and returns the reader's manifest and the row counts, checked.
    /// `whenReadEnds` runs once the manifest is there, beside the copies of the last parts (ANALYZE: its sample
    /// then misses at most the last second of the read, and past a histogram's ends the planner reads the actual
    /// extremes from the key's index).
    func followAndCopy(
        _ status: ReaderStatus, folder: CollectionFolder, plan: TablePlan, staging: String, request: LoadRequest,
        whenReadEnds: @escaping @Sendable () async throws -> Void
    ) async throws -> (Manifest, [String: Int]) {
        enum Outcome: Sendable {
            case copied([String: LoadedPart])
            case read(Manifest)
        }
        let queue = PartQueue()
        let openSession = openSession, live = live
        let (manifest, parts) = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for worker in 0..<max(1, request.jobs) {
                group.addTask {
                    let session = try await openSession("copy\(worker)")
                    live.add(session)
                    defer { live.remove(session) }
                    var copied: [String: LoadedPart] = [:]
                    while let (file, table) = await queue.next() {
                        try Task.checkCancellation()
                        copied[file] = try await Self.copyPart(
                            file, table: table, plan: plan, folder: folder, staging: staging, on: session)
                    }
                    await session.close()
                    return .copied(copied)
                }
            }
            group.addTask {
                do {
                    let manifest = try await Self.watch(
                        status, folder: folder, plan: plan, queue: queue,
                        waitSeconds: request.waitSeconds)
                    await queue.close()
                    try await whenReadEnds()
                    return .read(manifest)
                } catch {
                    await queue.close()
                    throw error
                }
            }
            var manifest: Manifest?
            var parts: [String: LoadedPart] = [:]
            do {
                for try await outcome in group {
                    switch outcome {
                    case .copied(let copied): parts.merge(copied) { first, _ in first }
                    case .read(let read): manifest = read
                    }
                }
            } catch {
                await queue.close()
                // A failed reader removes its parts: a copier that lost one says less than the reader's reason.
                if let final = ReaderStatus.read(in: folder.url), final.run == status.run, final.state == .failed {
                    throw Self.failure(of: final, namespace: plan.namespace)
                }
                throw error
            }
            guard let manifest else {
                throw GeneralError(.internalError, "\(Tool.psqlCopy): the reader watch ended without a manifest")
            }
            return (manifest, parts)
        }
        return (manifest, try Self.check(parts, against: manifest, plan: plan, folder: folder))
    }

    /// Hands each finished part to the copiers as it appears, until the reader's process is gone; then answers
    /// its manifest (every part it names handed out) or the reason it has none.
    private static func watch(
        _ status: ReaderStatus, folder: CollectionFolder, plan: TablePlan, queue: PartQueue, waitSeconds: Int
    ) async throws -> Manifest {
        var seen = Set<String>()
        var lastChange = ContinuousClock.now
        var lastFootprint: [String: Int] = [:]
        func handOut(_ file: String) async throws {
            guard !seen.contains(file) else { return }
            guard let table = Int(file.prefix { $0.isNumber }), plan.tables.indices.contains(table) else {
                throw LoadError(
                    .corruptPart, "\(folder.url.appendingPathComponent(file).path) is not a part of \(plan.namespace)")
            }
            seen.insert(file)
            await queue.push((file, table))
        }
        while true {
            // The lock first: when it is free, every part and the final status were written before the listing.
            let holder = ReaderLock.holder(of: folder.url)
            let footprint = Self.footprint(of: folder)
            for file in footprint.keys.sorted() where file.hasSuffix(".tsv") { try await handOut(file) }
            if holder != status.pid {
                guard let final = ReaderStatus.read(in: folder.url), final.run == status.run else {
                    throw LoadError(
                        .readerFailed,
                        "the \(Tool.mongoReader) writing \(folder.url.path) (pid \(status.pid)) was replaced by "
                            + "another run"
                    )
                }
                switch final.state {
                case .finished:
                    let manifest = try folder.finishedManifest()
                    guard manifest.startedAt == final.startedAt else {
                        throw LoadError(.badManifest, "the manifest in \(folder.url.path) is not of the read followed")
                    }
                    for table in manifest.tables { for part in table.parts { try await handOut(part.file) } }
                    return manifest
                case .failed:
                    throw failure(of: final, namespace: plan.namespace)
                case .reading:
                    throw LoadError(
                        .readerFailed,
                        "\(Tool.mongoReader) (pid \(final.pid)) ended without finishing \(folder.url.path) "
                            + "(killed or crashed): "
                            + "no manifest, the live tables are unchanged")
                }
            }
            // A reader whose files have not changed for `waitSeconds` is stuck: bounded, never a hang.
            if footprint != lastFootprint {
                lastFootprint = footprint
                lastChange = ContinuousClock.now
            } else if ContinuousClock.now - lastChange > .seconds(waitSeconds) {
                throw LoadError(
                    .readerFailed,
                    "\(Tool.mongoReader) (pid \(status.pid)) wrote nothing in \(folder.url.path) for \(waitSeconds) s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The error of a followed reader that failed: its reason and exit status.
    static func failure(of reader: ReaderStatus, namespace: Namespace) -> LoadError {
        LoadError(
            .readerFailed,
            "\(Tool.mongoReader) (pid \(reader.pid)) failed reading \(namespace)"
                + "\(reader.exitStatus.map { " with exit status \($0)" } ?? ""): "
                + (reader.message ?? "no reason given"),
            readerExitStatus: reader.exitStatus.flatMap(ExitStatus.init(rawValue:)))
    }

    /// The folder's files, and the sizes of the parts being written: what changes while a reader works (finished
    /// parts are not stat'ed, so a poll stays cheap however many there are).
    private static func footprint(of folder: CollectionFolder) -> [String: Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.url.path)) ?? []
        var sizes: [String: Int] = [:]
        for name in names {
            var info = stat()
            if name.hasSuffix(".tmp"), stat(folder.url.appendingPathComponent(name).path, &info) == 0 {
                sizes[name] = Int(info.st_size)
            } else {
                sizes[name] = 0
            }
        }
        return sizes
    }

    /// COPYs one part into its staging table, computing its checksum and size from the bytes streamed.
    static func copyPart(
        _ file: String, table: Int, plan: TablePlan, folder: CollectionFolder, staging: String,
        on session: PostgresSession
    ) async throws -> LoadedPart {
        let path = folder.url.appendingPathComponent(file).path
        let source = try ChecksummingFile(path: path)
        let planned = plan.tables[table]
        let rows: Int
        do {
            rows = try await session.copyIn(
                schema: staging, table: planned.name, columns: planned.columns.map(\.name),
                purpose: "load \(file) into staging table \(planned.name)", chunks: { try source.next() })
        } catch let error as PostgresError where error.sqlState == "23505" {
            // Following a reader, the staging tables have their keys while rows come.
            throw DuplicateKeyError(error, table: planned, plan: plan)
        }
        let (bytes, checksum) = source.result
        return LoadedPart(table: table, rows: rows, bytes: bytes, checksum: checksum)
    }

    /// Every part the manifest names must have been loaded whole (size, checksum, rows), and nothing else.
    private static func check(
        _ loaded: [String: LoadedPart], against manifest: Manifest, plan: TablePlan, folder: CollectionFolder
    ) throws(LoadError) -> [String: Int] {
        var counts: [String: Int] = [:]
        var named = Set<String>()
        for (index, table) in manifest.tables.enumerated() {
            var rows = 0
            for part in table.parts {
                let path = folder.url.appendingPathComponent(part.file).path
                guard let copy = loaded[part.file], copy.table == index else {
                    throw LoadError(.corruptPart, "part \(path) named by the manifest was not loaded")
                }
                guard copy.bytes == part.bytes, copy.checksum == part.checksum else {
                    throw LoadError(
                        .corruptPart,
                        "part \(path) does not match the manifest (\(copy.bytes) bytes, checksum \(copy.checksum) "
                            + "loaded; expected \(part.bytes) bytes, checksum \(part.checksum))")
                }
                guard copy.rows == part.rows else {
                    throw LoadError(
                        .rowCountMismatch,
                        "\(part.file): PostgreSQL loaded \(copy.rows) rows, the manifest promises \(part.rows)")
                }
                rows += part.rows
                named.insert(part.file)
            }
            guard rows == table.rows else {
                throw LoadError(
                    .corruptPart,
                    "manifest of \(manifest.collection) promises \(table.rows) rows for \(table.name) "
                        + "but its parts hold \(rows)"
                )
            }
            counts[table.name] = rows
        }
        if let stray = loaded.keys.sorted().first(where: { !named.contains($0) }) {
            throw LoadError(
                .corruptPart, "part \(stray) was loaded but the manifest of \(manifest.collection) does not name it")
        }
        return counts
    }
}

/// A part file read in chunks for COPY, its checksum and size computed on the way. Sendable so that the COPY's
/// chunk closure (run on the session's thread) and the caller can both reach it.
final class ChecksummingFile: Sendable {
    private struct State {
        var checksum = Checksum()
        var bytes = 0
    }
    private let descriptor: Int32
    private let path: String
    private let state = Mutex(State())

    init(path: String) throws(LoadError) {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        self.path = path
        guard descriptor >= 0 else {
            throw LoadError(.corruptPart, "part \(path) cannot be opened: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    /// The next chunk of at most 1 MiB, or nil at the end of the file.
    func next() throws(LoadError) -> [UInt8]? {
        let size = 1 << 20
        var failure: Int32 = 0
        let chunk = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var got = -1
            repeat { got = read(descriptor, buffer.baseAddress, size) } while got < 0 && errno == EINTR
            if got < 0 { failure = errno }
            count = max(got, 0)
        }
        guard failure == 0 else { throw LoadError(.io, "cannot read \(path): \(String(cString: strerror(failure)))") }
        if chunk.isEmpty { return nil }
        state.withLock { state in
            state.checksum.update(chunk)
            state.bytes += chunk.count
        }
        return chunk
    }

    var result: (bytes: Int, checksum: String) { state.withLock { ($0.bytes, $0.checksum.hex) } }
}

/// Parts handed from the watcher to the copiers as they appear; `next` waits for one, nil once closed and drained.
actor PartQueue {
    private var items: [(String, Int)] = []
    private var closed = false
    private var waiting: [CheckedContinuation<(String, Int)?, Never>] = []

    func push(_ item: (String, Int)) {
        if !waiting.isEmpty { waiting.removeFirst().resume(returning: item) } else { items.append(item) }
    }

    func next() async -> (String, Int)? {
        if !items.isEmpty { return items.removeFirst() }
        if closed || Task.isCancelled { return nil }
        return await withCheckedContinuation { waiting.append($0) }
    }

    func close() {
        closed = true
        for continuation in waiting { continuation.resume(returning: nil) }
        waiting.removeAll()
    }
}
