/// A slice of a collection by `_id`, so several jobs (or processes, or hosts) read disjoint documents.
/// MongoDB compares `_id`s only within one type bracket (numbers, strings, ObjectIds, ...), so ranges are cut inside
/// the bracket of the split points, and one more slice, `otherTypes`, takes every `_id` outside that bracket.
public struct IDRange: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Inclusive lower bound; nil for "from the smallest of the bracket".
    public var lower: BSONValue?
    /// Exclusive upper bound; nil for "to the largest of the bracket".
    public var upper: BSONValue?
    /// When set, the slice is every `_id` whose type is outside this `$type` alias instead.
    public var otherTypesThan: String?

    public static let all = IDRange(lower: nil, upper: nil, otherTypesThan: nil)

    /// The `find` filter selecting this slice.
    public var filter: BSONDocument {
        if let alias = otherTypesThan { return ["_id": .document(["$not": .document(["$type": .string(alias)])])] }
        var bounds = BSONDocument()
        if let lower { bounds["$gte"] = lower }
        if let upper { bounds["$lt"] = upper }
        return bounds.isEmpty ? [:] : ["_id": .document(bounds)]
    }

    public var description: String {
        if let alias = otherTypesThan { return "_id not of type \(alias)" }
        return "_id in [\(lower.map { "\($0)" } ?? "min"), \(upper.map { "\($0)" } ?? "max"))"
    }

    /// The `$type` alias naming a value's comparison bracket (all numbers compare with each other).
    static func bracket(of value: BSONValue) -> String {
        switch value {
        case .int32, .int64, .double, .decimal128: "number"
        case .string, .symbol: "string"
        default: value.typeAlias == "uuid" ? "binData" : value.typeAlias
        }
    }

    /// Cuts the `_id` space at `splitPoints` (sorted, of one bracket): `count + 1` ranges plus the other-types slice.
    /// Split points of mixed brackets cannot cut safely: the whole collection is then one range.
    public static func ranges(splitPoints: [BSONValue]) -> [IDRange] {
        guard let first = splitPoints.first else { return [.all] }
        let bracket = bracket(of: first)
        guard splitPoints.allSatisfy({ Self.bracket(of: $0) == bracket }) else { return [.all] }
        var ranges: [IDRange] = []
        var lower: BSONValue? = nil
        for point in splitPoints {
            ranges.append(IDRange(lower: lower, upper: point, otherTypesThan: nil))
            lower = point
        }
        ranges.append(IDRange(lower: lower, upper: nil, otherTypesThan: nil))
        ranges.append(IDRange(lower: nil, upper: nil, otherTypesThan: bracket))
        return ranges
    }
}
