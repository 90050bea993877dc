import Logging

/// What mongo-schema needs to infer one collection's schema.
public struct SampleRequest: Sendable {
    public var namespace: Namespace
    /// A `mongodump` `.bson` file or Extended JSON lines instead of the server.
    public var inputFile: String?
    /// Documents to read: a `$sample` of this size from the server, the first ones of a file; nil reads all.
    public var size: Int?
    /// The server to read from when there is no input file.
    public var mongoURI: String?

    public init(namespace: Namespace, inputFile: String? = nil, size: Int? = nil, mongoURI: String? = nil) {
        self.namespace = namespace
        self.inputFile = inputFile
        self.size = size
        self.mongoURI = mongoURI
    }
}

/// mongo-schema: streams a collection's documents (a `$sample` or a full scan of the server, or a dump file) into
/// a `SchemaInference`, one batch at a time, so memory stays bounded whatever the collection's size.
public struct SchemaSampler: Sendable {
    public let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Throws `BSONError` for a file that cannot be read (74) or a corrupt document (65), `MongoError` for a server
    /// that cannot be reached (69), and a data error (65) when there is no document to infer from.
    public func infer(_ request: SampleRequest) async throws -> InferredSchema {
        var inference = SchemaInference(namespace: request.namespace)
        let source: String
        if let inputFile = request.inputFile {
            source = "in " + inputFile
            try read(file: inputFile, limit: request.size ?? .max, into: &inference)
        } else if let mongoURI = request.mongoURI {
            source = "on the server"
            try await read(request, from: mongoURI, into: &inference)
        } else {
            throw GeneralError(.internalError, "a schema sample needs an input file or a MongoDB URI")
        }
        guard inference.documents > 0 else {
            throw GeneralError(
                .dataError, "\(request.namespace) has no documents \(source): nothing to infer a schema from")
        }
        let inferred = inference.finish()
        logger.info(
            "inferred", metadata: [LogKey.namespace: "\(request.namespace)", "documents": "\(inference.documents)"])
        return inferred
    }

    private func read(file path: String, limit: Int, into inference: inout SchemaInference) throws(BSONError) {
        let reader = try DocumentFileReader(path: path)
        while inference.documents < limit {
            let position = reader.position
            guard let bytes = try reader.next() else { return }
            do {
                inference.add(try RawDocument(bytes: bytes).decode())
            } catch {
                throw BSONError(error.kind, "\(error.message) in the document at \(position)", file: path)
            }
        }
    }

    private func read(_ request: SampleRequest, from uri: String, into inference: inout SchemaInference) async throws {
        let session = try MongoSession(uri: uri, name: "schema")
        logger.info(
            request.size == nil ? "scanning" : "sampling",
            metadata: [LogKey.namespace: "\(request.namespace)", "size": "\(request.size.map(String.init) ?? "all")"])
        let cursor = try await session.sample(request.namespace, size: request.size)
        while true {
            let batch = try await session.nextBatch(cursor)
            if batch.isEmpty { return }
            for raw in batch { inference.add(try raw.decode()) }
            logger.debug("batch", metadata: ["documents": "\(inference.documents)"])
        }
    }
}
