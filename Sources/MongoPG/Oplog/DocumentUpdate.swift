/// The `o` of an update entry (`op: "u"`), in each form a server writes (reference: mongodb-oplog.md §3,
/// secantusdb.md), and its application to the document it updates.
public enum DocumentUpdate: Sendable, Equatable {
    /// The whole new document (`o` holds an `_id`): every server version.
    case replacement(BSONDocument)
    /// `$v:1` or no `$v` (3.6–5.0): `$set` and `$unset` by dotted path.
    case modifier(set: [BSONDocument.Element], unset: [String])
    /// `$v:2` delta (5.0+): `{$v: 2, diff: {...}}`.
    case delta(BSONDocument)
    /// A change stream's `updateDescription` shape, which SecantusDB writes into its oplog:
    /// `{$v: 2, diff: {updatedFields, removedFields, truncatedArrays}}`. `paths` holds a change event's
    /// `disambiguatedPaths`: a dotted path's real components, where a field name holds a `.` (or is all digits).
    case description(
        updated: [BSONDocument.Element], removed: [String], truncated: [(field: String, size: Int)],
        paths: [String: [String]] = [:])

    public static func == (lhs: DocumentUpdate, rhs: DocumentUpdate) -> Bool {
        switch (lhs, rhs) {
        case (.replacement(let a), .replacement(let b)), (.delta(let a), .delta(let b)): a == b
        case (.modifier(let setA, let unsetA), .modifier(let setB, let unsetB)): setA == setB && unsetA == unsetB
        case (
            .description(let updatedA, let removedA, let truncatedA, let pathsA),
            .description(let updatedB, let removedB, let truncatedB, let pathsB)
        ):
            updatedA == updatedB && removedA == removedB && truncatedA.elementsEqual(truncatedB) { $0 == $1 }
                && pathsA == pathsB
        default: false
        }
    }

    private static let descriptionKeys: Set<String> = [
        "updatedFields", "removedFields", "truncatedArrays", "disambiguatedPaths",
    ]

    /// Tells the forms apart as the server does: `_id` first (a replacement may hold a user field named `$v`), then
    /// `$v: 2` with a `diff` object, else `$v:1` (whose `$v` may be absent).
    public init(_ object: BSONDocument) throws(OplogError) {
        if object.elements.contains(where: { $0.key == "_id" }) {
            self = .replacement(object)
            return
        }
        let version = object["$v"]?.integerValue
        if version == 2, case .document(let diff)? = object["diff"] {
            if diff.elements.contains(where: { Self.descriptionKeys.contains($0.key) }) {
                self = try Self.description(diff)
            } else {
                try DeltaDiff.validate(diff)
                self = .delta(diff)
            }
            try refuseChangeOfID()
            return
        }
        guard version == nil || version == 1 else {
            throw OplogError(
                .unknownForm, "an update with $v \(object["$v"].map { "\($0)" } ?? "") is not a known form")
        }
        var set: [BSONDocument.Element] = [], unset: [String] = []
        for element in object.elements {
            switch (element.key, element.value) {
            case ("$v", _): continue
            case ("$set", .document(let fields)): set += fields.elements
            case ("$unset", .document(let fields)): unset += fields.keys
            default:
                throw OplogError(.unknownForm, "an update holding \(element.key) is not a known form")
            }
        }
        // New fields of one update are added in field-name order (update_oplog_entry_version.h).
        set.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        self = .modifier(set: set, unset: unset)
        try refuseChangeOfID()
    }

    /// MongoDB never lets an update write `_id` (ImmutableField), so no server logs one: an entry that does is
    /// hostile, refused before it applies (even to a document that is not there).
    private func refuseChangeOfID() throws(OplogError) {
        let firstFields: [String]  // the top-level field each path starts with
        switch self {
        case .replacement: return
        case .delta(let diff):  // checked whole already: its sections are objects
            firstFields =
                diff.elements.filter { $0.key.hasPrefix("s") }.map { String($0.key.dropFirst()) }
                + ["d", "u", "i", "b"].flatMap { section -> [String] in
                    guard case .document(let fields)? = diff[section] else { return [] }
                    return fields.keys
                }
        case .modifier(let set, let unset):
            firstFields = (set.map(\.key) + unset).map { String(DocumentPath.components($0)[0]) }
        case .description(let updated, let removed, let truncated, let disambiguated):
            firstFields = (updated.map(\.key) + removed + truncated.map(\.field)).map {
                disambiguated[$0]?.first ?? String(DocumentPath.components($0)[0])
            }
        }
        if firstFields.contains(where: { FieldName.sameBytes($0, "_id") }) {
            throw OplogError(.malformed, "an update that changes _id, which MongoDB never writes")
        }
    }

    private static func description(_ diff: BSONDocument) throws(OplogError) -> DocumentUpdate {
        var updated: [BSONDocument.Element] = [], removed: [String] = [], truncated: [(field: String, size: Int)] = []
        var paths: [String: [String]] = [:]
        for element in diff.elements {
            switch (element.key, element.value) {
            case ("updatedFields", .document(let fields)): updated = fields.elements
            case ("removedFields", .array(let paths)):
                for path in paths {
                    guard case .string(let text) = path else { throw malformedDescription("removedFields") }
                    removed.append(text)
                }
            case ("truncatedArrays", .array(let entries)):
                for entry in entries {
                    guard case .document(let spec) = entry, case .string(let field)? = spec["field"],
                        let size = spec["newSize"]?.integerValue, size >= 0
                    else { throw malformedDescription("truncatedArrays") }
                    truncated.append((field, Int(size)))
                }
            case ("disambiguatedPaths", .document(let entries)):
                // Each path's components: strings name fields, integers index arrays.
                for entry in entries.elements {
                    guard case .array(let parts) = entry.value, !parts.isEmpty else {
                        throw malformedDescription("disambiguatedPaths")
                    }
                    var components: [String] = []
                    for part in parts {
                        switch part {
                        case .string(let name): components.append(name)
                        case let number where number.integerValue.map({ $0 >= 0 }) == true:
                            components.append(String(number.integerValue!))
                        default: throw malformedDescription("disambiguatedPaths")
                        }
                    }
                    paths[entry.key] = components
                }
            default: throw malformedDescription(element.key)
            }
        }
        return .description(updated: updated, removed: removed, truncated: truncated, paths: paths)
    }

    private static func malformedDescription(_ part: String) -> OplogError {
        OplogError(.malformed, "update description: \(part) is not in the expected shape")
    }

    /// The document after this update. `exact` is false when a part could not apply to the document as it is (a
    /// path through a scalar, a diff for a value of another type): replay then applies what MongoDB's idempotent
    /// replay would, and the document must be verified against MongoDB.
    public func apply(to document: BSONDocument) throws(OplogError) -> (document: BSONDocument, exact: Bool) {
        switch self {
        case .replacement(let replacement):
            return (replacement, true)
        case .delta(let diff):
            let result = try DeltaDiff.apply(diff, to: document)
            return (result.document, result.exact)
        case .modifier(let set, let unset):
            var document = document, exact = true
            for field in set {
                try Self.note(DocumentPath.set(field.value, at: field.key, in: &document), field.key, &exact)
            }
            for path in unset { try Self.note(DocumentPath.unset(path, in: &document), path, &exact) }
            return (document, exact)
        case .description(let updated, let removed, let truncated, let paths):
            var document = document, exact = true
            func parts(_ path: String) -> [Substring] {
                paths[path].map { $0.map { Substring($0) } }
                    ?? DocumentPath.descriptionComponents(path, in: document)
            }
            for path in removed {
                let components = parts(path)
                try Self.note(DocumentPath.unset(components, in: &document), path, &exact)
            }
            for field in updated {
                let components = parts(field.key)
                try Self.note(DocumentPath.set(field.value, at: components, in: &document), field.key, &exact)
            }
            for array in truncated {
                let components = parts(array.field)
                try Self.note(DocumentPath.truncate(components, to: array.size, in: &document), array.field, &exact)
            }
            return (document, exact)
        }
    }

    /// Takes in what one write by path did: a path that could not apply makes the result inexact; padding past
    /// MongoDB's own limit refuses the entry.
    private static func note(_ outcome: DocumentPath.Outcome, _ path: String, _ exact: inout Bool) throws(OplogError) {
        switch outcome {
        case .applied: break
        case .notViable: exact = false
        case .paddingTooLong:
            throw OplogError(
                .malformed,
                "the update of \(path) would pad an array with more than \(DocumentPath.maximumPadding) nulls, "
                    + "which MongoDB never does")
        }
    }
}
