import CMongoC

/// A failure talking to MongoDB, with the operation and namespace it concerned.
public struct MongoError: ToolError {
    public enum Kind: Sendable, Equatable {
        /// The URI could not be parsed: a configuration error.
        case invalidURI
        /// No server answered: refused, unreachable, timed out, not a primary.
        case unavailable
        /// The server refused the credentials or the operation's privileges.
        case authentication
        /// The server answered with an error (bad query, missing namespace, ...).
        case server
        /// A reply or document libmongoc could not hand over.
        case protocolError
        /// An oplog source is a standalone server or a mongos: it has no oplog to replay.
        case notReplicaSet
    }
    public var kind: Kind
    public var operation: String
    public var namespace: String? = nil
    /// The server's error code, when the server answered.
    public var code: UInt32? = nil
    public var message: String

    public init(kind: Kind, operation: String, namespace: String? = nil, code: UInt32? = nil, message: String) {
        self.kind = kind
        self.operation = operation
        self.namespace = namespace
        self.code = code
        self.message = message
    }

    public var description: String {
        let place = namespace.map { " on \($0)" } ?? ""
        let code = code.map { " [code \($0)]" } ?? ""
        return "MongoDB: \(operation)\(place) failed\(code): \(message)"
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .invalidURI, .notReplicaSet: .configError
        case .unavailable, .authentication: .unavailable
        case .server, .protocolError: .internalError
        }
    }

    /// Classifies a libmongoc error (error API version 2) by its domain and code.
    init(_ error: inout bson_error_t, operation: String, namespace: String? = nil) {
        let domain = error.domain, code = error.code
        let kind: Kind
        switch domain {
        case UInt32(MONGOC_ERROR_SERVER_SELECTION.rawValue), UInt32(MONGOC_ERROR_STREAM.rawValue):
            kind = .unavailable
        case UInt32(MONGOC_ERROR_CLIENT.rawValue) where code == UInt32(MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue):
            kind = .authentication
        case UInt32(MONGOC_ERROR_SASL.rawValue), UInt32(MONGOC_ERROR_SCRAM.rawValue):
            kind = .authentication
        case UInt32(MONGOC_ERROR_SERVER.rawValue), UInt32(MONGOC_ERROR_WRITE_CONCERN.rawValue):
            // 13 Unauthorized, 18 AuthenticationFailed; 189/91/11600/11602 are a primary stepping down or shutting down;
            // 43 CursorNotFound: the server forgot an open cursor (restarted, or killed it): the next run reads again.
            switch code {
            case 13, 18: kind = .authentication
            case 43, 91, 189, 10107, 11600, 11602, 13435, 13436: kind = .unavailable
            default: kind = .server
            }
        default: kind = .protocolError
        }
        self.init(
            kind: kind, operation: operation, namespace: namespace,
            code: domain == UInt32(MONGOC_ERROR_SERVER.rawValue) ? code : nil, message: CMongoC_message(&error))
    }
}

/// `message(of:)` from BSON/, reachable here without a name clash with `MongoError.message`.
@inline(__always)
private func CMongoC_message(_ error: inout bson_error_t) -> String { message(of: &error) }
