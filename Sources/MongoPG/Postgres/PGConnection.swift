import CLibPQ
import Foundation
import Logging

/// One libpq connection, living inside one `PostgresSession`. Every method blocks the calling thread until the server
/// answers, which is why only the session (on its own `BlockingSerialExecutor`) calls them. Not `Sendable`.
final class PGConnection {
    private let raw: OpaquePointer
    /// The context `PQsetNoticeProcessor` hands back to `forwardNotice`; stored here so it outlives the connection
    /// (stored properties are released after `deinit` has run `PQfinish`).
    private let notices: NoticeSink

    /// Connects with `PQconnectdbParams` and `expand_dbname=1`, so `conninfo` may be a `key=value` string or a
    /// `postgresql://` URI; what it does not set of `PostgresConninfo.defaultKeywords` (a 10 s connect timeout,
    /// keepalives) takes the default. `password`, when given, is a separate keyword after it and wins over one in
    /// `conninfo`; otherwise libpq looks in `PGPASSWORD` and `~/.pgpass`. Neither the conninfo nor the password is
    /// logged or put in an error: a rejected password is `.authentication`, anything else that keeps the session from
    /// starting `.connect` (both exit 69).
    init(conninfo: String, password: String?, logger: Logger) throws(PostgresError) {
        // The defaults (a connect timeout, TCP keepalives) come before dbname, so the expanded conninfo overrides them.
        var keywords = PostgresConninfo.defaultKeywords.map { $0.keyword } + ["dbname", "fallback_application_name"]
        // Names the tool and its process in pg_stat_activity, so a held lock says who holds it (a conninfo's own
        // application_name wins).
        var values =
            PostgresConninfo.defaultKeywords.map { $0.value }
            + [conninfo, "\(ProcessInfo.processInfo.processName)[\(getpid())]"]
        if let password, !password.isEmpty {
            keywords.append("password")
            values.append(password)
        }
        // libpq: "When expand_dbname is non-zero, the value for the first dbname key word is checked to see if it is
        // a connection string"; keywords after it override what the expanded string set.
        let raw = withCStrings(keywords) { keywords in
            withCStrings(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let raw, PQstatus(raw) == CONNECTION_OK else {
            let message = raw.map { String(cString: PQerrorMessage($0)) } ?? "libpq could not allocate a connection"
            let needsPassword = raw.map { PQconnectionNeedsPassword($0) == 1 } ?? false
            PQfinish(raw)  // libpq: a failed connection must be finished too
            let text = Self.oneLine(message, hiding: password)
            let rejected = text.contains("password authentication failed") || text.contains("no password supplied")
            throw PostgresError(
                kind: needsPassword || rejected ? .authentication : .connect, purpose: "connect", serverMessage: text)
        }
        self.raw = raw
        notices = NoticeSink(logger: logger)
        // libpq: "The notice processor ... will be called with the message text and the arg pointer"; the sink is
        // retained by `self`, so an unretained pointer is enough.
        PQsetNoticeProcessor(raw, forwardNotice, Unmanaged.passUnretained(notices).toOpaque())
    }

    deinit { PQfinish(raw) }

    var isHealthy: Bool { PQstatus(raw) == CONNECTION_OK }
    /// A new `PGcancel` for this connection (`PQgetCancel`), owned by the caller; see `PGCancel`.
    func makeCancel() -> OpaquePointer? { PQgetCancel(raw) }
    var serverVersion: Int { Int(PQserverVersion(raw)) }

    /// Runs `sql` with `PQexec` (the simple protocol: several statements separated by `;` are allowed, and the last
    /// statement's result is returned). A failure anywhere is `.statement`, or `.connect` when the connection is lost.
    func execute(_ sql: String, purpose: String) throws(PostgresError) -> PGResult {
        let result = try take(PQexec(raw, sql), purpose: purpose)
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abandonCopy(result.status)
            throw PostgresError(
                kind: .statement, purpose: purpose, serverMessage: "COPY must go through copyIn, not execute")
        default:
            throw error(from: result, kind: .statement, purpose: purpose)
        }
    }

    /// Runs one statement with `PQexecParams`: `$1`, `$2`, ... take `parameters` in text format (nil is NULL), so no
    /// value is ever spliced into SQL text. Results come back as text.
    func query(_ sql: String, parameters: [String?], purpose: String) throws(PostgresError) -> PGResult {
        let pointer = withCStrings(parameters) { values in
            PQexecParams(raw, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        let result = try take(pointer, purpose: purpose)
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        default:
            throw error(from: result, kind: .statement, purpose: purpose)
        }
    }

    /// Streams `COPY ... FROM STDIN` data: `sql` must be the COPY statement, `next` is called until it answers nil and
    /// each chunk goes out with `PQputCopyData` (chunks need not end at line boundaries). Returns the rows loaded
    /// (`PQcmdTuples`). A row the server rejects is `.copy` with `table` and the 1-based input line taken from the
    /// server's CONTEXT (`COPY t, line 3, column x: ...`). If `next` throws, the COPY is aborted with `PQputCopyEnd`
    /// and that error is rethrown once the connection is idle again.
    ///
    /// The server reports a bad row only when the COPY ends (libpq does not read its answer while in COPY_IN state),
    /// so the whole source is read even when line 3 is wrong.
    func copyIn(
        _ sql: String, table: String, relation: String, purpose: String, next: () throws -> [UInt8]?
    ) throws -> Int {
        do {
            let start = try take(PQexec(raw, sql), purpose: purpose)
            guard start.status == PGRES_COPY_IN else {
                var failure = error(from: start, kind: .copy, purpose: purpose)
                failure.table = table
                throw failure
            }
        }
        var sendFailed = false
        do {
            while !sendFailed, let chunk = try next() {
                sendFailed = !send(chunk)
            }
        } catch {
            // libpq: "If errormsg is not NULL, then the COPY is forced to fail, with the string pointed to by errormsg
            // used as the error message." The server's answer to that is expected and dropped.
            _ = PQputCopyEnd(raw, "the client could not produce the data")
            _ = try? finishCopy(table: table, relation: relation, purpose: purpose)
            throw error
        }
        if !sendFailed { _ = PQputCopyEnd(raw, nil) }  // on failure PQgetResult below reports why
        return try finishCopy(table: table, relation: relation, purpose: purpose)
    }

    /// Sends one chunk; false when libpq could not (the connection broke, or the server already ended the COPY).
    private func send(_ chunk: [UInt8]) -> Bool {
        chunk.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {  // nbytes is an int: keep each call well below 2 GiB
                let count = min(buffer.count - offset, 1 << 30)
                let sent = buffer.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: count) {
                    PQputCopyData(raw, $0, Int32(count))
                }
                if sent != 1 { return false }  // 0 happens only in nonblocking mode, which is never set here
                offset += count
            }
            return true
        }
    }

    /// Collects the results that end a COPY until `PQgetResult` answers nil, so the connection is idle afterwards.
    private func finishCopy(table: String, relation: String, purpose: String) throws(PostgresError) -> Int {
        var failure: PostgresError?
        var rows = 0
        while let pointer = PQgetResult(raw) {
            let result = PGResult(taking: pointer)
            switch result.status {
            case PGRES_COMMAND_OK:
                rows = result.commandTuples ?? 0
            case PGRES_COPY_IN:  // still copying: libpq would answer COPY_IN forever, so end it
                if PQputCopyEnd(raw, "the client stopped sending data") != 1 {
                    throw failure ?? connectionLost(purpose: purpose, table: table)
                }
            default:
                if failure == nil {
                    var copyFailure = error(from: result, kind: .copy, purpose: purpose)
                    copyFailure.table = table
                    copyFailure.line = result.context.flatMap { Self.copyLine(fromContext: $0, relation: relation) }
                    failure = copyFailure
                }
            }
        }
        if let failure { throw failure }
        return rows
    }

    /// Ends a COPY that `execute` started by mistake and drains its results.
    private func abandonCopy(_ status: ExecStatusType) {
        if status == PGRES_COPY_IN { _ = PQputCopyEnd(raw, "COPY is not supported through execute") }
        if status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
            var buffer: UnsafeMutablePointer<CChar>?
            while PQgetCopyData(raw, &buffer, 0) > 0 { PQfreemem(buffer) }
        }
        while let pointer = PQgetResult(raw) {
            let result = PGResult(taking: pointer)
            if result.status == PGRES_COPY_IN || result.status == PGRES_COPY_OUT || !isHealthy { break }
        }
    }

    /// Adopts what an exec call returned: nil means libpq could not even send the query (connection lost or out of
    /// memory).
    private func take(_ pointer: OpaquePointer?, purpose: String) throws(PostgresError) -> PGResult {
        guard let pointer else { throw connectionLost(purpose: purpose, table: nil) }
        return PGResult(taking: pointer)
    }

    private func connectionLost(purpose: String, table: String?) -> PostgresError {
        PostgresError(
            kind: isHealthy ? .statement : .connect, purpose: purpose,
            serverMessage: Self.oneLine(String(cString: PQerrorMessage(raw)), hiding: nil), table: table)
    }

    private func error(from result: borrowing PGResult, kind: PostgresError.Kind, purpose: String) -> PostgresError {
        let lost = !isHealthy && result.sqlState == nil
        return PostgresError(
            kind: lost ? .connect : kind, purpose: purpose, sqlState: result.sqlState,
            serverMessage: result.message.isEmpty
                ? Self.oneLine(String(cString: PQerrorMessage(raw)), hiding: nil) : result.message,
            context: result.context)
    }

    /// The input line of `COPY t, line 3, column x: "..."`, the CONTEXT the server sends for a rejected row. The server
    /// names the bare relation (`RelationGetRelationName`), so `relation` anchors the match when a name or column
    /// itself holds ", line "; without a match there, the first `, line N` after `COPY ` counts.
    static func copyLine(fromContext context: String, relation: String? = nil) -> Int? {
        let lines = context.split(separator: "\n")
        if let relation {
            let prefix = "COPY \(relation), line "
            for line in lines where line.hasPrefix(prefix) {
                if let number = Int(line.dropFirst(prefix.count).prefix(while: \.isNumber)) { return number }
            }
        }
        for line in lines where line.hasPrefix("COPY ") {
            guard let marker = line.range(of: ", line ") else { continue }
            if let number = Int(line[marker.upperBound...].prefix(while: \.isNumber)) { return number }
        }
        return nil
    }

    /// libpq's multi-line messages as one line, without any copy of `secret` (libpq does not echo passwords; this
    /// makes sure of it).
    static func oneLine(_ message: String, hiding secret: String?) -> String {
        var text = message.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
        if let secret, !secret.isEmpty { text = text.replacingOccurrences(of: secret, with: "********") }
        return text
    }
}

/// Where the notice processor sends what the server says outside results (RAISE NOTICE, warnings).
private final class NoticeSink {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }

    /// `text` is libpq's formatted notice, `SEVERITY:  message\n` with optional DETAIL/HINT lines.
    func receive(_ text: String) {
        let lines = text.split(whereSeparator: \.isNewline)
        guard let first = lines.first else { return }
        var severity = "NOTICE"
        var message = String(first)
        if let colon = first.firstIndex(of: ":") {
            severity = String(first[..<colon])
            message = first[first.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = lines.dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        if !rest.isEmpty { message += " " + rest.joined(separator: " ") }
        // NOTICE is mostly the server narrating our own idempotent DDL ("already exists, skipping"): debug.
        let level: Logger.Level = severity == "WARNING" ? .warning : .debug
        logger.log(level: level, "\(message)", metadata: ["severity": "\(severity)"])
    }
}

/// The `@convention(c)` notice processor: `context` is the connection's `NoticeSink`, unretained.
private let forwardNotice: PQnoticeProcessor = { context, message in
    guard let context, let message else { return }
    Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue().receive(String(cString: message))
}

/// Calls `body` with a NULL-terminated array of C strings (nil entries stay NULL), zeroing and freeing the copies
/// afterwards so a password does not linger in freed memory.
private func withCStrings<Result>(
    _ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> Result
) -> Result {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer {
        for copy in copies {
            if let copy {
                memset(copy, 0, strlen(copy))
                free(copy)
            }
        }
    }
    return body(copies.map { $0.map { UnsafePointer($0) } } + [nil])
}
