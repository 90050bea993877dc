/// A schema file that cannot be used, or a document the schema's policy cannot absorb.
public struct SchemaError: ToolError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The schema file is not valid JSON or not a valid schema tree (exit 78).
        case badSchemaFile
        /// Two paths map to the same table or column name after sanitising (exit 78).
        case identifierCollision
        /// The schema hashes a field, and no key is configured (exit 78).
        case missingHashKey
        /// A document the chosen policy cannot absorb: no usable `_id`, a NUL byte with `strip_nul` off (exit 65).
        case badDocument
        /// Rows that cannot be turned back into a document: a bug or a damaged table (exit 65).
        case badRows
    }
    public var kind: Kind
    public var message: String
    /// The schema file, when one is being read.
    public var file: String? = nil
    /// Where in the schema file or the document: a JSON path such as `$.orders[0].qty` or a dotted document path.
    public var path: String? = nil
    /// The document's `_id` as relaxed Extended JSON, when a document is at fault.
    public var documentID: String? = nil

    public init(_ kind: Kind, _ message: String, file: String? = nil, path: String? = nil, documentID: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.path = path
        self.documentID = documentID
    }

    /// A string of the document at `path` holds a NUL byte and `strip_nul` is off. The flattener and `normalise`
    /// both refuse with this, so verification and loading can never word it differently.
    static func holdsNUL(path: String, documentID: String) -> SchemaError {
        SchemaError(
            .badDocument, "a string holds a NUL byte, which PostgreSQL cannot store (strip_nul = true strips it)",
            path: path, documentID: documentID)
    }

    /// The field at `path` is hashed and no key is at hand: `variable` (`[sync] hash_key_env`) is unset or empty, or
    /// no variable is named. Names the variable, never a value.
    static func missingHashKey(path: String, variable: String?) -> SchemaError {
        let reason =
            variable.map { "the environment variable \($0) ([sync] hash_key_env) is not set or empty" }
            ?? "set [sync] hash_key_env to the name of an environment variable holding one"
        return SchemaError(.missingHashKey, "\(path) is hashed, and hashing needs a key: \(reason)", path: path)
    }

    /// A value at `path` would not read back as itself from its Extended JSON text (`reason` says why).
    static func unstorable(_ reason: String, path: String, documentID: String) -> SchemaError {
        SchemaError(
            .badDocument, "a value cannot be stored as Extended JSON text: \(reason)", path: path,
            documentID: documentID)
    }

    public var description: String {
        var place: [String] = []
        if let file { place.append(file) }
        if let documentID { place.append("_id \(documentID)") }
        if let path { place.append("at \(path)") }
        return "schema: \(message)" + (place.isEmpty ? "" : " (\(place.joined(separator: ", ")))")
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .badSchemaFile, .identifierCollision, .missingHashKey: .configError
        case .badDocument, .badRows: .dataError
        }
    }
}
