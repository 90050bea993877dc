/// The syntax of an INI file, without meaning: sections, `key = value` entries and, in the sections that allow them,
/// bare lines. Which sections and keys exist is `SyncConfig`'s business.
///
/// Rules: `[name]` opens a section (names may hold a colon: `[oplog:rs0]`); `key = value` splits at the first `=`,
/// both sides trimmed; lines starting with `#` or `;` are comments, blank lines are ignored. There are no inline
/// comments, because `#` and `;` are legal inside URIs and conninfo strings. A section or a key given twice, text
/// before the first section, and a line without `=` outside a bare-line section are errors.
public struct INIFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: String
        public var line: Int
        public init(key: String, value: String, line: Int) {
            self.key = key
            self.value = value
            self.line = line
        }
    }

    public struct BareLine: Sendable, Equatable {
        public var text: String
        public var line: Int
        public init(text: String, line: Int) {
            self.text = text
            self.line = line
        }
    }

    public struct Section: Sendable {
        public var name: String
        public var line: Int
        public var entries: [Entry] = []
        public var bareLines: [BareLine] = []

        public func entry(_ key: String) -> Entry? { entries.first { $0.key == key } }
    }

    public let path: String
    public private(set) var sections: [Section] = []

    /// Parses `text`, read from `path` (used in errors only). `bareLineSections` names the sections whose lines
    /// without `=` are kept as bare lines instead of rejected.
    public init(parsing text: String, path: String, bareLineSections: Set<String> = []) throws(ConfigError) {
        self.path = path
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so it must be named as a separator of its own.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.contains("\0") {
                throw ConfigError(.syntax, path: path, line: lineNumber, "a NUL byte in the line")
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count >= 2 else {
                    throw ConfigError(.syntax, path: path, line: lineNumber, "a section header must be `[name]`")
                }
                let name = String(line.dropFirst().dropLast()).trimmingWhitespace()
                guard !name.isEmpty, !name.contains("["), !name.contains("]") else {
                    throw ConfigError(.syntax, path: path, line: lineNumber, "a section header must be `[name]`")
                }
                if let first = sections.first(where: { $0.name == name }) {
                    throw ConfigError(
                        .duplicateSection, path: path, line: lineNumber, section: name,
                        "section given twice (first on line \(first.line))")
                }
                sections.append(Section(name: name, line: lineNumber))
                continue
            }
            guard var section = sections.popLast() else {
                throw ConfigError(.syntax, path: path, line: lineNumber, "text before the first [section]")
            }
            defer { sections.append(section) }
            if let equals = line.firstIndex(of: "=") {
                let key = String(line[..<equals]).trimmingWhitespace()
                let value = String(line[line.index(after: equals)...]).trimmingWhitespace()
                guard !key.isEmpty else {
                    throw ConfigError(
                        .syntax, path: path, line: lineNumber, section: section.name, "`= value` without a key")
                }
                if let first = section.entry(key) {
                    throw ConfigError(
                        .duplicateKey, path: path, line: lineNumber, section: section.name, key: key,
                        "key given twice (first on line \(first.line))")
                }
                section.entries.append(Entry(key: key, value: value, line: lineNumber))
            } else if bareLineSections.contains(section.name) {
                section.bareLines.append(BareLine(text: line, line: lineNumber))
            } else {
                let allowed = bareLineSections.sorted().map { "[\($0)]" }.joined(separator: ", ")
                throw ConfigError(
                    .syntax, path: path, line: lineNumber, section: section.name,
                    "expected `key = value`" + (allowed.isEmpty ? "" : " (lines without `=` belong in \(allowed))"))
            }
        }
    }

    public func section(_ name: String) -> Section? { sections.first { $0.name == name } }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and carriage returns (a file written on Windows ends lines in CR LF).
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{FEFF}" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
