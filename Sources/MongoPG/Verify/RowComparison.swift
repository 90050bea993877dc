/// Whether a document's rows in PostgreSQL are the rows the init load writes for MongoDB's version of it: the
/// document flattened with the plan (`Flattener`), compared table by table with the stored rows, cell by cell as the
/// repair path compares rows (`BatchWrite.sameRow`: COPY text, jsonb by value). Equal rows rebuild the same document,
/// so a convergence that finds none differing is exact without rebuilding anything; rows that differ where the
/// documents would not (a jsonb spelling the speller does not foresee) are only rewritten once more. Pure.
enum RowComparison {
    /// The name of the first table whose rows differ, nil when every table holds the rows `flattened` gives.
    /// `stored`: the rows read back, in any order within a table; `flattened`: complete rows (`_id` in every row),
    /// in the flattener's order.
    static func firstDifference(stored: DocumentRows, flattened: [[[SQLValue]]], plan: TablePlan) -> String? {
        guard stored.tables.count == flattened.count, flattened.count == plan.tables.count else {
            return plan.tables.first?.name ?? ""
        }
        for (index, table) in plan.tables.enumerated() {
            let written = flattened[index], read = stored.tables[index]
            guard read.count == written.count else { return table.name }
            let ordered = read.count > 1 ? inKeyOrder(read, keyCount: table.keyColumns.count) : read
            for (old, new) in zip(ordered, written) where !BatchWrite.sameRow(old, new) { return table.name }
        }
        return nil
    }

    /// Rows sorted by their index cells (the key cells after the document's `_id`: the enclosing arrays' indexes,
    /// then `idx`), the order the flattener writes them in; left as they are when already in it.
    static func inKeyOrder(_ rows: [[SQLValue]], keyCount: Int) -> [[SQLValue]] {
        func precedes(_ a: [SQLValue], _ b: [SQLValue]) -> Bool {
            for column in 1..<max(keyCount, 1) where column < a.count && column < b.count {
                let x = a[column], y = b[column]
                if x == y { continue }
                return KeyOrder.precedes(x, y)
            }
            return false
        }
        if zip(rows, rows.dropFirst()).allSatisfy({ !precedes($1, $0) }) { return rows }
        return rows.sorted(by: precedes)
    }

    /// What pairs a key read from either side: its COPY text, jsonb's spelling for json keys (so a mixed-type `_id`
    /// kept as jsonb pairs whichever side spelt it).
    static func match(_ key: SQLValue) -> [UInt8] {
        if case .json(let text) = key, let spelt = JSONText.jsonbSpelling(text) { return spelt }
        var bytes: [UInt8] = []
        CopyTextEncoder.appendField(key, to: &bytes)
        return bytes
    }
}
