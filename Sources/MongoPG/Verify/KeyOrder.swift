/// The order in which `etlstatus verify --all` reads both sides: MongoDB sorts `_id`s itself, PostgreSQL is asked
/// for the same order (`orderBy`), and `precedes` tells which side is behind. For the key types a schema gives
/// `_id` (text for strings and ObjectIds, numbers, dates, UUIDs, binary) the three agree; where they cannot
/// (mixed-type `_id`s kept as jsonb, NaN) the merge still finds every document, only with more lookups. Pure.
public enum KeyOrder {
    /// The `ORDER BY` expression for a key column of `type`: text and json byte-wise (MongoDB compares strings by
    /// their UTF-8 bytes, whatever the database's collation), binary by length first (as MongoDB does).
    public static func orderBy(_ column: String, type: SQLType) -> String {
        switch type {
        case .text: "\(column) COLLATE \"C\""
        case .jsonb: "\(column)::text COLLATE \"C\""
        case .bytea: "length(\(column)), \(column)"
        default: column
        }
    }

    /// Whether key `a` comes before key `b` in that order. Numbers compare by exact value across their cases (an
    /// int64 and a double, two decimals), equal values of different types precede neither; values of other different
    /// cases (which one key column never holds) are ordered by case, so the answer is total.
    public static func precedes(_ a: SQLValue, _ b: SQLValue) -> Bool {
        switch (a, b) {
        case (.text(let x), .text(let y)), (.json(let x), .json(let y)): x.utf8.lexicographicallyPrecedes(y.utf8)
        case (.integer(let x), .integer(let y)), (.timestamp(let x), .timestamp(let y)): x < y
        case (.double(let x), .double(let y)): x < y || (x.isNaN && !y.isNaN)
        case (.boolean(let x), .boolean(let y)): !x && y
        case (.bytes(let x), .bytes(let y)): x.count != y.count ? x.count < y.count : x.lexicographicallyPrecedes(y)
        case (.uuid(let x), .uuid(let y)): x.lexicographicallyPrecedes(y)
        default:
            // Numbers of different types (or decimals) by exact value, as MongoDB compares them: through Double,
            // 2^53 + 1 would equal 2^53 and decimals differing past 17 digits would tie.
            if let x = exactNumber(a), let y = exactNumber(b) { x < y } else { rank(a) < rank(b) }
        }
    }

    /// Which head a merge of two streams in this order takes next: the one whose key comes first, both when neither
    /// precedes the other, none when both streams are done.
    enum MergeStep: Equatable { case mongo, stored, both, done }

    static func step(mongo: SQLValue?, stored: SQLValue?) -> MergeStep {
        switch (mongo, stored) {
        case (nil, nil): .done
        case (.some, nil): .mongo
        case (nil, .some): .stored
        case (.some(let mongo), .some(let stored)):
            precedes(mongo, stored) ? .mongo : precedes(stored, mongo) ? .stored : .both
        }
    }

    private static func rank(_ value: SQLValue) -> Int {
        switch value {
        case .null: 0
        case .integer: 1
        case .double: 2
        case .numeric: 3
        case .text: 4
        case .json: 5
        case .bytes: 6
        case .uuid: 7
        case .boolean: 8
        case .timestamp: 9
        }
    }
}
