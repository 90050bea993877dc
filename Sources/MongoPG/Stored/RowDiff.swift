/// How one document's rows in one table change, row by row (pure): an update of one array element rewrites that
/// element's row, not the document's whole array. Rows are matched by their key (the leading key cells: the
/// document's `_id`, the enclosing arrays' indexes, `idx`); a row whose key is gone is deleted by its key, and new
/// rows are written. A row whose key now holds other values is either deleted and written again, or, `inPlace`,
/// updated where it is (`changed`): PostgreSQL then inserts no index entry for it. Without `inPlace`, a root row, its
/// document's only row, is either the same or all its rows go (nil).
struct RowDiff: Equatable {
    /// The index cells (the key after the document's `_id`) of each row to delete.
    var removed: [[Int64]] = []
    /// The COPY text of the rows to write.
    var added: [UInt8] = []
    /// The new lines (their places in `new`) whose key an old row holds with other values: to update in place.
    var changed: [Int] = []

    /// The rows a table holds of a document, as COPY text lines.
    struct Lines {
        var text: ArraySlice<UInt8>
        /// Each line's bytes in `text`, its newline included.
        var ranges: [Range<Int>]
        /// The rows the lines were encoded from, when read back from PostgreSQL: their json cells are spelt as
        /// jsonb spells them, so a line that differs may still hold the same row (see `BatchWrite.sameRow`).
        var rows: [[SQLValue]]?

        /// Lines of COPY text as the flattener wrote them.
        init(text: ArraySlice<UInt8>) {
            self.text = text
            ranges = []
            var start = text.startIndex
            for index in text.indices where text[index] == 0x0A {
                ranges.append(start..<(index + 1))
                start = index + 1
            }
        }

        /// Rows encoded as COPY text (read back from PostgreSQL, or flattened).
        init(rows: [[SQLValue]]) {
            var text: [UInt8] = []
            ranges = []
            for row in rows {
                let start = text.count
                CopyTextEncoder.appendRow(row, to: &text)
                ranges.append(start..<text.count)
            }
            self.text = text[...]
            self.rows = rows
        }

        /// A line's key cells: its bytes up to the tab after the `keyCount`th cell (or its newline). Key cells are
        /// ids and integers, whose COPY text holds no tab.
        func key(_ line: Int, keyCount: Int) -> ArraySlice<UInt8> {
            let range = ranges[line]
            var tabs = 0
            for index in range where text[index] == 0x09 {
                tabs += 1
                if tabs == keyCount { return text[range.lowerBound..<index] }
            }
            return text[range.lowerBound..<(range.upperBound - 1)]
        }
    }

    /// The diff of `old` against `new`, tables whose first `keyCount` columns are the key. nil when every old row
    /// goes (the document's rows are then deleted by its `_id`, one lookup), or when a key's index cells are not
    /// integers. `inPlace`: rows whose key stays are `changed`, not removed and added.
    static func diff(old: Lines, new: Lines, keyCount: Int, inPlace: Bool = false) -> RowDiff? {
        var diff = RowDiff()
        var matched = [Bool](repeating: false, count: old.ranges.count)
        var oldByKey: [ArraySlice<UInt8>: Int]?
        for line in new.ranges.indices {
            let key = new.key(line, keyCount: keyCount)
            // Rows keep their place when values change in place or an array grows or shrinks at its end.
            var match: Int?
            if line < old.ranges.count, old.key(line, keyCount: keyCount) == key {
                match = line
            } else {
                if oldByKey == nil {
                    oldByKey = Dictionary(
                        old.ranges.indices.map { (old.key($0, keyCount: keyCount), $0) },
                        uniquingKeysWith: { a, _ in a })
                }
                match = oldByKey?[key]
            }
            if let match {
                matched[match] = true
                if same(old, match, new, line) { continue }
                if inPlace {
                    diff.changed.append(line)
                    continue
                }
                guard let indexes = indexes(of: key) else { return nil }
                diff.removed.append(indexes)
            }
            diff.added.append(contentsOf: new.text[new.ranges[line]])
        }
        for (line, kept) in matched.enumerated() where !kept {
            guard let indexes = indexes(of: old.key(line, keyCount: keyCount)) else { return nil }
            diff.removed.append(indexes)
        }
        if !old.ranges.isEmpty, diff.removed.count == old.ranges.count { return nil }
        return diff
    }

    private static func same(_ old: Lines, _ oldLine: Int, _ new: Lines, _ newLine: Int) -> Bool {
        if old.text[old.ranges[oldLine]] == new.text[new.ranges[newLine]] { return true }
        guard let oldRows = old.rows, let newRows = new.rows else { return false }
        return BatchWrite.sameRow(oldRows[oldLine], newRows[newLine])
    }

    /// The integer cells after the first (the document's `_id`) of a key.
    private static func indexes(of key: ArraySlice<UInt8>) -> [Int64]? {
        var cells = key.split(separator: 0x09, omittingEmptySubsequences: false).dropFirst()
        var indexes: [Int64] = []
        while let cell = cells.popFirst() {
            guard let value = Int64(String(decoding: cell, as: UTF8.self)) else { return nil }
            indexes.append(value)
        }
        return indexes
    }
}
