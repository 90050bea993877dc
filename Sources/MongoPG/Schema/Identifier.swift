/// PostgreSQL identifiers for field names: spelling and case kept, always quoted, cut to 63 bytes with a hash.
public enum Identifier {
    /// PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated by the server, so we cut them first.
    public static let maximumBytes = 63

    /// `name` made a valid PostgreSQL identifier: kept as is when it fits in 63 UTF-8 bytes; otherwise cut at a
    /// character boundary to 54 bytes and suffixed with `_` and the 8-hex FNV-1a 32-bit hash of the full name's UTF-8
    /// bytes, so the same name always gives the same identifier. The empty name becomes `_` (PostgreSQL refuses
    /// zero-length identifiers).
    public static func sanitised(_ name: String) -> String {
        if name.isEmpty { return "_" }
        let bytes = Array(name.utf8)
        guard bytes.count > maximumBytes else { return name }
        let hash = String(FNV1a.hash32(bytes), radix: 16)
        let suffix = "_" + String(repeating: "0", count: 8 - hash.count) + hash
        var cut = maximumBytes - suffix.utf8.count
        while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }  // never split a UTF-8 sequence
        return String(decoding: bytes[..<cut], as: UTF8.self) + suffix
    }

    /// `"name"` with inner quotes doubled: field names are data, never SQL. The one identifier quoting of the
    /// toolkit (`PostgresSQL.quoteIdentifier` calls it). By Unicode scalars: a `"` followed by a combining mark is one
    /// Character that is not `"`, yet PostgreSQL sees the quote byte, so it must still be doubled.
    public static func quoted(_ identifier: String) -> String {
        var output = String.UnicodeScalarView()
        output.append("\"")
        for scalar in identifier.unicodeScalars {
            if scalar == "\"" { output.append(scalar) }
            output.append(scalar)
        }
        output.append("\"")
        return String(output)
    }
}
