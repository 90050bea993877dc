import CMongoC
import Foundation

/// A MongoDB connection string checked by libmongoc's own parser, so a configuration fails at load, not at the
/// first connection (or never, for a tool that did not need MongoDB this time).
public enum MongoURI {
    /// Throws `.invalidURI` (exit 78) with libmongoc's reason when `mongoc_uri_new_with_error` refuses `text` (a bad
    /// scheme, host or port such as 99999, an unknown option value), with what libmongoc logged while refusing it
    /// (which is then not logged). The URI's password never reaches the message.
    public static func check(_ text: String) throws(MongoError) {
        _ = mongocInitialised  // libmongoc logs URI warnings through MongoLog
        var error = bson_error_t()
        // libmongoc logs the detail of some refusals ("Port could not be parsed") besides its error: fold it into
        // the one line the tool prints.
        let (parsed, logged) = MongoLog.collectingLines { mongoc_uri_new_with_error(text, &error) }
        guard let uri = parsed else {
            let detail = logged.isEmpty ? "" : " (\(logged.map(\.message).joined(separator: "; ")))"
            let reason = URIPassword.hiding(in: message(of: &error) + detail, of: text)
            throw MongoError(kind: .invalidURI, operation: "parse the MongoDB URI", message: reason)
        }
        MongoLog.emit(logged)  // warnings about a URI libmongoc accepts
        mongoc_uri_destroy(uri)
    }
}
