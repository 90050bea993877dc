/// A digest of one document's rows in every table, blind to the order they come in: the sum of one 128-bit hash per
/// row (its table, then each cell as `RowComparison` compares it: COPY text, json by its jsonb spelling). Equal digests
/// mean rows `RowComparison.firstDifference` finds equal, but for a chance of about 2^-128 per document; unequal ones
/// are compared row by row before anything is called different. The hash's key is drawn per process (`Hasher`):
/// digests are compared within one run, never kept. Pure.
struct RowDigest: Hashable, Sendable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    /// The digest of a document's rows, one list per plan table.
    init(tables: [[[SQLValue]]]) {
        var bytes: [UInt8] = []
        for (table, rows) in tables.enumerated() {
            for row in rows { add(row, table: table, scratch: &bytes) }
        }
    }

    init() {}

    /// Adds one row of the plan table at `table`; `scratch` is a buffer the caller keeps between calls.
    /// `jsonSpelt`: the row's json cells are taken as jsonb's spelling already (PostgreSQL prints jsonb so), not
    /// spelt again; one that is not digests otherwise, and its rows are compared, never wrongly found alike.
    mutating func add(_ row: [SQLValue], table: Int, scratch bytes: inout [UInt8], jsonSpelt: Bool = false) {
        bytes.removeAll(keepingCapacity: true)
        Self.appendCells(row, to: &bytes, jsonSpelt: jsonSpelt)
        // Two hashes under one key, told apart by a first byte: independent 64-bit halves.
        var first = Hasher(), second = Hasher()
        first.combine(UInt8(0))
        second.combine(UInt8(1))
        first.combine(table)
        second.combine(table)
        bytes.withUnsafeBytes {
            first.combine(bytes: $0)
            second.combine(bytes: $0)
        }
        // Wrapping sums: the rows of a table may come in any order.
        low &+= UInt64(UInt(bitPattern: first.finalize()))
        high &+= UInt64(UInt(bitPattern: second.finalize()))
    }

    /// A row's cells, each closed by a byte no cell's own bytes hold: COPY text, closed by a tab (escaped inside a
    /// field); json as jsonb spells it after 0xFF, or as written after 0xFD when it cannot be spelt (bytes UTF-8 never
    /// holds), closed by 0xFE. So equal bytes are equal cells, as `BatchWrite.sameRow` compares them.
    static func appendCells(_ row: [SQLValue], to bytes: inout [UInt8], jsonSpelt: Bool = false) {
        for cell in row {
            if case .json(let text) = cell {
                if jsonSpelt {
                    bytes.append(0xFF)
                    bytes.append(contentsOf: text.utf8)
                } else if let spelt = JSONText.jsonbSpelling(text) {
                    bytes.append(0xFF)
                    bytes.append(contentsOf: spelt)
                } else {
                    bytes.append(0xFD)
                    bytes.append(contentsOf: text.utf8)
                }
                bytes.append(0xFE)
            } else {
                CopyTextEncoder.appendField(cell, to: &bytes)
                bytes.append(0x09)
            }
        }
    }
}

/// The digests of a collection's stored documents (their json cells as PostgreSQL prints jsonb), by the pairing key
/// of their `_id` (`RowComparison.match`), with the key itself; taken one by one as MongoDB's documents come, so that
/// what stays is what MongoDB lacks. Holds at most `limit` documents: `add` refuses more. Pure.
struct StoredDigests {
    struct Entry {
        var key: SQLValue
        var digest = RowDigest()
    }

    let limit: Int
    private(set) var entries: [[UInt8]: Entry] = [:]
    private var scratch: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    /// Adds a row read from the plan table at `table` (its first cell is the document's key); false when it belongs
    /// to a document beyond the limit.
    mutating func add(_ row: [SQLValue], table: Int) -> Bool {
        let key = row.first ?? .null
        let match = RowComparison.match(key)
        if entries.count >= limit, entries[match] == nil { return false }
        entries[match, default: Entry(key: key)].digest.add(row, table: table, scratch: &scratch, jsonSpelt: true)
        return true
    }

    /// The entry stored under `match`, removed.
    mutating func take(_ match: [UInt8]) -> Entry? { entries.removeValue(forKey: match) }
}
