/// The rules that turn the kinds of value seen at one path into one schema type: int + long → long; int or long +
/// double → double; binData + uuid → binData; anything + null → that thing; conflicting kinds → the most common kind
/// (numbers, binaries counted together), the rest reported as conflicts. The chosen type's column holds every value
/// not reported (DESIGN.md, "Coercion": lossless widening only), so the conflicts are exactly what loads NULL.
public enum TypeUnification {
    public struct Result: Sendable, Equatable {
        /// The chosen kind; nil when only null was seen.
        public var kind: ValueKind?
        /// Values the chosen kind cannot hold, per kind.
        public var conflicts: [ValueKind: Int]
    }

    /// `inexactLongs`: how many of the longs a double column could not hold exactly (conflicts when double wins);
    /// `datesOutOfRange`: how many dates fall outside timestamptz's range (conflicts when date wins).
    public static func unify(_ kinds: [ValueKind: Int], inexactLongs: Int = 0, datesOutOfRange: Int = 0) -> Result {
        var families: [ValueKind: Int] = [:]
        for (kind, count) in kinds where kind != .null { families[family(of: kind), default: 0] += count }
        guard let winner = families.min(by: ValueKind.mostCommonFirst)?.key else {
            return Result(kind: nil, conflicts: [:])
        }
        let kind: ValueKind
        switch winner {
        case .scalar(.double):
            let widest: ScalarType =
                kinds[.scalar(.double)] != nil ? .double : kinds[.scalar(.long)] != nil ? .long : .int
            kind = .scalar(widest)
        case .scalar(.binData):
            kind = kinds[.scalar(.binData)] != nil ? .scalar(.binData) : .scalar(.uuid)
        default:
            kind = winner
        }
        var conflicts = kinds.filter { $0.key != .null && family(of: $0.key) != winner }
        if kind == .scalar(.double), inexactLongs > 0 { conflicts[.scalar(.long)] = inexactLongs }
        if kind == .scalar(.date), datesOutOfRange > 0 { conflicts[.scalar(.date)] = datesOutOfRange }
        return Result(kind: kind, conflicts: conflicts)
    }

    /// Kinds one column can hold together are one family, named by its widest member.
    static func family(of kind: ValueKind) -> ValueKind {
        switch kind {
        case .scalar(.int), .scalar(.long): .scalar(.double)
        case .scalar(.uuid): .scalar(.binData)
        default: kind
        }
    }
}
