/// Where COPY text goes: a file, a libpq COPY, a counter. Receives whole rows only, in chunks.
public protocol CopySink {
    /// Takes `bytes` of COPY text for the plan's table at `table`; the bytes are valid only during the call.
    mutating func write(table: Int, _ bytes: UnsafeRawBufferPointer) throws
}

/// Flattens documents and streams their rows as COPY text, one buffer per table flushed to the sink once it holds
/// `chunkSize` bytes, so memory stays bounded by one chunk per table whatever the collection's size.
public struct CopyStream<Sink: CopySink> {
    public let flattener: Flattener
    public var sink: Sink
    public let chunkSize: Int
    public private(set) var report = FlattenReport()
    /// COPY text bytes produced per table so far.
    public private(set) var bytesWritten: [Int]
    private var buffers: [[UInt8]]

    public init(plan: TablePlan, sink: Sink, chunkSize: Int = 1 << 20) {
        flattener = Flattener(plan: plan)
        self.sink = sink
        self.chunkSize = chunkSize
        buffers = Array(repeating: [], count: plan.tables.count)
        bytesWritten = Array(repeating: 0, count: plan.tables.count)
    }

    /// Flattens one document and queues its rows; throws the flattener's `SchemaError` or the sink's error.
    public mutating func append(_ document: BSONDocument) throws {
        let flattened = try flattener.flatten(document, report: &report)
        for (table, rows) in flattened.rows.enumerated() where !rows.isEmpty {
            let before = buffers[table].count
            for row in rows { CopyTextEncoder.appendRow(row, to: &buffers[table]) }
            bytesWritten[table] += buffers[table].count - before
            if buffers[table].count >= chunkSize { try flush(table: table) }
        }
    }

    /// Hands every buffered byte to the sink; call once after the last document.
    public mutating func flush() throws {
        for table in buffers.indices { try flush(table: table) }
    }

    private mutating func flush(table: Int) throws {
        guard !buffers[table].isEmpty else { return }
        try buffers[table].withUnsafeBytes { try sink.write(table: table, $0) }
        buffers[table].removeAll(keepingCapacity: true)
    }
}

/// A sink that keeps every table's COPY text in memory: for tests and small collections.
public struct MemoryCopySink: CopySink {
    public var tables: [[UInt8]]
    public init(tableCount: Int) { tables = Array(repeating: [], count: tableCount) }
    public mutating func write(table: Int, _ bytes: UnsafeRawBufferPointer) throws { tables[table].append(contentsOf: bytes) }
}

/// A sink that only counts bytes.
public struct CountingCopySink: CopySink {
    public var bytes = 0
    public init() {}
    public mutating func write(table: Int, _ bytes: UnsafeRawBufferPointer) throws { self.bytes += bytes.count }
}
