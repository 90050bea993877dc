/// Tells objects whose keys are data (ids, dates, names: `tier_and_details` in sample_analytics.customers is keyed
/// by hex ids) from objects whose keys are field names. A dynamic-key object becomes one `json` value: as columns it
/// would give one column per key ever seen, most of them NULL, and a new key in every new document.
enum DynamicKeys {
    /// Distinct keys from which rarely shared keys make an object dynamic.
    static let manyKeys = 16
    /// A key held, on average, by at most this share of the objects is rare.
    static let rareShare = 0.1
    /// Hex digits from which a key reads as an id (an ObjectId has 24, a uuid 32).
    static let identifierDigits = 16

    /// Why the objects seen at a path have dynamic keys, or nil when their keys look like field names. The values
    /// under the keys must be of one kind (nulls aside), unless there are more keys than could be tracked.
    static func reason(_ statistics: PathStatistics) -> String? {
        let distinct = statistics.fields.count
        if statistics.untrackedKeys > 0 {
            return "more distinct keys than the \(distinct) tracked"
        }
        guard distinct > 0 else { return nil }
        var valueKinds: [ValueKind: Int] = [:]
        for field in statistics.fields.values { valueKinds.merge(field.kinds, uniquingKeysWith: +) }
        let values = TypeUnification.unify(valueKinds)
        guard values.conflicts.isEmpty else { return nil }
        let shape = "values: \(values.kind?.description ?? "null")"
        if statistics.fields.keys.allSatisfy { looksLikeIdentifier($0.text) } {
            return "keys look like ids (\(distinct) distinct), \(shape)"
        }
        let occurrences = statistics.fields.values.reduce(0) { $0 + $1.count }
        let meanShare = Double(occurrences) / Double(distinct) / Double(max(1, statistics.objects))
        if distinct >= manyKeys, meanShare <= rareShare {
            let share = percent(meanShare)
            return "\(distinct) distinct keys in \(statistics.objects) objects, each in \(share) on average, \(shape)"
        }
        return nil
    }

    /// Hex digits and dashes only, with at least `identifierDigits` digits: ObjectIds, uuids, hashes.
    static func looksLikeIdentifier(_ key: String) -> Bool {
        var digits = 0
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"):
                digits += 1
            case UInt8(ascii: "-"): continue
            default: return false
            }
        }
        return digits >= identifierDigits
    }

    private static func percent(_ share: Double) -> String {
        let value = share * 100
        return value >= 1 ? "\(Int(value.rounded()))%" : "\((value * 10).rounded() / 10)%"
    }
}
