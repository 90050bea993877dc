import Foundation
import Logging

/// `mongo-schema`: a schema file inferred from a live collection or a file, on stdout; its report on stderr.
public struct MongoSchemaCommand: Sendable {
    public var collection: Namespace
    public var inputFile: String?
    /// Documents to sample; all when nil.
    public var sample: Int?

    public init(collection: Namespace, inputFile: String?, sample: Int?) {
        self.collection = collection
        self.inputFile = inputFile
        self.sample = sample
    }

    public func run(common: CommonOptions, logger: Logger) async throws -> ExitStatus {
        // A file needs no server, and so no configuration.
        let mongoURI = inputFile == nil ? try common.loadConfig().mongoURI : nil
        let request = SampleRequest(namespace: collection, inputFile: inputFile, size: sample, mongoURI: mongoURI)
        let inferred = try await SchemaSampler(logger: logger).infer(request)
        if !common.json { FileHandle.standardError.write(Data(inferred.report.text.utf8)) }
        try common.printResult(inferred, line: String(inferred.schema.jsonText.dropLast()))
        return .ok
    }
}
