import Foundation

extension CollectionSchema {
    /// Reads and parses a schema file, by convention `schemas/<db>.<coll>.json`. The one file read in Schema/:
    /// an unreadable file is a configuration error (exit 78), like a bad one.
    public init(namespace: Namespace, contentsOfFile path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw GeneralError(.configError, "cannot read schema file \(path): \(error.localizedDescription)")
        }
        try self.init(namespace: namespace, jsonText: text, file: path)
    }
}
