extension PlanChange {
    /// For each new root column whose values a load with `keep_extra` kept in `_extra` (the old schema did not know
    /// the field, so each value sits there under its dotted path, in canonical Extended JSON, which keeps the BSON
    /// type): one `UPDATE` that moves the values the column holds exactly into it, and out of `_extra` (NULL once
    /// empty, as the flattener leaves it), so that the convergence after it finds those rows right and rewrites only
    /// the rest. Strings, ObjectIds, ints, longs (ints widen into them), doubles, booleans, and dates of years 1 to
    /// 9999; other types converge from MongoDB. Nested `CASE`s keep each cast behind the tests that make it safe
    /// (the order of `AND`'s operands is the planner's). Empty without `_extra`.
    var extraMoves: [String] {
        let root = new.rootTable
        guard let extra = root.columns.first(where: { $0.role == .extra }) else { return [] }
        let extraColumn = Identifier.quoted(extra.name)
        return additions.compactMap { addition -> String? in
            guard addition.kind == .column, FieldName(addition.table) == FieldName(root.name),
                let column = root.columns.first(where: { FieldName($0.name) == FieldName(addition.column ?? "") }),
                column.role == .value, let type = column.scalarType, let steps = JSONPathStep.steps(of: column.jsonPath)
            else { return nil }
            var segments: [PathSegment] = []
            for step in steps {
                guard case .member(let name) = step else { return nil }
                segments.append(.key(name))
            }
            let key = PostgresSQL.quoteLiteral(PathSegment.dotted(segments))
            // Parenthesised: `-` binds tighter than `->`, so `x -> 'k' - '$numberInt'` would subtract two literals.
            let value = "(\(extraColumn) -> \(key))"
            /// `{"<wrapper>": "<text>"}` and nothing else, the text matching `pattern`.
            func wrapped(_ wrapper: String, in object: String, pattern: String) -> String {
                "CASE WHEN jsonb_typeof(\(object)) = 'object' AND \(object) - '\(wrapper)' = '{}'::jsonb "
                    + "AND jsonb_typeof(\(object) -> '\(wrapper)') = 'string' "
                    + "THEN \(object) ->> '\(wrapper)' ~ '\(pattern)' ELSE false END"
            }
            let test: String, moved: String
            switch type {
            case .string: (test, moved) = ("jsonb_typeof(\(value)) = 'string'", "\(extraColumn) ->> \(key)")
            case .bool: (test, moved) = ("jsonb_typeof(\(value)) = 'boolean'", "(\(value))::boolean")
            case .objectId:
                (test, moved) = (wrapped("$oid", in: value, pattern: "^[0-9a-f]{24}$"), "\(value) ->> '$oid'")
            case .int:
                // Canonical Extended JSON writes only int32 values as $numberInt: the cast cannot overflow.
                (test, moved) = (
                    wrapped("$numberInt", in: value, pattern: "^-?[0-9]{1,10}$"), "(\(value) ->> '$numberInt')::integer"
                )
            case .long:
                let number = "coalesce(\(value) ->> '$numberLong', \(value) ->> '$numberInt')"
                (test, moved) = (
                    "(\(wrapped("$numberLong", in: value, pattern: "^-?[0-9]{1,19}$"))) OR "
                        + "(\(wrapped("$numberInt", in: value, pattern: "^-?[0-9]{1,10}$")))", "\(number)::bigint"
                )
            case .double:
                (test, moved) = (
                    wrapped(
                        "$numberDouble", in: value,
                        pattern: "^(-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|-?Infinity|NaN)$"),
                    "(\(value) ->> '$numberDouble')::double precision"
                )
            case .date:
                let milliseconds = "(\(value) -> '$date' ->> '$numberLong')"
                let shape =
                    "jsonb_typeof(\(value)) = 'object' AND \(value) - '$date' = '{}'::jsonb AND "
                    + wrapped("$numberLong", in: "(\(value) -> '$date')", pattern: "^-?[0-9]{1,15}$")
                (test, moved) = (
                    "CASE WHEN \(shape) THEN \(milliseconds)::bigint BETWEEN -62135596800000 AND 253402300799999 "
                        + "ELSE false END",
                    "timestamptz '1970-01-01 00:00:00+00' + \(milliseconds)::bigint * interval '1 millisecond'"
                )
            default: return nil
            }
            return "UPDATE \(new.qualifiedName(root)) SET \(Identifier.quoted(column.name)) = \(moved), "
                + "\(extraColumn) = nullif(\(extraColumn) - \(key), '{}'::jsonb) "
                + "WHERE \(extraColumn) ? \(key) AND CASE WHEN \(test) THEN true ELSE false END"
        }
    }
}
