import ArgumentParser

/// A MongoDB namespace, `DB.COLL`: the database is the part before the first dot; collections may contain dots.
public struct Namespace: Hashable, Sendable, CustomStringConvertible, ExpressibleByArgument, Codable {
    public let database: String
    public let collection: String

    public init(database: String, collection: String) {
        self.database = database
        self.collection = collection
    }

    /// Parses `DB.COLL` as the server writes it (an oplog entry's `ns`, `config.system.sessions` included); nil when
    /// either part is empty or the database name holds a character MongoDB forbids. A namespace a user names goes
    /// through `init?(userGiven:)`.
    public init?(_ text: String) {
        // Read as UTF-8 bytes (every entry's ns goes through here): the characters looked for are ASCII, whose bytes
        // never occur inside another character's encoding.
        let bytes = text.utf8
        guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let database = bytes[..<dot], collection = bytes[bytes.index(after: dot)...]
        guard !database.isEmpty, !collection.isEmpty, !database.contains(where: Self.forbiddenInServerDatabase),
            !collection.contains(0)
        else { return nil }
        self.init(database: String(Substring(database)), collection: String(Substring(collection)))
    }

    /// The bytes `init?(_:)` refuses in a database name: `/`, `\`, space, `"`, `$` and NUL.
    private static func forbiddenInServerDatabase(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: " ")
            || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "$") || byte == 0
    }

    /// Parses a namespace a user names (`--collection`, `[collections]`): nil when `problem(with:)` finds one.
    public init?(userGiven text: String) {
        guard Self.problem(with: text) == nil else { return nil }
        self.init(text)
    }

    /// `--collection`: a namespace refused by `problem(with:)` is a wrong command line (64).
    public init?(argument: String) { self.init(userGiven: argument) }

    /// `--collection`'s transform: like `init?(argument:)`, but the refusal (exit 64) says why.
    public static func parsingArgument(_ text: String) throws -> Namespace {
        if let problem = problem(with: text) { throw ValidationError(problem) }
        guard let namespace = Namespace(userGiven: text) else { throw ValidationError("not a namespace DB.COLL") }
        return namespace
    }

    public var description: String { "\(database).\(collection)" }

    /// Characters MongoDB forbids in database names (its Windows list, the stricter one; NUL too).
    static let forbiddenInDatabase: Set<Character> = [
        "/", "\\", ".", " ", "\"", "$", "*", "<", ">", ":", "|", "?", "\0",
    ]
    /// MongoDB: a database name has fewer than 64 bytes; a namespace at most 255.
    static let maximumDatabaseBytes = 63, maximumNamespaceBytes = 255

    /// Why `text` is not a namespace the tools accept, or nil. MongoDB's naming restrictions ("MongoDB Limits and
    /// Thresholds"), plus one of ours: a collection name holds no `/`, since `DB.COLL` names files and folders (the
    /// parts and the schema file), and MongoDB's rules keep `..` and `/` out of the database part only.
    public static func problem(with text: String) -> String? {
        guard let dot = text.firstIndex(of: ".") else {
            return "a namespace is DB.COLL: the database, a dot, the collection"
        }
        let database = text[..<dot], collection = text[text.index(after: dot)...]
        if database.isEmpty { return "the database name is empty" }
        if collection.isEmpty { return "the collection name is empty" }
        if let bad = database.first(where: forbiddenInDatabase.contains) {
            return "a database name cannot contain \(quoted(bad)) (MongoDB forbids any of /\\. \"$*<>:|? and NUL)"
        }
        if database.utf8.count > maximumDatabaseBytes {
            return "the database name has \(database.utf8.count) bytes; MongoDB allows \(maximumDatabaseBytes)"
        }
        if collection.contains("\0") { return "a collection name cannot contain NUL" }
        if collection.contains("$") { return "a collection name cannot contain $" }
        if collection.hasPrefix("system.") { return "collection names starting with system. are MongoDB's own" }
        if collection.contains("/") { return "a collection name cannot contain / (the namespace names files)" }
        if text.utf8.count > maximumNamespaceBytes {
            return "the namespace has \(text.utf8.count) bytes; MongoDB allows \(maximumNamespaceBytes)"
        }
        return nil
    }

    private static func quoted(_ character: Character) -> String { character == "\0" ? "NUL" : "`\(character)`" }
}
