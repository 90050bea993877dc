import Foundation
import Logging

/// `mongo-schema`: a schema file inferred from a live collection or a file, on stdout; its report on stderr.
public struct MongoSchemaCommand: Sendable {
    public var collection: Namespace
    public var inputFile: String?
    /// Documents to sample; all when nil.
    public var sample: Int?

    /// `--diff`: print what the sample would change against the catalog instead of the schema.
    public var diff: Bool

    public init(collection: Namespace, inputFile: String?, sample: Int?, diff: Bool = false) {
        self.collection = collection
        self.inputFile = inputFile
        self.sample = sample
        self.diff = diff
    }

    public func run(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        if diff { return try await runDiff(common: common, logger: logger) }
        // A file needs no server, and so no configuration.
        let config = inputFile == nil ? try common.loadConfig() : nil
        let request = SampleRequest(
            namespace: collection, inputFile: inputFile, size: sample, mongoURI: config?.mongoURI)
        var inferred = try await SchemaSampler(logger: logger).infer(request)
        if let config, let current = Self.currentSchema(of: collection, in: config.schemasDirectory) {
            inferred.schema = inferred.schema.keepingPrivateLeaves(of: current)
        }
        if !common.json { FileHandle.standardError.write(Data(inferred.report.text.utf8)) }
        try common.printResult(inferred, line: String(inferred.schema.jsonText.dropLast()))
        return .ok
    }
}

extension MongoSchemaCommand {
    /// The collection's schema file as it stands, when there is one that parses: its excluded and hashed leaves
    /// stay so in the schema inferred again.
    static func currentSchema(of collection: Namespace, in schemasDirectory: String) -> CollectionSchema? {
        let path = SchemaFile.path(for: collection, in: schemasDirectory)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? CollectionSchema(namespace: collection, jsonText: String(decoding: data, as: UTF8.self))
    }
}

/// What `mongo-schema --diff` reports: the sample's plan against the catalog's (`PlanChange`), with the values
/// oplog-sync put into `_extra` or NULL since the load, per path.
public struct SchemaDiffReport: Sendable, Codable {
    public var collection: String
    /// Additions the sample would bring (new columns and tables, widenings), in words.
    public var additions: [String]
    /// Differences no change in place applies (a field become an array or the reverse, a type changed otherwise).
    public var conflicts: [String]
    /// Values not placed since the load, by JSON path then kind (`mismatched`, `unknown`, `kept_in_extra`, ...).
    public var absorbed: [String: [String: Int]]

    public var differs: Bool { !additions.isEmpty || !conflicts.isEmpty }

    var text: String {
        var lines = [
            "\(collection): " + (differs ? "the sample differs from the tables" : "the sample fits the tables")
        ]
        lines += additions.map { "  add: \($0)" }
        lines += conflicts.map { "  needs a load: \($0)" }
        for (path, kinds) in absorbed.sorted(by: { $0.key < $1.key }) {
            let counts = kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            lines.append("  since the load, \(path): \(counts)")
        }
        return lines.joined(separator: "\n")
    }
}

extension MongoSchemaCommand {
    /// `--diff`: samples as usual, then compares the sample's plan with the catalog's. Fields the sample lacks and
    /// types narrower than the column's are no difference: the tables hold them as they are.
    func runDiff(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        let context = ToolContext(config: try common.loadConfig(), logger: logger)
        let request = SampleRequest(
            namespace: collection, inputFile: inputFile, size: sample, mongoURI: context.config.mongoURI)
        let inferred = try await SchemaSampler(logger: logger).infer(request)
        let report = try await StateStore.withOpened(context.openStateStore) { store in
            let old = try await store.catalogPlan(of: collection, settings: context.config.flattenSettings)
            let sampled = inferred.schema.keepingPrivateLeaves(of: old.schema)
            let change = PlanChange(from: old, to: try TablePlan(schema: sampled, settings: old.settings))
            var absorbed: [String: [String: Int]] = [:]
            for (kind, paths) in try await store.absorbedFields(of: collection) {
                for (path, count) in paths { absorbed[path, default: [:]][kind] = count }
            }
            return SchemaDiffReport(
                collection: collection.description, additions: change.additions.map(\.description),
                conflicts: change.conflicts.filter { $0.kind != .absent && $0.kind != .narrowed }.map(\.description),
                absorbed: absorbed)
        }
        try common.printResult(report, line: report.text)
        return report.differs ? .divergent : .ok
    }
}
