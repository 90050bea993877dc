extension PostgresSession {
    /// `query(_:parameters:purpose:)` with typed parameters, sent in the text forms `SQLParameter` documents; the
    /// statement casts each to its column's type (`WHERE "_id" = ANY($1::uuid[])`). Throws `SchemaError` for a
    /// parameter that cannot be sent (text holding NUL) before anything reaches the server, `PostgresError` after.
    @discardableResult
    public func query(_ sql: String, values: [SQLParameter], purpose: String) throws -> PGRows {
        var parameters: [String?] = []
        parameters.reserveCapacity(values.count)
        for value in values { parameters.append(try value.text()) }
        return try query(sql, parameters: parameters, purpose: purpose)
    }
}
