import PropertyBased
import TestSupport
import Testing

@testable import MongoPG

/// Random documents and random changes to them: each change is written in every update form a server could log for
/// it (the `$v:2` delta a pipeline update computes, the `$v:1` modifier, the update description SecantusDB writes),
/// by writers kept here, independent of the appliers; applying each form to the old document must give the new one.
@Suite("Random updates in every form give the document MongoDB holds")
struct UpdatePropertyTests {
    @Test("applying a random change's delta, modifier or description gives the changed document")
    func randomChanges() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let before = Self.document(&random, depth: 0)
            let after = Self.mutate(before, &random, depth: 0)
            do {
                if let diff = Self.delta(before, after) {
                    let update = try DocumentUpdate(["$v": .int32(2), "diff": .document(diff)])
                    let once = try update.apply(to: before)
                    #expect(once.document == after, "seed \(seed): delta \(diff)")
                    #expect(once.exact, "seed \(seed)")
                    #expect(try update.apply(to: once.document).document == after, "seed \(seed): applied twice")
                }
                let (set, unset) = Self.modifier(before, after, path: [])
                // A `$v:1` path cannot name a field whose name holds a dot: no server logs such a change this way.
                if !(set.map(\.0) + unset).contains(where: { $0.contains(where: Self.nameWithDot) }) {
                    let modifier = try DocumentUpdate([
                        "$v": .int32(1),
                        "$set": .document(BSONDocument(set.map { ($0.0.joined(separator: "."), $0.1) })),
                        "$unset": .document(BSONDocument(unset.map { ($0.joined(separator: "."), .bool(true)) })),
                    ])
                    #expect(
                        Self.canonical(.document(try modifier.apply(to: before).document))
                            == Self.canonical(.document(after)),
                        "seed \(seed): modifier")
                }
                var described = Description()
                described.describe(before, after, path: [])
                let description = try DocumentUpdate([
                    "$v": .int32(2),
                    "diff": .document([
                        "updatedFields": .document(BSONDocument(described.updated.map { ($0.0, $0.1) })),
                        "removedFields": .array(described.removed.map { .string($0) }),
                        "truncatedArrays": .array(
                            described.truncated.map {
                                .document(["field": .string($0.0), "newSize": .int32(Int32($0.1))])
                            }),
                        "disambiguatedPaths": .document(
                            BSONDocument(described.disambiguated.map { ($0.0, .array($0.1)) })),
                    ]),
                ])
                #expect(
                    Self.canonical(.document(try description.apply(to: before).document))
                        == Self.canonical(.document(after)),
                    "seed \(seed): description")
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }

    // MARK: Random documents and changes (unique keys; names with dots and digits too, which the description names
    // through `disambiguatedPaths` and the `$v:1` form cannot name at all; no dotted name spells a path of other
    // keys, which the description's text could not tell apart)

    static let keys = ["a", "b", "c", "0", "1", "", "$x", "é", "sa", "u", "i", "d", "l", "q.r", "x.", "$y.0"]

    static func scalar(_ random: inout SeededRandom) -> BSONValue {
        [
            .int32(Int32.random(in: -3...3, using: &random)), .string(["x", "é", ""].randomElement(using: &random)!),
            .null,
            .bool(Bool.random(using: &random)), .double(1.5), .int64(7),
        ].randomElement(using: &random)!
    }

    static func value(_ random: inout SeededRandom, depth: Int) -> BSONValue {
        guard depth < 3 else { return scalar(&random) }
        switch Int.random(in: 0..<5, using: &random) {
        case 0: return .document(document(&random, depth: depth + 1))
        case 1: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in value(&random, depth: depth + 1) })
        default: return scalar(&random)
        }
    }

    static func document(_ random: inout SeededRandom, depth: Int) -> BSONDocument {
        var document = BSONDocument()
        for key in keys.shuffled(using: &random).prefix(Int.random(in: 0...4, using: &random)) {
            document.append(key, value(&random, depth: depth))
        }
        return document
    }

    static func mutate(_ value: BSONValue, _ random: inout SeededRandom, depth: Int) -> BSONValue {
        switch (value, Int.random(in: 0..<4, using: &random)) {
        case (.document(let object), 0...1): return .document(mutate(object, &random, depth: depth + 1))
        case (.array(var elements), 0...1):
            for index in elements.indices where Bool.random(using: &random) {
                elements[index] = mutate(elements[index], &random, depth: depth + 1)
            }
            switch Int.random(in: 0..<3, using: &random) {
            case 0:
                elements.append(
                    contentsOf: (0..<Int.random(in: 1...3, using: &random)).map { _ in
                        Self.value(&random, depth: depth + 1)
                    })
            case 1: elements = Array(elements.prefix(Int.random(in: 0...elements.count, using: &random)))
            default: break
            }
            return .array(elements)
        case (_, 2): return Self.value(&random, depth: depth)
        default: return value
        }
    }

    static func mutate(_ document: BSONDocument, _ random: inout SeededRandom, depth: Int) -> BSONDocument {
        var elements: [BSONDocument.Element] = []
        for element in document.elements where Int.random(in: 0..<6, using: &random) != 0 {
            elements.append(.init(key: element.key, value: mutate(element.value, &random, depth: depth)))
        }
        for key in keys.shuffled(using: &random).prefix(2)
        where !elements.contains(where: { $0.key == key }) && Bool.random(using: &random) {
            elements.append(.init(key: key, value: value(&random, depth: depth)))
        }
        if Int.random(in: 0..<5, using: &random) == 0 { elements.shuffle(using: &random) }
        return BSONDocument(elements: elements)
    }

    // MARK: The forms, written as the server writes them

    /// The `$v:2` diff a pipeline update logs (document_diff_calculator.cpp): kept fields in their order are updated
    /// in place (or diffed), others inserted at the end; nil when nothing changed.
    static func delta(_ before: BSONDocument, _ after: BSONDocument) -> BSONDocument? {
        let beforeKeys = before.keys, afterKeys = after.keys
        let kept = afterKeys.filter { beforeKeys.contains($0) }
        let keptInOrder = beforeKeys.filter { kept.contains($0) } == kept
        let newAtEnd = afterKeys.prefix(kept.count) == kept[...]
        var deletes = BSONDocument(), updates = BSONDocument(), inserts = BSONDocument(),
            subs: [(String, BSONValue)] = []
        for key in beforeKeys where !afterKeys.contains(key) { deletes.append(key, .bool(false)) }
        for element in after.elements {
            guard keptInOrder && newAtEnd, let old = before[element.key] else {
                inserts.append(element.key, element.value)
                continue
            }
            guard old != element.value else { continue }
            switch (old, element.value) {
            case (.document(let a), .document(let b)):
                if let sub = delta(a, b) { subs.append(("s" + element.key, .document(sub))) }
            case (.array(let a), .array(let b)): subs.append(("s" + element.key, .document(arrayDelta(a, b))))
            default: updates.append(element.key, element.value)
            }
        }
        var diff = BSONDocument()
        if !deletes.isEmpty { diff.append("d", .document(deletes)) }
        if !updates.isEmpty { diff.append("u", .document(updates)) }
        if !inserts.isEmpty { diff.append("i", .document(inserts)) }
        for (key, sub) in subs { diff.append(key, sub) }
        return diff.isEmpty ? nil : diff
    }

    static func arrayDelta(_ before: [BSONValue], _ after: [BSONValue]) -> BSONDocument {
        var diff: BSONDocument = ["a": .bool(true)]
        if after.count < before.count { diff.append("l", .int32(Int32(after.count))) }
        for (index, value) in after.enumerated() {
            guard index < before.count else {
                diff.append("u\(index)", value)
                continue
            }
            guard before[index] != value else { continue }
            switch (before[index], value) {
            case (.document(let a), .document(let b)):
                if let sub = delta(a, b) { diff.append("s\(index)", .document(sub)) }
            case (.array(let a), .array(let b)): diff.append("s\(index)", .document(arrayDelta(a, b)))
            default: diff.append("u\(index)", value)
            }
        }
        return diff
    }

    /// Whether a path's components hold a name with a dot.
    static func nameWithDot(_ component: String) -> Bool { component.contains(".") }

    /// `$v:1`: `$set` of changed leaves and new fields by path (as components), `$unset` of removed fields; an array
    /// that shrinks is set whole (as `$pull`/`$pop` log it).
    static func modifier(_ before: BSONDocument, _ after: BSONDocument, path: [String]) -> (
        [([String], BSONValue)], [[String]]
    ) {
        var set: [([String], BSONValue)] = [], unset: [[String]] = []
        for element in before.elements where after[element.key] == nil { unset.append(path + [element.key]) }
        for element in after.elements {
            let here = path + [element.key]
            guard let old = before[element.key], old != element.value else {
                if before[element.key] == nil { set.append((here, element.value)) }
                continue
            }
            switch (old, element.value) {
            case (.document(let a), .document(let b)):
                let inner = modifier(a, b, path: here)
                set += inner.0
                unset += inner.1
            case (.array(let a), .array(let b)) where b.count >= a.count:
                for (index, value) in b.enumerated() where index >= a.count || a[index] != value {
                    if index < a.count, case (.document(let x), .document(let y)) = (a[index], value) {
                        let inner = modifier(x, y, path: here + [String(index)])
                        set += inner.0
                        unset += inner.1
                    } else {
                        set.append((here + [String(index)], value))
                    }
                }
            default: set.append((here, element.value))
            }
        }
        return (set, unset)
    }

    /// SecantusDB's (and a change stream's) description: updated leaves and array elements, removed fields,
    /// truncated arrays; and as mongod 6.1+ adds them, the `disambiguatedPaths` of paths through a field name with a
    /// dot or of digits (field names as strings, array indexes as integers).
    struct Description {
        var updated: [(String, BSONValue)] = [], removed: [String] = [], truncated: [(String, Int)] = []
        var disambiguated: [(String, [BSONValue])] = []

        /// A path's dotted text, its components noted when the text alone is ambiguous: a field name with a dot, or
        /// of digits after the first.
        mutating func dotted(_ path: [BSONValue]) -> String {
            var texts: [String] = [], ambiguous = false
            for (position, part) in path.enumerated() {
                guard case .string(let name) = part else {
                    texts.append(String(part.integerValue!))
                    continue
                }
                texts.append(name)
                let digits = !name.isEmpty && name.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
                ambiguous = ambiguous || name.contains(".") || (position > 0 && digits)
            }
            let text = texts.joined(separator: ".")
            if ambiguous, !disambiguated.contains(where: { $0.0 == text }) { disambiguated.append((text, path)) }
            return text
        }

        mutating func describe(_ before: BSONDocument, _ after: BSONDocument, path: [BSONValue]) {
            for element in before.elements where after[element.key] == nil {
                removed.append(dotted(path + [.string(element.key)]))
            }
            for element in after.elements {
                let here = path + [.string(element.key)]
                guard let old = before[element.key] else {
                    updated.append((dotted(here), element.value))
                    continue
                }
                guard old != element.value else { continue }
                switch (old, element.value) {
                case (.document(let a), .document(let b)): describe(a, b, path: here)
                case (.array(let a), .array(let b)):
                    if b.count < a.count { truncated.append((dotted(here), b.count)) }
                    for (index, value) in b.enumerated() where index >= a.count || a[index] != value {
                        let element = here + [.int32(Int32(index))]
                        if index < a.count, case (.document(let x), .document(let y)) = (a[index], value) {
                            describe(x, y, path: element)
                        } else {
                            updated.append((dotted(element), value))
                        }
                    }
                default: updated.append((dotted(here), element.value))
                }
            }
        }
    }

    /// The value with every document's keys in one order: the modifier and description forms cannot say where a
    /// new field goes, so they are compared field by field.
    static func canonical(_ value: BSONValue) -> BSONValue {
        switch value {
        case .document(let document):
            .document(
                BSONDocument(
                    elements: document.elements
                        .map { .init(key: $0.key, value: canonical($0.value)) }
                        .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }))
        case .array(let elements): .array(elements.map(canonical))
        default: value
        }
    }
}
