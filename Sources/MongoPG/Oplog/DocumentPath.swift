/// Reading and writing a document by a dotted path, with the semantics MongoDB applies to oplog updates (`$v:1`
/// `$set`/`$unset`, and SecantusDB's `updatedFields`/`removedFields`): each `.` starts a component; a component of
/// digits indexes an array when the value there is an array, and names a field otherwise; missing objects on the way
/// are created; writing past an array's end pads it with null; a path through a scalar is a no-op (replay can meet
/// a document that already holds later changes). Field names are compared byte for byte, as MongoDB does.
enum DocumentPath {
    /// What a write did.
    enum Outcome: Equatable {
        case applied
        /// The path went through a scalar, or named a field of an array: nothing was written.
        case notViable
        /// The write would pad an array with more nulls than MongoDB ever does: nothing was written.
        case paddingTooLong
    }

    /// MongoDB refuses to pad an array with more nulls than this (`kMaxPaddingAllowed` in mongod's
    /// `path_support.h`, error CannotBackfillArray), so no oplog entry of a real server asks for more; an entry that
    /// does is hostile, and padding it would allocate without bound.
    static let maximumPadding = 1_500_000

    /// Whether reaching `index` in an array of `count` elements pads it with more nulls than MongoDB does.
    static func padsTooMuch(to index: Int, from count: Int) -> Bool { index - count > maximumPadding }

    static func components(_ dotted: String) -> [Substring] {
        dotted.split(separator: ".", omittingEmptySubsequences: false)
    }

    /// The array index a component names, when it is all digits.
    static func index(_ component: Substring) -> Int? {
        guard !component.isEmpty, component.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(component)
    }

    static func sameKey(_ key: String, _ component: Substring) -> Bool { key.utf8.elementsEqual(component.utf8) }

    /// The components of a dotted path of an update description (SecantusDB's oplog, a change event without
    /// `disambiguatedPaths`), read against the document it applies to, where a field name may hold a `.`: such a
    /// description names each change by the first field it created, whole, so every component before the last names
    /// something the document holds. Where the next component is missing from an object, the field is the one whose
    /// name spans several components (`meta.dims.w` with `meta` holding `"dims.w"`), and if none is there yet, the
    /// rest of the path is one new field's name: `{"$setField": "a.b"}` on `meta` is described as `meta.a.b`, where
    /// a created `meta.a` would be described as `meta.a: {b: …}`. A path whose components all exist reads as the
    /// components (a new dotted name beside an existing object it could be read through cannot be told apart). Only
    /// a document that already holds later changes (replay from before its load) can lack a component for another
    /// reason: the parent removed later; verification, which checks every document a batch touches, repairs that.
    static func descriptionComponents(_ dotted: String, in document: BSONDocument) -> [Substring] {
        let parts = components(dotted)
        var resolved: [Substring] = []
        var current = BSONValue.document(document)
        var next = 0
        while next < parts.count {
            guard next < parts.count - 1, case .document(let object) = current else {
                resolved += parts[next...]  // the last component, or a path through an array or a scalar
                break
            }
            if let found = object.elements.first(where: { sameKey($0.key, parts[next]) }) {
                resolved.append(parts[next])
                current = found.value
                next += 1
                continue
            }
            // The longest name spanning components that the object holds; else the whole rest is one new name.
            var end = parts.count - 1
            while end > next, !object.elements.contains(where: { sameKey($0.key, joined(parts[next...end])) }) {
                end -= 1
            }
            if end == next { end = parts.count - 1 }
            let name = joined(parts[next...end])
            resolved.append(name)
            current = object.elements.first(where: { sameKey($0.key, name) })?.value ?? .null
            next = end + 1
        }
        return resolved
    }

    private static func joined(_ parts: ArraySlice<Substring>) -> Substring { Substring(parts.joined(separator: ".")) }

    /// Sets `value` at `path` in `document`.
    static func set(_ value: BSONValue, at path: String, in document: inout BSONDocument) -> Outcome {
        set(value, at: components(path), in: &document)
    }

    /// Sets `value` at the path of `parts` (a change event's disambiguated path: a part may hold a `.`).
    static func set(_ value: BSONValue, at parts: [Substring], in document: inout BSONDocument) -> Outcome {
        var root = BSONValue.document(document)
        let outcome = set(value, parts[...], in: &root)
        if case .document(let updated) = root { document = updated }
        return outcome
    }

    /// Removes the field at `path`; an array element becomes null (its index stays). A missing path is a no-op.
    static func unset(_ path: String, in document: inout BSONDocument) -> Outcome {
        unset(components(path), in: &document)
    }

    static func unset(_ parts: [Substring], in document: inout BSONDocument) -> Outcome {
        var root = BSONValue.document(document)
        let outcome = unset(parts[...], in: &root)
        if case .document(let updated) = root { document = updated }
        return outcome
    }

    /// Cuts the array at `path` to `size` elements; a missing path or a shorter array is left alone.
    static func truncate(_ path: String, to size: Int, in document: inout BSONDocument) -> Outcome {
        truncate(components(path), to: size, in: &document)
    }

    static func truncate(_ parts: [Substring], to size: Int, in document: inout BSONDocument) -> Outcome {
        guard let current = value(at: parts, in: document) else { return .applied }
        guard case .array(let elements) = current else { return .notViable }
        guard elements.count > size else { return .applied }
        return set(.array(Array(elements.prefix(max(0, size)))), at: parts, in: &document)
    }

    /// The value at `path`, nil when there is none.
    static func value(at path: String, in document: BSONDocument) -> BSONValue? {
        value(at: components(path), in: document)
    }

    static func value(at parts: [Substring], in document: BSONDocument) -> BSONValue? {
        var current = BSONValue.document(document)
        for part in parts {
            switch current {
            case .document(let object):
                guard let found = object.elements.first(where: { sameKey($0.key, part) }) else { return nil }
                current = found.value
            case .array(let elements):
                guard let index = index(part), index < elements.count else { return nil }
                current = elements[index]
            default: return nil
            }
        }
        return current
    }

    private static func set(_ value: BSONValue, _ parts: ArraySlice<Substring>, in target: inout BSONValue) -> Outcome {
        guard let part = parts.first else {
            target = value
            return .applied
        }
        let rest = parts.dropFirst()
        switch target {
        case .document(var object):
            let outcome: Outcome
            if let position = object.elements.firstIndex(where: { sameKey($0.key, part) }) {
                var child = object.elements[position].value
                outcome = set(value, rest, in: &child)
                object = object.replacingValue(at: position, with: child)
            } else {
                var child = BSONValue.document(BSONDocument())
                outcome = set(value, rest, in: &child)
                if outcome == .applied { object.append(String(part), child) }
            }
            target = .document(object)
            return outcome
        case .array(var elements):
            guard let index = index(part) else { return .notViable }
            if index < elements.count {
                var child = elements[index]
                let outcome = set(value, rest, in: &child)
                elements[index] = child
                target = .array(elements)
                return outcome
            }
            guard !padsTooMuch(to: index, from: elements.count) else { return .paddingTooLong }
            var child = BSONValue.document(BSONDocument())
            let outcome = set(value, rest, in: &child)
            guard outcome == .applied else { return outcome }
            elements.append(contentsOf: repeatElement(.null, count: index - elements.count))
            elements.append(child)
            target = .array(elements)
            return outcome
        default:
            return .notViable
        }
    }

    private static func unset(_ parts: ArraySlice<Substring>, in target: inout BSONValue) -> Outcome {
        guard let part = parts.first else { return .applied }
        let last = parts.count == 1
        switch target {
        case .document(var object):
            guard let position = object.elements.firstIndex(where: { sameKey($0.key, part) }) else { return .applied }
            if last {
                var elements = object.elements
                elements.remove(at: position)
                target = .document(BSONDocument(elements: elements))
                return .applied
            }
            var child = object.elements[position].value
            let outcome = unset(parts.dropFirst(), in: &child)
            object = object.replacingValue(at: position, with: child)
            target = .document(object)
            return outcome
        case .array(var elements):
            guard let index = index(part) else { return .notViable }
            guard index < elements.count else { return .applied }
            if last {
                elements[index] = .null
            } else {
                _ = unset(parts.dropFirst(), in: &elements[index])
            }
            target = .array(elements)
            return .applied
        default:
            return .notViable
        }
    }
}

extension BSONDocument {
    /// The document with the value of the element at `position` replaced, its key and place kept.
    func replacingValue(at position: Int, with value: BSONValue) -> BSONDocument {
        var elements = elements
        elements[position].value = value
        return BSONDocument(elements: elements)
    }
}
