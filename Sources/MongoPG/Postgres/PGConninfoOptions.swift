import CLibPQ

/// The options libpq's `PQconninfoParse` read from one connection string (`keyword=value` pairs or a
/// `postgresql://` URI), as one owned `PQconninfoOption` array that only this value frees (`PQconninfoFree`).
struct PGConninfoOptions: ~Copyable {
    private let raw: UnsafeMutablePointer<PQconninfoOption>

    /// Throws libpq's message (an unknown keyword, an unclosed quote, a malformed URI) as `.connect`, without the
    /// string itself or a URI's password: libpq quotes a malformed URI whole.
    init(parsing text: String) throws(PostgresError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let raw = PQconninfoParse(text, &errorMessage) else {
            // libpq: "the caller must free [errmsg] using PQfreemem"; nil when it ran out of memory.
            let message = errorMessage.map { String(cString: $0) } ?? "libpq could not allocate memory"
            PQfreemem(errorMessage)
            throw PostgresError(
                kind: .connect, purpose: "parse the conninfo",
                serverMessage: URIPassword.hiding(in: PGConnection.oneLine(message, hiding: text), of: text))
        }
        self.raw = raw
    }

    deinit { PQconninfoFree(raw) }

    /// The keywords the string sets, with their values (libpq lists every keyword it knows; unset ones have none).
    var values: [String: String] {
        var values: [String: String] = [:]
        var option = raw
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return values
    }
}
