/// The rows a run wrote for the documents it touched, as PostgreSQL holds them once their batch committed: a later
/// batch whose updates need such a document's current state takes its rows from here instead of reading them back
/// (one query per table and batch less, and the server's lookups with it). The rows are kept as the COPY text that
/// wrote them, in one buffer per generation (one allocation per cell made a heap that slowed every allocation of the
/// run), and decoded as a read-back's are, so they rebuild into the document a read-back would give (jsonb text
/// aside, which the rebuilder orders as jsonb does). Only what committed is remembered, and documents whose rows
/// changed any other way (a dropped collection's tables emptied, a repair) are forgotten. Memory is bounded by an
/// estimate: two generations, the older dropped whole when the newer fills half of `budget`, so documents touched
/// again and again stay. Pure.
struct WrittenRows {
    /// One generation: every document's text in one buffer (per document, its tables' byte counts as 4-byte
    /// little-endian integers, then their text), found by its offset. A document written again leaves its older copy
    /// behind as dead bytes, counted until the generation is dropped.
    private struct Generation {
        var text: [UInt8] = []
        var offsets: [DocumentKey: Int] = [:]

        func tables(at offset: Int, count: Int) -> [ArraySlice<UInt8>] {
            var tables: [ArraySlice<UInt8>] = []
            tables.reserveCapacity(count)
            var start = offset + 4 * count
            for index in 0..<count {
                var length = 0
                for byte in 0..<4 { length |= Int(text[offset + 4 * index + byte]) << (8 * byte) }
                tables.append(text[start..<start + length])
                start += length
            }
            return tables
        }

        mutating func append(_ key: DocumentKey, _ tables: [[UInt8]]) {
            offsets[key] = text.count
            for table in tables {
                let length = UInt32(table.count)
                for byte in 0..<4 { text.append(UInt8(truncatingIfNeeded: length >> (8 * byte))) }
            }
            for table in tables { text += table }
        }

        /// The buffer and the dictionary's entries, roughly.
        var estimatedBytes: Int { text.count + 64 * offsets.count }
    }

    private var current = Generation()
    private var previous = Generation()
    /// Bytes the rows may take, estimated.
    let budget: Int

    /// 32 MiB: in the benchmark's shape (customers, about 500 bytes of rows each) some 50k documents.
    static let defaultBudget = 32 << 20

    init(budget: Int = Self.defaultBudget) { self.budget = budget }

    /// The document's rows as the run last wrote them (no row at all when it removed the document); nil when the run
    /// does not know them.
    func rows(of key: DocumentKey, plan: TablePlan) throws -> DocumentRows? {
        let tables: [ArraySlice<UInt8>]
        if let offset = current.offsets[key] {
            tables = current.tables(at: offset, count: plan.tables.count)
        } else if let offset = previous.offsets[key] {
            tables = previous.tables(at: offset, count: plan.tables.count)
        } else {
            return nil
        }
        var rows = DocumentRows(tableCount: plan.tables.count)
        for (index, table) in plan.tables.enumerated() where !tables[index].isEmpty {
            rows[table: index] = try CopyTextDecoder.rows(
                ofText: Array(tables[index]), types: table.columns.map(\.sqlType))
        }
        return rows
    }

    /// Remembers the rows a committed batch left for each document it wrote or removed: per plan table, their COPY
    /// text.
    mutating func remember(_ written: [DocumentKey: [[UInt8]]]) {
        for (key, tables) in written {
            previous.offsets[key] = nil
            current.append(key, tables)
            if current.estimatedBytes > budget / 2 {
                previous = current
                current = Generation()
            }
        }
    }

    /// Forgets every document of a collection (its tables were emptied).
    mutating func forget(_ namespace: Namespace) {
        current.offsets = current.offsets.filter { $0.key.namespace != namespace }
        previous.offsets = previous.offsets.filter { $0.key.namespace != namespace }
    }

    /// Forgets everything (rows were written behind the remembered ones, by a repair).
    mutating func forgetAll() {
        current = Generation()
        previous = Generation()
    }
}
