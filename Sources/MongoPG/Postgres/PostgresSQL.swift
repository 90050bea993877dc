/// Quoting for SQL text the tools build themselves. Pure: field names are data and reach SQL only through these.
public enum PostgresSQL {
    /// `name` as a quoted identifier: wrapped in double quotes, each inner double quote doubled. Case and spelling
    /// are kept as they are (`numReviews` stays `"numReviews"`). `Identifier.quoted`, the one implementation.
    public static func quoteIdentifier(_ name: String) -> String { Identifier.quoted(name) }

    /// `schema.name` with both parts quoted; just the quoted name when `schema` is nil.
    public static func qualifiedName(schema: String?, _ name: String) -> String {
        (schema.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(name)
    }

    /// `text` as a string literal that means the same whatever `standard_conforming_strings` says: single quotes
    /// doubled, and when a backslash occurs, the `E'...'` form with backslashes doubled (as `PQescapeLiteral` does).
    /// PostgreSQL text cannot hold NUL, so a NUL makes the statement fail on the server, never truncate.
    public static func quoteLiteral(_ text: String) -> String {
        let quoted = text.replacingAll("'", with: "''")
        guard quoted.unicodeScalars.contains("\\") else { return "'" + quoted + "'" }
        return " E'" + quoted.replacingAll("\\", with: "\\\\") + "'"
    }
}

extension String {
    /// By Unicode scalars: a quote or backslash followed by a combining mark is one Character, but the server sees
    /// the quote byte, so it must be replaced all the same.
    fileprivate func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar == target { result.append(contentsOf: replacement.unicodeScalars) } else { result.append(scalar) }
        }
        return String(result)
    }
}
