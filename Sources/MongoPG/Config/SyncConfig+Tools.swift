import Foundation

extension SyncConfig {
    /// The `[sync]` settings that shape tables and rows.
    public var flattenSettings: FlattenSettings {
        FlattenSettings(
            keepExtra: keepExtra, stripNUL: stripNul, tablePrefix: tablePrefix, targetSchema: targetSchema,
            rootTableNames: rootTableNames, hashKeyVariable: hashKeyEnvironmentVariable,
            hashKey: hashKeyEnvironmentVariable.flatMap { ProcessInfo.processInfo.environment[$0] }.flatMap(
                HashKey.init))
    }

    /// Oplog sources by name.
    public var oplogSourceURIs: [String: String] {
        Dictionary(oplogSources.map { ($0.name, $0.uri) }, uniquingKeysWith: { first, _ in first })
    }

    /// The current hash of each configured collection's schema file (a missing file hashes as "missing").
    public var schemaHashes: [Namespace: String] {
        Dictionary(
            collections.map { ($0, SchemaFile.hash(for: $0, in: schemasDirectory) ?? "missing") },
            uniquingKeysWith: { first, _ in first })
    }
}
