/// Where COPY text goes: a file, a libpq COPY, a counter. Receives whole rows only, in chunks.
public protocol CopySink {
    /// Takes `bytes` of COPY text for the plan's table at `table`; the bytes are valid only during the call.
    mutating func write(table: Int, _ bytes: UnsafeRawBufferPointer) throws
}

/// Flattens documents and streams their rows as COPY text, one buffer per table flushed to the sink once it holds
/// `chunkSize` bytes, so memory stays bounded by one chunk per table whatever the collection's size.
public struct CopyStream<Sink: CopySink> {
    public var sink: Sink
    public let chunkSize: Int
    /// Everything but the sink: not generic, so the per-document work runs specialised whatever the sink.
    private var buffers: CopyTextBuffers

    public init(plan: TablePlan, sink: Sink, chunkSize: Int = 1 << 20) {
        self.sink = sink
        self.chunkSize = chunkSize
        buffers = CopyTextBuffers(plan: plan)
    }

    public var flattener: Flattener { buffers.flattener }
    /// What was flattened so far: documents, rows per table, the field report.
    public var report: FlattenReport { buffers.report }
    /// COPY text bytes produced per table so far.
    public var bytesWritten: [Int] { buffers.bytesWritten }

    /// Flattens one document and queues its rows; throws the flattener's `SchemaError` or the sink's error.
    public mutating func append(_ document: BSONDocument) throws {
        guard try buffers.append(document, chunkSize: chunkSize) else { return }
        for table in buffers.tables.indices where buffers.tables[table].count >= chunkSize { try flush(table: table) }
    }

    /// Hands every buffered byte to the sink; call once after the last document.
    public mutating func flush() throws {
        for table in buffers.tables.indices { try flush(table: table) }
    }

    private mutating func flush(table: Int) throws {
        guard !buffers.tables[table].isEmpty else { return }
        try buffers.tables[table].withUnsafeBytes { try sink.write(table: table, $0) }
        buffers.tables[table].removeAll()
    }
}

/// The COPY text of each table not yet handed to a sink, and the counts of what produced it.
struct CopyTextBuffers {
    let flattener: Flattener
    var tables: [ByteBuffer]
    /// The current document's rows and the walk's scratch, reused from one document to the next.
    var flattening: Flattening
    /// The current document's `_id` as a COPY field.
    var documentID = ByteBuffer(capacity: 64)
    var bytesWritten: [Int]
    var rowCounts: [Int]
    var documents = 0
    var fields: [String: FlattenReport.FieldCounts] = [:]

    init(plan: TablePlan) {
        flattener = Flattener(plan: plan)
        flattening = Flattening(plan: plan)
        tables = Array(repeating: ByteBuffer(), count: plan.tables.count)
        bytesWritten = Array(repeating: 0, count: plan.tables.count)
        rowCounts = Array(repeating: 0, count: plan.tables.count)
    }

    /// Flattens and encodes one document; true when a table's buffer reached `chunkSize`.
    mutating func append(_ document: BSONDocument, chunkSize: Int) throws(SchemaError) -> Bool {
        try flattening.flatten(document, fields: &fields)
        documents += 1
        let cells = flattening.cells
        // Every row starts with the document's _id: escaped once, copied into each row.
        documentID.removeAll()
        CopyTextEncoder.appendField(cells.tables[0][0], into: &documentID)
        var full = false
        for table in tables.indices {
            let count = cells.rowCount(table)
            guard count > 0 else { continue }
            let before = tables[table].count
            for row in 0..<count {
                documentID.withUnsafeBytes { tables[table].append(bytes: $0) }
                CopyTextEncoder.appendRest(cells.row(table, row).dropFirst(), to: &tables[table])
            }
            bytesWritten[table] += tables[table].count - before
            rowCounts[table] += count
            full = full || tables[table].count >= chunkSize
        }
        return full
    }

    var report: FlattenReport {
        var report = FlattenReport()
        report.documents = documents
        report.fields = fields
        for (table, count) in rowCounts.enumerated() where count > 0 {
            report.rows[flattener.plan.tables[table].name] = count
        }
        return report
    }
}

/// A sink that only counts bytes.
public struct CountingCopySink: CopySink {
    public var bytes = 0
    public init() {}
    public mutating func write(table: Int, _ bytes: UnsafeRawBufferPointer) throws { self.bytes += bytes.count }
}
