import CLibPQ

/// One `PGresult`, cleared exactly once when this value ends. Not `Sendable`: read it on the session that made it and
/// hand out `PGRows` instead.
struct PGResult: ~Copyable {  // one PGresult, cleared once; a copy would mean a second PQclear
    private let raw: OpaquePointer
    init(taking raw: OpaquePointer) { self.raw = raw }  // the caller must not clear `raw`
    deinit { PQclear(raw) }

    var status: ExecStatusType { PQresultStatus(raw) }
    var sqlState: String? { field(sk_diag_sqlstate) }
    var context: String? { field(sk_diag_context) }
    var rowCount: Int { Int(PQntuples(raw)) }
    var columnCount: Int { Int(PQnfields(raw)) }

    /// The rows a command touched (`PQcmdTuples`): nil for commands that report none (DDL, SET, ...).
    var commandTuples: Int? {
        guard let text = PQcmdTuples(raw) else { return nil }
        return Int(String(cString: text))
    }

    /// The server's message in one line: the primary message, then its detail and hint when present. Falls back to
    /// libpq's own text when the server never answered (the result then has no fields).
    var message: String {
        guard let primary = field(sk_diag_message_primary) else {
            // libpq's own text ("server closed the connection unexpectedly\n\tThis probably means ..."): one line.
            let text = PQresultErrorMessage(raw).map { String(cString: $0) } ?? ""
            return PGConnection.oneLine(text, hiding: nil)
        }
        var parts = [primary]
        if let detail = field(sk_diag_message_detail) { parts.append("DETAIL: \(detail)") }
        if let hint = field(sk_diag_message_hint) { parts.append("HINT: \(hint)") }
        return parts.joined(separator: " ")
    }

    func columnName(_ column: Int) -> String { String(cString: PQfname(raw, Int32(column))) }

    /// The text value of one cell; nil for SQL NULL (`PQgetvalue` answers "" for NULL, so `PQgetisnull` decides).
    func value(row: Int, column: Int) -> String? {
        if PQgetisnull(raw, Int32(row), Int32(column)) == 1 { return nil }
        return String(cString: PQgetvalue(raw, Int32(row), Int32(column)))
    }

    /// Every cell, as Sendable values that outlive this result.
    var rows: PGRows {
        // Plain loops: closures capturing a ~Copyable self crash Swift 6.3's move-only checker.
        var columns: [String] = []
        for column in 0..<columnCount { columns.append(columnName(column)) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columns.count)
            for column in 0..<columns.count { values.append(value(row: row, column: column)) }
            rows.append(values)
        }
        return PGRows(columns: columns, rows: rows, affectedRows: commandTuples)
    }

    private func field(_ code: Int) -> String? {  // the shim's enum constants import as Int
        PQresultErrorField(raw, Int32(code)).map { String(cString: $0) }
    }
}
