import ArgumentParser

/// A MongoDB namespace, `DB.COLL`: the database is the part before the first dot; collections may contain dots.
public struct Namespace: Hashable, Sendable, CustomStringConvertible, ExpressibleByArgument, Codable {
    public let database: String
    public let collection: String

    public init(database: String, collection: String) {
        self.database = database
        self.collection = collection
    }

    /// Parses `DB.COLL`; nil when either part is empty or the database name holds a character MongoDB forbids.
    public init?(_ text: String) {
        guard let dot = text.firstIndex(of: ".") else { return nil }
        let database = String(text[..<dot]), collection = String(text[text.index(after: dot)...])
        guard !database.isEmpty, !collection.isEmpty,
            !database.contains(where: { "/\\ \"$".contains($0) || $0 == "\0" }), !collection.contains("\0")
        else { return nil }
        self.init(database: database, collection: collection)
    }

    public init?(argument: String) { self.init(argument) }

    public var description: String { "\(database).\(collection)" }
}
