import Foundation

/// A collection's schema file, read once: its plan and the hash that tells whether it changed since a load.
public struct SchemaFile: Sendable {
    public let path: String
    public let hash: String
    public let schema: CollectionSchema
    public let plan: TablePlan

    /// `<schemasDirectory>/<db>.<coll>.json`.
    public static func path(for namespace: Namespace, in schemasDirectory: String) -> String {
        URL(fileURLWithPath: schemasDirectory).appendingPathComponent("\(namespace).json").path
    }

    /// The hash of the schema file's bytes, or nil when there is no file (for `init-load-status`).
    public static func hash(for namespace: Namespace, in schemasDirectory: String) -> String? {
        FileManager.default.contents(atPath: path(for: namespace, in: schemasDirectory)).map {
            Checksum.hex(of: Array($0))
        }
    }

    /// Reads and compiles `<schemasDirectory>/<db>.<coll>.json`; a missing file names the path and the command
    /// that writes one.
    public init(namespace: Namespace, schemasDirectory: String, settings: FlattenSettings) throws {
        try self.init(namespace: namespace, path: Self.path(for: namespace, in: schemasDirectory), settings: settings)
    }

    /// Reads and compiles the schema file at `path`: the toolkit's one reader of schema files. A missing or
    /// unreadable file is a configuration error (exit 78), like a bad one.
    public init(namespace: Namespace, path: String, settings: FlattenSettings) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GeneralError(
                .configError,
                "no schema file for \(namespace): \(path) is missing or unreadable; write one with "
                    + "`\(Tool.mongoSchema) --collection \(namespace) > \(path)`")
        }
        hash = Checksum.hex(of: Array(data))
        schema = try CollectionSchema(namespace: namespace, jsonText: String(decoding: data, as: UTF8.self), file: path)
        do {
            plan = try TablePlan(schema: schema, settings: settings)
        } catch {
            var located = error
            located.file = located.file ?? path
            throw located
        }
    }
}
