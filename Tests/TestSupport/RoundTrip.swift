import MongoPG

/// The whole way a document makes to PostgreSQL and back, without a server: flatten, write COPY text, read it back
/// and rebuild. Shared by the flattener's tests (SchemaTests) and the rebuilder's (VerifyTests).
public enum RoundTrip {
    /// `document` flattened by `plan`, encoded as COPY text, decoded and rebuilt. Throws the flattener's or the
    /// rebuilder's `SchemaError`.
    public static func rebuild(_ document: BSONDocument, plan: TablePlan) throws -> BSONDocument {
        var report = FlattenReport()
        let flattened = try Flattener(plan: plan).flatten(document, report: &report)
        let lines = flattened.rows.map { rows in
            rows.map { row -> [UInt8] in
                var line: [UInt8] = []
                CopyTextEncoder.appendRow(row, to: &line)
                return Array(line.dropLast())
            }
        }
        return try DocumentRebuilder(plan: plan).rebuild(copyText: lines)
    }
}
