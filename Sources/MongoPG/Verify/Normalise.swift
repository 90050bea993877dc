/// The document as it comes back from the tables: exactly the documented lossy rules of the relational model
/// (DESIGN.md, "Relational model"), applied to the original. `DocumentRebuilder.rebuild` of a document's rows equals
/// this; verification compares a MongoDB document's `normalise` with the rebuilt rows.
///
/// The rules:
/// - `_id` first, then the schema's fields in schema order; of duplicate keys only the first counts.
/// - null and missing are both missing; an object with nothing left is missing; an empty array is missing; inside an
///   array a missing element is null (the element keeps its index).
/// - widening: int32 in a long column becomes int64; int32 and int64 in a double column become double.
/// - binData loses its subtype (0); decimal128 keeps its value and scale as numeric prints it (no negative zero,
///   positive exponents expanded); NaN decimals are NaN.
/// - a NaN double loses its payload and sign (float8 and Extended JSON text both spell it just `NaN`).
/// - NUL bytes are stripped from strings when `strip_nul` is on (with it off such a document is refused: this
///   throws the flattener's error).
/// - "json" values read back as jsonb gives them: relaxed Extended JSON (int64 that fits int32 becomes int32),
///   object keys shorter-first then bytewise, duplicate keys keeping the last.
/// - values that do not fit and fields absent from the schema: dropped, or with `keep_extra` kept as they were
///   (in jsonb's key order), unknown fields after the schema's in UTF-8 byte order of their names; a value of
///   another shape where the schema excludes or hashes something inside is dropped even so.
/// - excluded places are missing; a hashed value is its keyed hash's stand-in (`ValueHash.stored`), so that
///   verification compares hashed with hashed and never meets a value the tables must not hold.
public func normalise(_ document: BSONDocument, plan: TablePlan) throws(SchemaError) -> BSONDocument {
    guard let id = document["_id"], id != .null else {
        throw SchemaError(.badDocument, "document has no _id")
    }
    var normaliser = Normaliser(plan: plan, idText: id.description)
    guard case .some(let normalisedID) = try normaliser.scalar(id, plan.idType, path: ["_id"]), !normaliser.misfit
    else {
        throw SchemaError(.badDocument, "_id of type \(id.typeAlias) does not fit the schema's \(plan.idType.rawValue)")
    }
    var result: BSONDocument = ["_id": normalisedID]
    for element in try normaliser.object(document, plan.root, path: [], isRoot: true).elements {
        result.append(element.key, element.value)
    }
    return result
}

/// Every NaN double inside `value` as the one NaN that text gives back.
func canonicalNaNs(_ value: BSONValue) -> BSONValue {
    switch value {
    case .double(let number) where number.isNaN: .double(.nan)
    case .document(let document):
        .document(BSONDocument(elements: document.elements.map { .init(key: $0.key, value: canonicalNaNs($0.value)) }))
    case .array(let values): .array(values.map(canonicalNaNs))
    default: value
    }
}

private struct Normaliser {
    let plan: TablePlan
    let idText: String
    var misfit = false

    init(plan: TablePlan, idText: String) {
        self.plan = plan
        self.idText = idText
    }

    var keepExtra: Bool { plan.settings.keepExtra }

    /// What a value that does not fit comes back as: nothing, or with `keep_extra` itself from `_extra` (whose
    /// jsonb cannot hold NUL either).
    func kept(_ value: BSONValue, path: [String]) throws(SchemaError) -> BSONValue? {
        guard keepExtra else { return nil }
        if let problem = ValueMapping.extraProblem(value) { throw unstorableError(problem, path) }
        let (clean, stripped) = ValueMapping.nulFree(value)
        if stripped, !plan.settings.stripNUL { throw nulError(path) }
        return ExtendedJSONValue.jsonbOrdered(canonicalNaNs(clean))
    }

    func unstorableError(_ reason: String, _ path: [String]) -> SchemaError {
        .unstorable(reason, path: PathSegment.dotted(path.map { .key($0) }), documentID: idText)
    }

    func nulError(_ path: [String]) -> SchemaError {
        .holdsNUL(path: PathSegment.dotted(path.map { .key($0) }), documentID: idText)
    }

    mutating func object(_ document: BSONDocument, _ objectPlan: ObjectPlan, path: [String], isRoot: Bool)
        throws(SchemaError) -> BSONDocument
    {
        var first: [FieldName: BSONValue] = [:]  // keys compared by bytes, as MongoDB does
        var unknown: [(String, BSONValue)] = []
        for element in document.elements where !(isRoot && FieldName.sameBytes(element.key, "_id")) {
            guard first[FieldName(element.key)] == nil else { continue }
            first[FieldName(element.key)] = element.value
            if objectPlan.field(named: element.key) == nil { unknown.append((element.key, element.value)) }
        }
        var result = BSONDocument()
        for field in objectPlan.fields {
            guard let value = first[FieldName(field.name)] else { continue }
            if let normalised = try self.value(value, field.node, path: path + [field.name]) {
                result.append(field.name, normalised)
            }
        }
        if keepExtra {
            for (name, value) in unknown.sorted(by: { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }) {
                if let kept = try kept(value, path: path + [name]) { result.append(name, kept) }
            }
        }
        return result
    }

    mutating func value(_ value: BSONValue, _ node: PlanNode, path: [String]) throws(SchemaError) -> BSONValue? {
        if case .null = value { return nil }
        switch node {
        case .column(_, let type):
            misfit = false
            let result = try scalar(value, type, path: path)
            return misfit ? try kept(value, path: path) : result
        case .hashed:
            guard let key = plan.settings.hashKey else { fatalError("a plan that hashes has a key (TablePlan.init)") }
            do {
                return try ValueHash.storedForm(of: value, key: key)
            } catch {
                throw SchemaError(
                    .badDocument, "cannot hash the value: \(error.message)",
                    path: PathSegment.dotted(path.map { .key($0) }), documentID: idText)
            }
        case .excluded: return nil
        case .object(let objectPlan):
            guard case .document(let document) = value else {
                return objectPlan.holdsPrivate ? nil : try kept(value, path: path)
            }
            let result = try object(document, objectPlan, path: path, isRoot: false)
            return result.isEmpty ? nil : .document(result)
        case .array(let table):
            guard case .array(let elements) = value else {
                return plan.tables[table].holdsPrivate ? nil : try kept(value, path: path)
            }
            guard !elements.isEmpty, let element = plan.tables[table].element else { return nil }
            var result: [BSONValue] = []
            for (index, item) in elements.enumerated() {
                result.append(try self.value(item, element, path: path + [String(index)]) ?? .null)
            }
            return .array(result)
        }
    }

    /// The value as its column gives it back; sets `misfit` when it does not fit.
    mutating func scalar(_ value: BSONValue, _ type: ScalarType, path: [String]) throws(SchemaError) -> BSONValue? {
        switch ValueMapping.convert(value, to: type, stripNUL: plan.settings.stripNUL) {
        case .mismatch:
            misfit = true
            return nil
        case .holdsNUL: throw nulError(path)
        case .unstorable(let reason): throw unstorableError(reason, path)
        case .fits: break
        }
        let clean = ValueMapping.nulFree(value).0
        switch (type, clean) {
        case (.long, .int32(let number)): return .int64(Int64(number))
        case (.double, .int32(let number)): return .double(Double(number))
        case (.double, .int64(let number)): return .double(Double(number))
        case (.double, .double(let number)) where number.isNaN: return .double(.nan)
        case (.binData, .binary(let binary)): return .binary(BSONBinary(subtype: 0, data: binary.data))
        case (.decimal, .decimal128(let number)): return Decimal128(number.plainText).map { .decimal128($0) }
        case (.json, _):
            guard let text = try? ValueMapping.jsonText(clean), let back = try? ExtendedJSONValue.value(fromText: text)
            else {
                return nil
            }
            return ExtendedJSONValue.jsonbOrdered(back)
        default: return clean
        }
    }
}
