import CMongoC

/// libmongoc must be initialised once per process before any other call; its log goes to swift-log from the start.
let mongocInitialised: Void = {
    MongoLog.install()
    mongoc_init()
}()

/// One `mongoc_client_t` (single-threaded: confined to the `MongoSession` that owns it). Blocks on I/O.
final class MongoClient {
    let raw: OpaquePointer

    /// Parses the URI and creates the client; no I/O happens until the first operation. A server selection timeout
    /// of 10 s is set unless the URI names one, so a dead server is reported, not waited on for 30 s.
    init(uri uriString: String, appName: String) throws(MongoError) {
        _ = mongocInitialised
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(uriString, &error) else {
            // libmongoc's message quotes no part of the URI (which may hold a password).
            throw MongoError(kind: .invalidURI, operation: "parse the MongoDB URI", message: message(of: &error))
        }
        defer { mongoc_uri_destroy(uri) }
        if !mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS) {
            mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 10_000)
        }
        if !mongoc_uri_has_option(uri, MONGOC_URI_APPNAME) {
            mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_APPNAME, appName)
        }
        guard let client = mongoc_client_new_from_uri_with_error(uri, &error) else {
            throw MongoError(kind: .invalidURI, operation: "create the MongoDB client", message: message(of: &error))
        }
        mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2)
        raw = client
    }

    deinit { mongoc_client_destroy(raw) }

    /// Runs a command on `database` and returns the server's reply.
    func command(_ command: BSONDocument, database: String, operation: String) throws(MongoError) -> BSONDocument {
        let commandDocument = try libBSON(command, operation: operation, namespace: database)
        var error = bson_error_t()
        guard let reply = sk_bson_alloc() else { fatalError("out of memory allocating a bson_t") }
        defer { sk_bson_free(reply) }
        // libmongoc initialises `reply` on success and failure alike, so it is destroyed on both paths.
        let succeeded = mongoc_client_command_simple(raw, database, commandDocument.raw, nil, reply, &error)
        defer { bson_destroy(reply) }
        guard succeeded else { throw MongoError(&error, operation: operation, namespace: database) }
        do {
            return try BSONDecoder.decode(LibBSONDocument.bytes(of: reply))
        } catch {
            throw MongoError(
                kind: .protocolError, operation: operation, namespace: database, message: error.description)
        }
    }
}

/// One `mongoc_collection_t`; a cursor keeps its collection (and so the client) alive.
final class MongoCollection {
    let raw: OpaquePointer
    let client: MongoClient
    let namespace: Namespace

    init(client: MongoClient, namespace: Namespace) {
        self.client = client
        self.namespace = namespace
        raw = mongoc_client_get_collection(client.raw, namespace.database, namespace.collection)
    }

    deinit { mongoc_collection_destroy(raw) }
}

/// One `mongoc_cursor_t`. Documents are copied out as they arrive: libmongoc reuses the memory on the next call.
final class MongoCursor {
    private let raw: OpaquePointer
    private let collection: MongoCollection
    let operation: String

    init(collection: MongoCollection, filter: BSONDocument, options: BSONDocument, operation: String) throws(MongoError)
    {
        let filterDocument = try libBSON(filter, operation: operation, namespace: collection.namespace.description)
        let optionsDocument = try libBSON(options, operation: operation, namespace: collection.namespace.description)
        // libmongoc copies the filter and options into the cursor.
        raw = mongoc_collection_find_with_opts(collection.raw, filterDocument.raw, optionsDocument.raw, nil)
        self.collection = collection
        self.operation = operation
    }

    /// An aggregation's cursor: `pipeline` is the array of stages.
    init(collection: MongoCollection, pipeline: [BSONValue], operation: String) throws(MongoError) {
        let namespace = collection.namespace.description
        let pipelineDocument = try libBSON(["pipeline": .array(pipeline)], operation: operation, namespace: namespace)
        let optionsDocument = try libBSON([:], operation: operation, namespace: namespace)
        raw = mongoc_collection_aggregate(
            collection.raw, MONGOC_QUERY_NONE, pipelineDocument.raw, optionsDocument.raw, nil)
        self.collection = collection
        self.operation = operation
    }

    deinit { mongoc_cursor_destroy(raw) }

    /// The next document, or nil when the cursor is exhausted — or, for a tailable cursor, when nothing new arrived
    /// within the await time (`isAlive` then stays true).
    func next() throws(MongoError) -> RawDocument? {
        var document: OpaquePointer? = nil
        if mongoc_cursor_next(raw, &document), let document {
            return RawDocument(bytes: LibBSONDocument.bytes(of: document))
        }
        var error = bson_error_t()
        if mongoc_cursor_error(raw, &error) {
            throw MongoError(&error, operation: operation, namespace: collection.namespace.description)
        }
        return nil
    }

    /// Whether the cursor may still produce documents (a live tailable cursor always may).
    var isAlive: Bool { mongoc_cursor_more(raw) }
}

/// A document handed to libmongoc; one that cannot be encoded (a key holding NUL) fails the operation.
private func libBSON(_ document: BSONDocument, operation: String, namespace: String) throws(MongoError)
    -> LibBSONDocument
{
    do {
        return try LibBSONDocument(copying: document)
    } catch {
        throw MongoError(kind: .protocolError, operation: operation, namespace: namespace, message: error.description)
    }
}
