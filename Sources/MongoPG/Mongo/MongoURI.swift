import CMongoC
import Foundation

/// A MongoDB connection string checked by libmongoc's own parser, so a configuration fails at load, not at the
/// first connection (or never, for a tool that did not need MongoDB this time).
public enum MongoURI {
    /// Throws `.invalidURI` (exit 78) with libmongoc's reason when `mongoc_uri_new_with_error` refuses `text` (a bad
    /// scheme, host or port such as 99999, an unknown option value). The URI's password never reaches the message.
    public static func check(_ text: String) throws(MongoError) {
        _ = mongocInitialised  // libmongoc logs URI warnings through MongoLog
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(text, &error) else {
            let reason = hidingPassword(of: text, in: message(of: &error))
            throw MongoError(kind: .invalidURI, operation: "parse the MongoDB URI", message: reason)
        }
        mongoc_uri_destroy(uri)
    }

    /// `message` without the password `uri` carries in its user information (as written and percent-decoded).
    static func hidingPassword(of uri: String, in message: String) -> String {
        guard let scheme = uri.range(of: "://") else { return message }
        let rest = uri[scheme.upperBound...]
        let authority = rest[..<(rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex)]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
            return message
        }
        let password = String(authority[authority.index(after: colon)..<at])
        guard !password.isEmpty else { return message }
        var text = message.replacingOccurrences(of: password, with: "********")
        if let decoded = password.removingPercentEncoding, !decoded.isEmpty {
            text = text.replacingOccurrences(of: decoded, with: "********")
        }
        return text
    }
}
