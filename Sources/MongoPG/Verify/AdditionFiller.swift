import Logging

/// Writes an additive schema change's new places from MongoDB (`AdditionFill`), in one transaction on `session`:
/// the documents read unsorted with the fill's projection (MongoDB's next batch read while one is staged), flattened
/// as the init load flattens them, their new cells copied into the temporary tables, then the one statement that
/// applies them. A run killed before the commit leaves the rows as they were (the DDL committed before): the rerun
/// finds nothing left to alter and converges instead. Readers are not held (no table lock beyond `UPDATE`'s).
///
/// Documents are read after the tables' sync point, as the convergence reads them: a document changed since then
/// gets its new places as MongoDB holds them now and its other columns as of the sync point, and the replay that
/// follows brings its changes (each replayed batch checked against MongoDB); a document inserted since has no rows
/// yet and gets them all from the replay; a document deleted since keeps NULL in the new columns until the replay
/// deletes it.
struct AdditionFiller {
    let mongo: MongoSession
    let fill: AdditionFill
    let session: PostgresSession
    let logger: Logger
    /// Documents read per batch, and staged per COPY.
    var chunk = 5000

    /// What a fill did.
    struct Figures: Sendable, Equatable {
        /// Documents read from MongoDB.
        var read = 0
        /// Documents whose rows it wrote.
        var written = 0
        /// Documents no row can hold under the new plan: left as they are, as the convergence leaves them.
        var unstorable = 0
    }

    func run(progress: Progress? = nil) async throws -> Figures {
        let namespace = fill.plan.namespace, fill = self.fill, session = self.session, mongo = self.mongo
        let chunk = self.chunk
        return try await session.withAsyncTransaction(purpose: "write the new columns of \(namespace)") {
            var figures = Figures()
            for statement in fill.stagingStatements {
                try await session.execute(statement, purpose: "create a staging table for \(namespace)")
            }
            let cursor = try await mongo.find(
                namespace, options: FindOptions(projection: fill.projectionDocument, batchSize: Int32(chunk)))
            func nextBatch() -> Task<[RawDocument], Error> {
                Task { try await mongo.nextBatch(cursor, maximum: chunk) }
            }
            var pending = nextBatch()
            var flattening = Flattening(plan: fill.plan)
            var fields: [String: FlattenReport.FieldCounts] = [:]
            while true {
                let batch = try await pending.value
                guard !batch.isEmpty else { break }
                pending = nextBatch()
                var buffers = [[UInt8]](repeating: [], count: fill.targets.count)
                for raw in batch {
                    do {
                        try flattening.flatten(try raw.decode(), fields: &fields)
                    } catch {
                        figures.unstorable += 1
                        logger.debug(
                            "a document no row holds under the new plan is left as it is",
                            metadata: [LogKey.namespace: "\(namespace)", "reason": "\(error)"])
                        continue
                    }
                    fill.appendRows(of: flattening.cells, to: &buffers)
                }
                for (target, buffer) in zip(fill.targets, buffers) where !buffer.isEmpty {
                    var text: [UInt8]? = buffer
                    _ = try await session.copyIn(
                        table: target.staging, columns: fill.columnNames(target),
                        purpose: "stage the new cells of \(namespace)"
                    ) {
                        defer { text = nil }
                        return text
                    }
                }
                figures.read += batch.count
                progress?.add(batch.count)
            }
            try await TestHooks.hold(at: "fill-staged")
            let written = try await session.query(
                fill.applyStatement, purpose: "write the staged new cells of \(namespace)")
            figures.written = Int(written.rows.first?[0] ?? "") ?? 0
            return figures
        }
    }
}
