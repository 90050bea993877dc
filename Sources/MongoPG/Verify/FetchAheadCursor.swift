/// A server-side cursor inside the caller's transaction, read `rowsPerFetch` rows at a time, the next `FETCH` asked as
/// soon as one is answered so that the server works while the caller compares: the read both merges share
/// (`RowMerge`'s root rows, `DigestMerge`'s tables).
struct FetchAheadCursor {
    let session: PostgresSession
    let name: String
    let rowsPerFetch: Int
    /// What is read, for error messages: "read <what>".
    let what: String
    private var pending: Task<PGRows, Error>?

    /// Declares cursor `name` over `query` and asks its first rows.
    init(session: PostgresSession, name: String, query: String, rowsPerFetch: Int, what: String) async throws {
        self.session = session
        self.name = name
        self.rowsPerFetch = rowsPerFetch
        self.what = what
        try await session.execute(
            "DECLARE \(name) NO SCROLL CURSOR FOR \(query)", purpose: "open a cursor over \(what)")
        pending = fetch()
    }

    /// More rows may come (`next` has not yet answered nil).
    var hasMore: Bool { pending != nil }

    /// The next rows, nil once the cursor is exhausted.
    mutating func next() async throws -> PGRows? {
        guard let fetching = pending else { return nil }
        let rows = try await fetching.value
        pending = rows.isEmpty ? nil : fetch()
        return rows.isEmpty ? nil : rows
    }

    /// Closes the cursor, after the fetch still in flight (the session answers one statement at a time).
    mutating func close() async throws {
        _ = try? await pending?.value
        pending = nil
        try await session.execute("CLOSE \(name)", purpose: "close the cursor over \(what)")
    }

    private func fetch() -> Task<PGRows, Error> {
        let session = session, statement = "FETCH \(rowsPerFetch) FROM \(name)", what = what
        return Task { try await session.query(statement, parameters: [], purpose: "read \(what)") }
    }
}
