import Foundation
import SystemPackage

extension PostgresSession {
    /// The data format of a `COPY ... FROM STDIN` (PostgreSQL's own names).
    public enum CopyFormat: Sendable, Equatable {
        /// Tab-separated, `\N` for NULL, backslash escapes: PostgreSQL's default.
        case text
        /// RFC 4180-style CSV, empty unquoted field for NULL; `header: true` skips the first line (it still counts as
        /// line 1 in error reports).
        case csv(header: Bool)

        var option: String {
            switch self {
            case .text: "(FORMAT text)"
            case .csv(let header): "(FORMAT csv, HEADER \(header))"
            }
        }
    }

    /// Loads rows into `schema.table (columns)` with `COPY ... FROM STDIN`, pulling the data from `next` until it
    /// answers nil. `next` runs on the session, one chunk at a time, so a caller can stream any amount of data;
    /// chunks need not end at line boundaries. Returns the number of rows loaded.
    ///
    /// Throws `PostgresError` `.copy` with the table and the 1-based input line when the server rejects a row (the
    /// COPY then loaded nothing, and an enclosing transaction must be rolled back); whatever `next` throws is
    /// rethrown after the COPY is aborted. Identifiers are quoted here; pass them as they are spelled.
    public func copyIn(
        schema: String? = nil, table: String, columns: [String], format: CopyFormat = .text, purpose: String,
        chunks next: sending () throws -> [UInt8]?
    ) throws -> Int {
        let target = PostgresSQL.qualifiedName(schema: schema, table)
        let columnList =
            columns.isEmpty ? "" : " (" + columns.map(PostgresSQL.quoteIdentifier).joined(separator: ", ") + ")"
        let sql = "COPY \(target)\(columnList) FROM STDIN \(format.option)"
        let name = (schema.map { "\($0)." } ?? "") + table
        logger.trace("copy", metadata: ["purpose": "\(purpose)", "sql": "\(sql)", LogKey.table: "\(name)"])
        let rows = try open(purpose).copyIn(sql, table: name, relation: table, purpose: purpose, next: next)
        logger.debug("copied", metadata: [LogKey.table: "\(name)", "rows": "\(rows)"])
        return rows
    }

    /// Loads a file with `copyIn`, reading it in chunks of `chunkSize` bytes (1 MiB by default) so it is never
    /// wholly in memory. A file that cannot be opened or read is a `GeneralError` with exit status 74 (`ioError`).
    public func copyIn(
        schema: String? = nil, table: String, columns: [String], format: CopyFormat = .text, purpose: String,
        fromFile path: String, chunkSize: Int = 1 << 20
    ) throws -> Int {
        let descriptor = try FileDescriptor.open(path, .readOnly) { Self.fileError("open", path, $0) }
        defer { descriptor.closeIgnoringErrors() }
        let size = max(chunkSize, 1)
        return try copyIn(schema: schema, table: table, columns: columns, format: format, purpose: purpose) {
            let chunk = try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = try descriptor.read(into: UnsafeMutableRawBufferPointer(buffer)) {
                    Self.fileError("read", path, $0)
                }
            }
            if chunk.isEmpty { return nil }  // read(2) answers 0 at the end of the file
            return chunk
        }
    }

    private static func fileError(_ operation: String, _ path: String, _ errno: Errno) -> GeneralError {
        GeneralError(.ioError, "cannot \(operation) \(path): \(errno)")
    }
}
