import MongoPG

/// A sink that keeps every table's COPY text in memory: for tests.
public struct MemoryCopySink: CopySink {
    public var tables: [[UInt8]]
    public init(tableCount: Int) { tables = Array(repeating: [], count: tableCount) }
    public mutating func write(table: Int, _ bytes: UnsafeRawBufferPointer) throws {
        tables[table].append(contentsOf: bytes)
    }
}
