/// An aligned table for people: a header row, then one row per record, columns separated by two spaces and padded by
/// display width, so a table name in CJK or with an emoji keeps the columns straight in a terminal. Pure.
public struct TextTable: Sendable {
    public var headers: [String]
    public var rows: [[String]]
    /// Columns whose cells are padded on the left (numbers).
    public var rightAligned: Set<Int>

    public init(headers: [String], rows: [[String]], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rows = rows
        self.rightAligned = rightAligned
    }

    /// The lines, without trailing spaces, joined by newlines (no final newline).
    public var text: String {
        let all = [headers] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in all {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], DisplayWidth.of(cell)) }
        }
        return all.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - DisplayWidth.of(cell))
                if index > 0 { line += "  " }
                line += rightAligned.contains(index) ? padding + cell : cell + padding
            }
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}

/// How many terminal columns text takes: East Asian wide and fullwidth characters and emoji take two, combining marks
/// and zero-width characters none, everything else one (the rules of wcwidth(3) and Unicode's UAX #11). Pure.
public enum DisplayWidth {
    public static func of(_ text: String) -> Int { text.reduce(0) { $0 + of($1) } }

    /// One grapheme cluster: its first scalar decides, a combining mark after it adds nothing, and an emoji
    /// presentation selector (U+FE0F) makes it two columns wide.
    public static func of(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        if character.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control: return 0
        default: break
        }
        if first.properties.isEmojiPresentation || isWide(first.value) { return 2 }
        return 1
    }

    /// East Asian Wide (W) and Fullwidth (F) ranges of UAX #11 that terminals draw in two columns.
    static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
        0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60,
        0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    static func isWide(_ value: UInt32) -> Bool { wideRanges.contains { $0.contains(value) } }
}
