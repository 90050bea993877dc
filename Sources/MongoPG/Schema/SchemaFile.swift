import Foundation

/// A collection's schema file, read once: its plan and the hash that tells whether it changed since a load.
public struct SchemaFile: Sendable {
    public let path: String
    public let hash: String
    public let plan: TablePlan

    /// `<schemasDirectory>/<db>.<coll>.json`.
    public static func path(for namespace: Namespace, in schemasDirectory: String) -> String {
        URL(fileURLWithPath: schemasDirectory).appendingPathComponent("\(namespace).json").path
    }

    /// The hash of the schema file's bytes, or nil when there is no file (for `init-load-status`).
    public static func hash(for namespace: Namespace, in schemasDirectory: String) -> String? {
        FileManager.default.contents(atPath: path(for: namespace, in: schemasDirectory)).map { Checksum.hex(of: Array($0)) }
    }

    /// Reads and compiles the schema; a missing file names the path and the command that writes one.
    public init(namespace: Namespace, schemasDirectory: String, settings: FlattenSettings) throws {
        path = Self.path(for: namespace, in: schemasDirectory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GeneralError(.configError,
                "no schema file for \(namespace): \(path) is missing; write one with `mongo-schema --collection \(namespace) > \(path)`")
        }
        hash = Checksum.hex(of: Array(data))
        let schema = try CollectionSchema(namespace: namespace, jsonText: String(decoding: data, as: UTF8.self), file: path)
        plan = try TablePlan(schema: schema, settings: settings)
    }
}
