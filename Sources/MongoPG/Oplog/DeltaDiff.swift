/// MongoDB's `$v:2` update delta (`{$v: 2, diff: {...}}`, 5.0+), applied to a document exactly as the server's
/// applier does (reference: mongodb-oplog.md §3.b): a document diff has sections `d` (delete), `u` (update in
/// place), `i` (insert at the end, moving an existing field), `b` (binary tail) and `s<field>` (sub-diff); an array
/// diff starts with `a: true`, may give a new length `l`, then `u<index>` values and `s<index>` sub-diffs.
/// Applying a diff twice gives the same document, as replay needs.
enum DeltaDiff {
    /// What the applier met: `exact` is false when the document did not have the shape the diff expects (a sub-diff
    /// for a missing field, or for a value of another type, which becomes null as on the server), the sign of a copy
    /// that already holds later changes or has diverged.
    struct Result {
        var document: BSONDocument
        var exact: Bool
    }

    static func apply(_ diff: BSONDocument, to document: BSONDocument) throws(OplogError) -> Result {
        var exact = true
        let result = try applyDocument(diff, to: document, exact: &exact)
        return Result(document: result, exact: exact)
    }

    private enum FieldAction {
        case delete
        case update(BSONValue)
        case insert(BSONValue)
        case binary(offset: Int, data: [UInt8])
        case subDiff(BSONDocument)
    }

    private static func malformed(_ message: String) -> OplogError { OplogError(.malformed, "$v:2 diff: \(message)") }

    private static func isArrayDiff(_ diff: BSONDocument) -> Bool { diff.elements.first?.key == "a" }

    private static func section(_ value: BSONValue, _ name: String) throws(OplogError) -> BSONDocument {
        guard case .document(let section) = value else { throw malformed("section \(name) is not an object") }
        return section
    }

    /// Checks the whole diff's shape, sub-diffs included, without a document: an entry must be refused for its form
    /// even when the document it names is not there to apply it to.
    static func validate(_ diff: BSONDocument) throws(OplogError) {
        guard !isArrayDiff(diff) else { throw malformed("an array diff where a document diff belongs") }
        let actions = try parseDocument(diff)
        var fields: Set<FieldName> = []
        for (key, _) in actions where !fields.insert(FieldName(key)).inserted {
            throw malformed("field \(key) appears twice")
        }
        try validateSubDiffs(actions.map(\.action))
    }

    private static func validateSubDiffs(_ actions: [FieldAction]) throws(OplogError) {
        for case .subDiff(let subDiff) in actions {
            if isArrayDiff(subDiff) {
                for case .subDiff(let element) in try parseArray(subDiff).entries.values {
                    try validateSubDiffs([.subDiff(element)])
                }
            } else {
                try validate(subDiff)
            }
        }
    }

    /// A document diff's actions by field, in the order of the diff; throws on any section out of the grammar.
    private static func parseDocument(_ diff: BSONDocument) throws(OplogError) -> [(key: String, action: FieldAction)] {
        guard !diff.isEmpty else { throw malformed("an empty diff") }
        var actions: [(key: String, action: FieldAction)] = []
        var sectionRank = 0  // d, u, i, b, then s...: the order the server writes and its reader demands
        for element in diff.elements {
            let rank: Int
            switch element.key {
            case "d":
                rank = 1
                for field in try section(element.value, "d").elements { actions.append((field.key, .delete)) }
            case "u":
                rank = 2
                for field in try section(element.value, "u").elements {
                    actions.append((field.key, .update(field.value)))
                }
            case "i":
                rank = 3
                for field in try section(element.value, "i").elements {
                    actions.append((field.key, .insert(field.value)))
                }
            case "b":
                rank = 4
                for field in try section(element.value, "b").elements {
                    guard case .document(let spec) = field.value, let offset = spec["o"]?.integerValue,
                        case .binary(let data)? = spec["d"]
                    else { throw malformed("binary section of \(field.key) is not {o: offset, d: data}") }
                    actions.append((field.key, .binary(offset: Int(offset), data: data.data)))
                }
            case let key where key.hasPrefix("s"):
                rank = 5
                actions.append((String(key.dropFirst()), .subDiff(try section(element.value, key))))
            default:
                throw malformed("unexpected section \(element.key)")
            }
            guard rank >= sectionRank else { throw malformed("section \(element.key) out of order") }
            sectionRank = rank
        }
        return actions
    }

    private static func applyDocument(
        _ diff: BSONDocument, to document: BSONDocument, exact: inout Bool
    ) throws(OplogError) -> BSONDocument {
        guard !isArrayDiff(diff) else { throw malformed("an array diff where a document diff belongs") }
        let actions = try parseDocument(diff)
        var byField: [FieldName: FieldAction] = [:]
        for (key, action) in actions {
            guard byField.updateValue(action, forKey: FieldName(key)) == nil else {
                throw malformed("field \(key) appears twice")
            }
        }

        var result: [BSONDocument.Element] = []
        var written: Set<FieldName> = []
        for element in document.elements {
            let name = FieldName(element.key)
            guard let action = byField[name] else {
                result.append(element)
                continue
            }
            switch action {
            case .delete, .insert:
                continue  // an insert is re-added at the end: `i` moves a field
            case .update(let value):
                result.append(.init(key: element.key, value: value))
                written.insert(name)
            case .binary(let offset, let data):
                guard case .binary(var binary) = element.value else {
                    exact = false
                    result.append(element)
                    continue
                }
                if offset <= binary.data.count { binary.data = Array(binary.data.prefix(offset)) + data }
                result.append(.init(key: element.key, value: .binary(binary)))
            case .subDiff(let subDiff):
                result.append(
                    .init(key: element.key, value: try applySubDiff(subDiff, to: element.value, exact: &exact)))
            }
        }
        for (key, action) in actions {
            switch action {
            case .update(let value) where !written.contains(FieldName(key)), .insert(let value):
                result.append(.init(key: key, value: value))
            case .subDiff:
                if !document.elements.contains(where: { FieldName($0.key) == FieldName(key) }) { exact = false }
            default: break
            }
        }
        return BSONDocument(elements: result)
    }

    /// A sub-diff applies to a value of its own kind; any other value becomes null, as on the server ("a future
    /// oplog entry will overwrite this").
    private static func applySubDiff(
        _ diff: BSONDocument, to value: BSONValue, exact: inout Bool
    ) throws(OplogError) -> BSONValue {
        switch (value, isArrayDiff(diff)) {
        case (.document(let object), false): return .document(try applyDocument(diff, to: object, exact: &exact))
        case (.array(let elements), true): return .array(try applyArray(diff, to: elements, exact: &exact))
        default:
            exact = false
            return .null
        }
    }

    private enum ElementAction {
        case update(BSONValue)
        case subDiff(BSONDocument)
    }

    /// An array diff's new length and entries by index; throws on any key out of the grammar.
    private static func parseArray(_ diff: BSONDocument) throws(OplogError) -> (
        newLength: Int?, entries: [Int: ElementAction]
    ) {
        var newLength: Int?
        var entries: [Int: ElementAction] = [:]
        for (position, element) in diff.elements.enumerated() {
            switch element.key {
            case "a" where position == 0:
                guard element.value == .bool(true) else { throw malformed("an array diff's a is not true") }
            case "l" where position == 1:
                guard let length = element.value.integerValue, length >= 0 else {
                    throw malformed("an array diff's l is not a length")
                }
                newLength = Int(length)
            case let key where key.count > 1 && (key.hasPrefix("u") || key.hasPrefix("s")):
                guard let index = DocumentPath.index(key.dropFirst()) else {
                    throw malformed("array key \(key) has no index")
                }
                if key.hasPrefix("u") {
                    entries[index] = .update(element.value)
                } else {
                    entries[index] = .subDiff(try section(element.value, key))
                }
            default:
                throw malformed("unexpected array key \(element.key)")
            }
        }
        return (newLength, entries)
    }

    private static func applyArray(
        _ diff: BSONDocument, to array: [BSONValue], exact: inout Bool
    ) throws(OplogError) -> [BSONValue] {
        let (newLength, entries) = try parseArray(diff)
        let lastEntry = entries.keys.max() ?? -1
        let end = max(newLength ?? 0, lastEntry + 1)
        guard !DocumentPath.padsTooMuch(to: end - 1, from: array.count) else {
            throw malformed(
                "an array diff would grow an array of \(array.count) to \(end) elements, more nulls than MongoDB "
                    + "ever pads (\(DocumentPath.maximumPadding))")
        }
        var result: [BSONValue] = []
        var index = 0
        while index < array.count, newLength.map({ index < $0 }) ?? true {
            switch entries[index] {
            case .update(let value): result.append(value)
            case .subDiff(let subDiff): result.append(try applySubDiff(subDiff, to: array[index], exact: &exact))
            case nil: result.append(array[index])
            }
            index += 1
        }
        while newLength.map({ index < $0 }) ?? false || index <= lastEntry {
            switch entries[index] {
            case .update(let value): result.append(value)
            case .subDiff:
                exact = false  // nothing to diff against
                result.append(.null)
            case nil: result.append(.null)
            }
            index += 1
        }
        return result
    }
}
