import MongoPG
import TestSupport
import Testing

@Suite("Aligned tables for people, by display width")
struct TextTableTests {
    @Test(
        "wide characters take two columns, combining and zero-width ones none",
        arguments: [
            ("abc", 3), ("日本", 4), ("🙂", 2), ("é", 1), ("e\u{301}", 1), ("❤️", 2), ("👨‍👩‍👧", 2), ("ｱ", 1),
            ("Ａ", 2), ("한국", 4), ("a\u{200B}b", 2), ("", 0),
        ] as [(String, Int)])
    func widths(text: String, width: Int) {
        #expect(DisplayWidth.of(text) == width)
    }

    @Test("every column starts at the same display column on every line")
    func alignment() {
        var random = SeededRandom(seed: 12)
        let alphabet = ["a", "Z", "日", "本", "🙂", "é", "e\u{301}", "❤️", " ", "Ａ"]
        for _ in 0..<200 {
            let columns = Int.random(in: 1...4, using: &random)
            func cell() -> String {
                let text = RandomDocuments.string(&random, alphabet: alphabet, maxLength: 6)
                return text.trimmingCharacters(in: .whitespaces).isEmpty ? "x" : "x" + text + "x"
            }
            let table = TextTable(
                headers: (0..<columns).map { "H\($0)" }, rows: (0..<3).map { _ in (0..<columns).map { _ in cell() } })
            let lines = table.text.split(separator: "\n").map(String.init)
            #expect(lines.count == 4)
            let all = [table.headers] + table.rows
            // Walk each line cell by cell (cells never start with a space): the display column where each cell
            // starts must be the same on every line.
            var starts: [[Int]] = []
            for (line, row) in zip(lines, all) {
                var rest = Substring(line), consumed = "", lineStarts: [Int] = []
                for cell in row {
                    while rest.first == " " {
                        consumed.append(rest.removeFirst())
                    }
                    lineStarts.append(DisplayWidth.of(consumed))
                    #expect(rest.hasPrefix(cell), "\(line)")
                    consumed += cell
                    rest = rest.dropFirst(cell.count)
                }
                starts.append(lineStarts)
            }
            #expect(Set(starts).count == 1, "\(lines)")
        }
    }

    @Test("numbers align on the right, and lines carry no trailing spaces")
    func rightAligned() {
        let table = TextTable(headers: ["ID", "TOOL"], rows: [["7", "日本"], ["1234", ""]], rightAligned: [0])
        #expect(table.text == "  ID  TOOL\n   7  日本\n1234")
    }
}
