extension TablePlan {
    /// A document rebuilt from its rows, with the empty arrays and objects the relational model cannot keep put back
    /// wherever the schema has an array or an object that the document lacks. An update that follows may reach into
    /// them (`$push`, `{$set: {"tags.0": …}}`, an array diff on a field emptied in an earlier batch); on a document
    /// without them it would miss or create an object where MongoDB has an array. Harmless otherwise: flattening
    /// gives an empty array and an empty object no rows and no values, the same as a missing field.
    func restoringEmptyContainers(_ document: BSONDocument) -> BSONDocument { restore(document, root) }

    private func restore(_ document: BSONDocument, _ object: ObjectPlan) -> BSONDocument {
        var elements = document.elements
        for (name, node) in object.fields {
            if let index = elements.firstIndex(where: { FieldName($0.key) == FieldName(name) }) {
                elements[index].value = restore(elements[index].value, node)
                continue
            }
            switch node {
            case .array: elements.append(.init(key: name, value: .array([])))
            case .object(let inner): elements.append(.init(key: name, value: .document(restore(BSONDocument(), inner))))
            case .column, .hashed, .excluded: break
            }
        }
        return BSONDocument(elements: elements)
    }

    private func restore(_ value: BSONValue, _ node: PlanNode) -> BSONValue {
        switch (value, node) {
        case (.document(let document), .object(let object)): return .document(restore(document, object))
        case (.array(let elements), .array(let table)):
            guard let element = tables[table].element else { return value }
            return .array(elements.map { restoreElement($0, element) })
        default: return value
        }
    }

    /// An array element that came back null where the schema has an array or an object was an empty one, as far as
    /// any update can tell: the rows of `[[]]` and `[null]` are the same, and MongoDB refuses to create a field
    /// inside a null element (`$set {"cube.0.1": …}` on `[null]`), so an update that reaches into it met an empty
    /// container.
    private func restoreElement(_ value: BSONValue, _ node: PlanNode) -> BSONValue {
        switch (value, node) {
        case (.null, .array): return .array([])
        case (.null, .object(let object)): return .document(restore(BSONDocument(), object))
        default: return restore(value, node)
        }
    }
}
