/// How one BSON value meets one column type (DESIGN.md, "Types" and "Coercion"): it fits (lossless widening
/// included), it does not fit, or it holds NUL that PostgreSQL text cannot store.
enum Conversion {
    case fits(SQLValue, strippedNUL: Bool)
    case mismatch
    case holdsNUL
    /// A value for Extended JSON text (json, rare types) that would not read back as itself: the reason.
    case unstorable(String)
}

enum ValueMapping {
    /// PostgreSQL's timestamptz range, in Unix milliseconds: 4714-11-24 00:00 BC (Julian day 0) through
    /// 294276-12-31 23:59:59.999 UTC.
    static let timestampRange: ClosedRange<Int64> =
        CivilTime.days(year: -4713, month: 11, day: 24) * 86_400_000...CivilTime.days(year: 294_277, month: 1, day: 1)
        * 86_400_000 - 1

    /// Doubles from this magnitude up would come back from jsonb as huge integer literals, which libbson's parser
    /// wraps around; json values holding one are written as canonical Extended JSON instead of relaxed.
    static let largestRelaxedDouble = 1e18

    /// Converts a non-null value for a column of `type`.
    static func convert(_ value: BSONValue, to type: ScalarType, stripNUL: Bool) -> Conversion {
        switch (type, value) {
        case (.string, .string(let text)):
            guard containsNUL(text) else { return .fits(.text(text), strippedNUL: false) }
            return stripNUL ? .fits(.text(withoutNUL(text)), strippedNUL: true) : .holdsNUL
        case (.int, .int32(let number)): return .fits(.integer(Int64(number)), strippedNUL: false)
        case (.long, .int32(let number)): return .fits(.integer(Int64(number)), strippedNUL: false)
        case (.long, .int64(let number)): return .fits(.integer(number), strippedNUL: false)
        case (.double, .double(let number)): return .fits(.double(number), strippedNUL: false)
        case (.double, .int32(let number)): return .fits(.double(Double(number)), strippedNUL: false)
        case (.double, .int64(let number)):
            guard let exact = Double(exactly: number) else { return .mismatch }
            return .fits(.double(exact), strippedNUL: false)
        case (.decimal, .decimal128(let number)): return .fits(.numeric(number), strippedNUL: false)
        case (.bool, .bool(let flag)): return .fits(.boolean(flag), strippedNUL: false)
        case (.date, .datetime(let milliseconds)):
            guard timestampRange.contains(milliseconds) else { return .mismatch }
            return .fits(.timestamp(milliseconds), strippedNUL: false)
        case (.objectId, .objectID(let id)): return .fits(.text(id.hex), strippedNUL: false)
        case (.binData, .binary(let binary)): return .fits(.bytes(binary.data), strippedNUL: false)
        case (.uuid, .binary(let binary)):
            guard binary.subtype == 4, binary.data.count == 16 else { return .mismatch }
            return .fits(.uuid(binary.data), strippedNUL: false)
        case (.timestamp, .timestamp(let timestamp)):
            return .fits(.integer(Int64(bitPattern: timestamp.packed)), strippedNUL: false)
        case (.json, _):
            if let written = ExtendedJSONWriter.relaxedText(of: value) {
                if let problem = written.reading.problem(enclosing: 1) { return .unstorable(problem) }
                return .fits(.json(written.text), strippedNUL: false)
            }
            let (clean, stripped) = nulFree(value)
            guard !stripped || stripNUL else { return .holdsNUL }
            guard let text = try? jsonText(clean) else { return .mismatch }
            if let problem = ExtendedJSONReading(of: clean, text: text).problem(enclosing: 1) {
                return .unstorable(problem)
            }
            return .fits(.json(text), strippedNUL: stripped)
        case (.regex, .regex), (.javascript, .javascript), (.symbol, .symbol), (.dbPointer, .dbPointer),
            (.javascriptWithScope, .javascriptWithScope), (.minKey, .minKey), (.maxKey, .maxKey),
            (.undefined, .undefined):
            let (clean, stripped) = nulFree(value)
            guard !stripped || stripNUL else { return .holdsNUL }
            guard let text = try? ExtendedJSONValue.text(of: clean, .canonical) else { return .mismatch }
            if let problem = ExtendedJSONReading(of: clean, text: text).problem(enclosing: 1) {
                return .unstorable(problem)
            }
            return .fits(.text(text), strippedNUL: stripped)
        default: return .mismatch
        }
    }

    /// Why `value`, kept in `_extra` (canonical Extended JSON, one level inside the `_extra` document), would not
    /// read back as itself; nil when it would.
    static func extraProblem(_ value: BSONValue) -> String? {
        guard let text = try? ExtendedJSONValue.text(of: value, .canonical) else {
            return "libbson cannot write it as Extended JSON"
        }
        return ExtendedJSONReading(of: value, text: text).problem(enclosing: 1)
    }

    /// The jsonb text of a "json" node: relaxed Extended JSON, or canonical when relaxed would not survive jsonb.
    static func jsonText(_ value: BSONValue) throws(BSONError) -> String {
        try ExtendedJSONValue.text(of: value, needsCanonical(value) ? .canonical : .relaxed)
    }

    /// Whether a value holds what would not come back exactly through relaxed Extended JSON in jsonb: a double that
    /// is -0.0 (numeric has no negative zero) or of magnitude from 1e18 (printed back as a huge integer), or a date
    /// after 9999 (libbson 1.23 writes it as an ISO string with a 5-digit year that its own parser refuses).
    static func needsCanonical(_ value: BSONValue) -> Bool {
        switch value {
        case .datetime(let milliseconds): milliseconds > 253_402_300_799_999
        case .double(let number):
            number.isFinite && (abs(number) >= largestRelaxedDouble || (number == 0 && number.sign == .minus))
        case .document(let document): document.elements.contains { needsCanonical($0.value) }
        case .array(let values): values.contains(where: needsCanonical)
        default: false
        }
    }

    /// Whether `text` holds a NUL byte; every string of every document is checked.
    static func containsNUL(_ text: String) -> Bool {
        let found = text.utf8.withContiguousStorageIfAvailable {
            ByteScan.contains(UnsafeRawBufferPointer($0), below: 1, or: 0, 0)
        }
        return found ?? text.utf8.contains(0)
    }

    static func withoutNUL(_ text: String) -> String {
        String(decoding: text.utf8.filter { $0 != 0 }, as: UTF8.self)
    }

    /// The value with NUL removed from every string inside it, and whether any was.
    static func nulFree(_ value: BSONValue) -> (BSONValue, Bool) {
        switch value {
        case .string(let text) where containsNUL(text): (.string(withoutNUL(text)), true)
        case .javascript(let text) where containsNUL(text): (.javascript(withoutNUL(text)), true)
        case .symbol(let text) where containsNUL(text): (.symbol(withoutNUL(text)), true)
        case .javascriptWithScope(let code, let scope):
            {
                let (cleanScope, strippedScope) = nulFree(.document(scope))
                guard case .document(let newScope) = cleanScope else { return (value, false) }
                let stripped = containsNUL(code)
                return (.javascriptWithScope(code: withoutNUL(code), scope: newScope), stripped || strippedScope)
            }()
        case .document(let document):
            {
                var stripped = false
                let elements = document.elements.map { element in
                    let (clean, inner) = nulFree(element.value)
                    stripped = stripped || inner
                    return BSONDocument.Element(key: element.key, value: clean)
                }
                return stripped ? (.document(BSONDocument(elements: elements)), true) : (value, false)
            }()
        case .array(let values):
            {
                var stripped = false
                let cleaned = values.map { element in
                    let (clean, inner) = nulFree(element)
                    stripped = stripped || inner
                    return clean
                }
                return stripped ? (.array(cleaned), true) : (value, false)
            }()
        default: (value, false)
        }
    }
}

/// Extended JSON of single values, and the form jsonb gives values back in.
public enum ExtendedJSONValue {
    /// The Extended JSON text of one value, through libbson.
    public static func text(of value: BSONValue, _ mode: ExtendedJSONMode) throws(BSONError) -> String {
        let text = try BSONDocument([("v", value)]).extendedJSON(mode)
        // libbson writes `{ "v" : VALUE }`.
        let prefix = "{ \"v\" : "
        guard text.hasPrefix(prefix), text.hasSuffix(" }") else {
            throw BSONError(.extendedJSON, "unexpected Extended JSON from libbson: \(text.prefix(40))")
        }
        return String(text.dropFirst(prefix.count).dropLast(2))
    }

    /// Parses the Extended JSON text of one value (canonical or relaxed).
    public static func value(fromText text: String) throws(BSONError) -> BSONValue {
        let document = try BSONDocument(extendedJSON: "{\"v\": " + text + "}")
        guard document.count == 1, let value = document["v"] else {
            throw BSONError(.extendedJSON, "not one Extended JSON value: \(text.prefix(40))")
        }
        return value
    }

    /// The value as jsonb gives it back: object keys ordered shorter first, then by bytes, and of duplicate keys only
    /// the last kept (PostgreSQL documentation, 8.14 "JSON Types"). Applied to embedded documents, array elements and
    /// code-with-scope scopes alike.
    public static func jsonbOrdered(_ value: BSONValue) -> BSONValue {
        switch value {
        case .document(let document): .document(jsonbOrdered(document))
        case .array(let values): .array(values.map(jsonbOrdered))
        case .javascriptWithScope(let code, let scope): .javascriptWithScope(code: code, scope: jsonbOrdered(scope))
        default: value
        }
    }

    public static func jsonbOrdered(_ document: BSONDocument) -> BSONDocument {
        // jsonb compares keys by bytes: canonically equivalent spellings are two keys, never merged.
        var last: [FieldName: Int] = [:]
        for (index, element) in document.elements.enumerated() { last[FieldName(element.key)] = index }
        let kept = document.elements.enumerated().filter { last[FieldName($0.element.key)] == $0.offset }.map {
            BSONDocument.Element(key: $0.element.key, value: jsonbOrdered($0.element.value))
        }
        return BSONDocument(
            elements: kept.sorted { a, b in
                let x = Array(a.key.utf8), y = Array(b.key.utf8)
                return x.count != y.count ? x.count < y.count : x.lexicographicallyPrecedes(y)
            })
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days-from-civil), astronomical years (0 = 1 BC).
enum CivilTime {
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
