/// Where two documents part: the first path (dotted, array indexes as numbers) whose values differ, a field on one
/// side only, or an array of another length. Pure; both sides are expected normalised (`normalise`), so the lossy
/// rules of the relational model never count as a difference.
public enum DocumentDifference {
    /// nil when the documents are equal.
    public static func firstPath(_ expected: BSONDocument?, _ actual: BSONDocument?) -> String? {
        switch (expected, actual) {
        case (nil, nil): return nil
        case (nil, _), (_, nil): return "(the whole document)"
        case (let expected?, let actual?): return path(.document(expected), .document(actual), [])
        }
    }

    private static func path(_ expected: BSONValue, _ actual: BSONValue, _ prefix: [String]) -> String? {
        func here() -> String { prefix.isEmpty ? "(the whole document)" : prefix.joined(separator: ".") }
        switch (expected, actual) {
        case (.document(let left), .document(let right)):
            for element in left.elements {
                guard let other = right.elements.first(where: { FieldName($0.key) == FieldName(element.key) }) else {
                    return (prefix + [element.key]).joined(separator: ".")
                }
                if let found = path(element.value, other.value, prefix + [element.key]) { return found }
            }
            for element in right.elements
            where !left.elements.contains(where: { FieldName($0.key) == FieldName(element.key) }) {
                return (prefix + [element.key]).joined(separator: ".")
            }
            return left.elements.map(\.key) == right.elements.map(\.key) ? nil : here()
        case (.array(let left), .array(let right)):
            for (index, (a, b)) in zip(left, right).enumerated() {
                if let found = path(a, b, prefix + [String(index)]) { return found }
            }
            return left.count == right.count ? nil : here()
        default:
            return expected == actual ? nil : here()
        }
    }
}
