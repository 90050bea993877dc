/// An ordered BSON document. Keys keep their order and duplicates are preserved (BSON allows them and a faithful
/// copy must not merge them); lookups by key answer the first match, as MongoDB does.
public struct BSONDocument: Sendable, Equatable, RandomAccessCollection, ExpressibleByDictionaryLiteral,
    CustomStringConvertible
{
    public struct Element: Sendable, Equatable {
        public var key: String
        public var value: BSONValue
        public init(key: String, value: BSONValue) {
            self.key = key
            self.value = value
        }
        public static func == (lhs: Element, rhs: Element) -> Bool {
            lhs.key.utf8.elementsEqual(rhs.key.utf8) && lhs.value == rhs.value
        }
    }

    public private(set) var elements: [Element]

    public init() { elements = [] }
    public init(elements: [Element]) { self.elements = elements }
    public init(_ pairs: [(String, BSONValue)]) { elements = pairs.map { Element(key: $0.0, value: $0.1) } }
    public init(dictionaryLiteral pairs: (String, BSONValue)...) { self.init(pairs) }

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }
    public subscript(position: Int) -> Element { elements[position] }

    public var keys: [String] { elements.map(\.key) }

    /// The first value under `key`; setting replaces the first match in place or appends; nil removes every match.
    /// Keys match byte for byte, as MongoDB compares them (`"\u{E9}"` and `"e\u{301}"` are two keys).
    public subscript(key: String) -> BSONValue? {
        get { elements.first { FieldName.sameBytes($0.key, key) }?.value }
        set {
            if let newValue {
                if let index = elements.firstIndex(where: { FieldName.sameBytes($0.key, key) }) {
                    elements[index].value = newValue
                } else {
                    elements.append(Element(key: key, value: newValue))
                }
            } else {
                elements.removeAll { FieldName.sameBytes($0.key, key) }
            }
        }
    }

    /// Appends even when the key exists already (BSON allows duplicate keys).
    public mutating func append(_ key: String, _ value: BSONValue) {
        elements.append(Element(key: key, value: value))
    }

    public mutating func reserveCapacity(_ count: Int) { elements.reserveCapacity(count) }

    /// Relaxed Extended JSON, through libbson.
    public var description: String { (try? extendedJSON(.relaxed)) ?? "<unprintable BSON document>" }
}
