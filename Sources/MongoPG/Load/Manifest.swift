import Foundation

/// `manifest.json`, written last by mongo-reader: what a CSV folder holds and how to check it. psql-copy refuses a
/// folder without one, or whose parts do not match it.
public struct Manifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"
    public static let currentFormat = 1

    public struct Part: Codable, Sendable, Equatable {
        /// File name inside the collection folder.
        public var file: String
        public var rows: Int
        public var bytes: Int
        /// FNV-1a 64 of the file's bytes, 16 hex digits.
        public var checksum: String
        public init(file: String, rows: Int, bytes: Int, checksum: String) {
            self.file = file
            self.rows = rows
            self.bytes = bytes
            self.checksum = checksum
        }
    }

    public struct Table: Codable, Sendable, Equatable {
        public var name: String
        public var columns: [String]
        public var rows: Int
        public var parts: [Part]
        public init(name: String, columns: [String], rows: Int, parts: [Part]) {
            self.name = name
            self.columns = columns
            self.rows = rows
            self.parts = parts
        }
    }

    public struct Source: Codable, Sendable, Equatable {
        /// "server" or "file".
        public var kind: String
        /// The file read, for "file".
        public var file: String?
        /// Which slice of the collection, "K/N", when several workers share it.
        public var partition: String?
        public init(kind: String, file: String? = nil, partition: String? = nil) {
            self.kind = kind
            self.file = file
            self.partition = partition
        }
    }

    public var format: Int = Manifest.currentFormat
    public var collection: String
    public var schemaHash: String
    public var source: Source
    public var startedAt: String
    public var finishedAt: String
    /// Safe oplog position per oplog source (`MongoSession.safeOplogPosition`), `(t << 32) | i`, read before the
    /// first document (server reads only).
    public var oplogPositions: [String: UInt64]
    public var documents: Int
    public var tables: [Table]
    /// Per-field counts of values that did not fit the schema, fields absent from it, NULs stripped.
    public var report: [String: [String: Int]]
    /// The init load a partitioned read belongs to (its split points are that init load's): psql-copy merges only
    /// partitions of one init load, the running one. Nil for a whole read.
    public var initLoadID: Int64? = nil

    enum CodingKeys: String, CodingKey {
        case format, collection, schemaHash = "schema_hash", source, startedAt = "started_at", finishedAt =
            "finished_at"
        case oplogPositions = "oplog_positions", documents, tables, report, initLoadID = "init_load_id"
    }

    public init(
        collection: String, schemaHash: String, source: Source, startedAt: String, finishedAt: String,
        oplogPositions: [String: UInt64], documents: Int, tables: [Table], report: [String: [String: Int]]
    ) {
        self.collection = collection
        self.schemaHash = schemaHash
        self.source = source
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.oplogPositions = oplogPositions
        self.documents = documents
        self.tables = tables
        self.report = report
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads `manifest.json` from a collection folder; a missing or unreadable one is a `LoadError`.
    public static func read(from folder: URL, name: String = fileName) throws(LoadError) -> Manifest {
        let url = folder.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw LoadError(
                .missingManifest, "no finished \(fileName) in \(folder.path): \(Tool.mongoReader) did not finish there")
        }
        do {
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw LoadError(.badManifest, "\(url.path) is not a manifest this release reads: \(error)")
        }
    }

    /// Writes the manifest under a temporary name and renames it, so a reader never sees half of one.
    public func write(to folder: URL, name: String = fileName) throws(LoadError) {
        let url = folder.appendingPathComponent(name)
        let temporary = folder.appendingPathComponent(name + ".tmp")
        do {
            try encoded().write(to: temporary)
            try FileSystem.syncAndRename(temporary, to: url)
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError(.io, "cannot write \(url.path): \(error)")
        }
    }
}

/// ISO 8601 UTC with milliseconds, as the manifest and reports print times.
public func timestampNow() -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date())
}
