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
                self = .delta(diff)
            }
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
            for field in set where DocumentPath.set(field.value, at: field.key, in: &document) == .notViable {
                exact = false
            }
            for path in unset where DocumentPath.unset(path, in: &document) == .notViable { exact = false }
            return (document, exact)
        case .description(let updated, let removed, let truncated, let paths):
            var document = document, exact = true
            func parts(_ path: String) -> [Substring] {
                paths[path].map { $0.map { Substring($0) } } ?? DocumentPath.components(path)
            }
            for path in removed where DocumentPath.unset(parts(path), in: &document) == .notViable { exact = false }
            for field in updated where DocumentPath.set(field.value, at: parts(field.key), in: &document) == .notViable
            {
                exact = false
            }
            for array in truncated
            where DocumentPath.truncate(parts(array.field), to: array.size, in: &document) == .notViable {
                exact = false
            }
            return (document, exact)
        }
    }
}
