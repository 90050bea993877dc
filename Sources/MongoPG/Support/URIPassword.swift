import Foundation

/// The password a `scheme://user:password@host/…` URI (MongoDB's or libpq's) carries in its user information, so
/// that no message or printed value repeats it. Pure.
enum URIPassword {
    /// The password as written, nil when the URI carries none (no `user:` before an `@` of its authority).
    static func of(_ uri: String) -> Substring? {
        guard let scheme = uri.range(of: "://") else { return nil }
        let rest = uri[scheme.upperBound...]
        let authority = rest[..<(rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex)]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
            return nil
        }
        return authority[authority.index(after: colon)..<at]
    }

    /// `message` with the password of `uri` (as written and percent-decoded) replaced by `********`.
    static func hiding(in message: String, of uri: String) -> String {
        guard let password = of(uri).map(String.init), !password.isEmpty else { return message }
        var text = message.replacingOccurrences(of: password, with: "********")
        if let decoded = password.removingPercentEncoding, !decoded.isEmpty {
            text = text.replacingOccurrences(of: decoded, with: "********")
        }
        return text
    }
}
