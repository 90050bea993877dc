import Foundation

/// `<csv-dir>/<db>.<coll>/`: what mongo-reader writes and psql-copy reads. One worker writes `manifest.json`; N
/// partitioned workers each write `manifest.part-K-of-N.json`, and psql-copy loads their union once all N are there.
public struct CollectionFolder: Sendable {
    public let url: URL
    public let namespace: Namespace

    public init(csvDirectory: String, namespace: Namespace) {
        url = URL(fileURLWithPath: csvDirectory).appendingPathComponent(namespace.description)
        self.namespace = namespace
    }

    /// The manifest's file name for a partition (nil: the whole collection).
    public static func manifestName(partition: Partition?) -> String {
        guard let partition else { return Manifest.fileName }
        return "manifest.part-\(partition.index)-of-\(partition.count).json"
    }

    /// The manifests of a finished read, merged: the single manifest, or all N partition manifests.
    public func finishedManifest() throws(LoadError) -> Manifest {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent(Manifest.fileName).path) {
            return try read(Manifest.fileName)
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
            .filter { $0.hasPrefix("manifest.part-") && $0.hasSuffix(".json") }.sorted()
        guard let first = names.first else {
            throw LoadError(
                .missingManifest, "no finished manifest in \(url.path): \(Tool.mongoReader) did not finish there")
        }
        let manifests = try names.map { name throws(LoadError) in try read(name) }
        let count = manifests[0].source.partition.flatMap { Partition($0)?.count } ?? 0
        let indexes = Set(
            manifests.compactMap { $0.source.partition.flatMap { Partition($0) } }.filter { $0.count == count }.map(
                \.index))
        guard count > 0, indexes == Set(1...count), manifests.count == count else {
            throw LoadError(
                .missingManifest,
                "\(url.path) holds \(manifests.count) partition manifest(s) (\(names.joined(separator: ", "))), not all \(max(count, 1)) of \(first): wait for every worker to finish"
            )
        }
        // Workers of one init load cut the collection at the same _ids; a manifest left by a worker of an earlier
        // init load would add rows of another cut (and of another time).
        let initLoads = Dictionary(grouping: zip(names, manifests)) { $0.1.initLoadID }
        if initLoads.count > 1 || initLoads.keys.contains(nil) {
            let each = initLoads.sorted { ($0.key ?? 0) < ($1.key ?? 0) }.map { id, members in
                members.map(\.0).joined(separator: ", ") + " " + (id.map { "of init load \($0)" } ?? "of no init load")
            }
            throw LoadError(
                .stalePartition,
                "the partition manifests in \(url.path) are not all of one init load (\(each.joined(separator: "; "))): "
                    + "rerun the workers of the current init load whose manifests are older")
        }
        return try Self.union(manifests)
    }

    private func read(_ name: String) throws(LoadError) -> Manifest {
        let manifest = try Manifest.read(from: url, name: name)
        guard manifest.collection == namespace.description else {
            throw LoadError(
                .badManifest,
                "\(url.appendingPathComponent(name).path) describes \(manifest.collection), not \(namespace)")
        }
        return manifest
    }

    /// One manifest for several partitions: parts appended per table, counts and reports summed.
    static func union(_ manifests: [Manifest]) throws(LoadError) -> Manifest {
        var merged = manifests[0]
        merged.source.partition = nil
        for other in manifests.dropFirst() {
            guard other.schemaHash == merged.schemaHash, other.tables.map(\.name) == merged.tables.map(\.name) else {
                throw LoadError(
                    .schemaMismatch, "partition manifests of \(merged.collection) were written with different schemas")
            }
            merged.documents += other.documents
            merged.startedAt = min(merged.startedAt, other.startedAt)
            merged.finishedAt = max(merged.finishedAt, other.finishedAt)
            for (source, position) in other.oplogPositions {
                merged.oplogPositions[source] = min(merged.oplogPositions[source] ?? position, position)
            }
            for (index, table) in other.tables.enumerated() {
                merged.tables[index].rows += table.rows
                merged.tables[index].parts += table.parts
            }
            for (kind, counts) in other.report { merged.report[kind, default: [:]].merge(counts, uniquingKeysWith: +) }
        }
        return merged
    }

    /// Checks that every part the manifest names is there, a regular file of the size it promises, and that the
    /// parts' rows add up, before anything touches PostgreSQL. Checksums are checked as the parts stream into COPY
    /// (`ChecksummingFile`), so a part rewritten after this check is caught too.
    public func checkParts(of manifest: Manifest) throws(LoadError) {
        for table in manifest.tables {
            var rows = 0
            for part in table.parts {
                let path = url.appendingPathComponent(part.file).path
                var info = stat()
                guard lstat(path, &info) == 0 else {
                    throw LoadError(
                        .corruptPart,
                        "part \(path) named by the manifest is missing: \(String(cString: strerror(errno)))")
                }
                guard info.st_mode & S_IFMT == S_IFREG else {
                    throw LoadError(.corruptPart, "part \(path) is not a regular file")
                }
                guard Int(info.st_size) == part.bytes else {
                    throw LoadError(
                        .corruptPart,
                        "part \(path) does not match the manifest (\(info.st_size) bytes; expected \(part.bytes) bytes)"
                    )
                }
                rows += part.rows
            }
            guard rows == table.rows else {
                throw LoadError(
                    .corruptPart,
                    "manifest of \(manifest.collection) promises \(table.rows) rows for \(table.name) but its parts hold \(rows)"
                )
            }
        }
    }
}

/// Worker K of N in a partitioned read, `K/N` on the command line (1-based).
public struct Partition: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1,
            (1...count).contains(index)
        else { return nil }
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }
}
