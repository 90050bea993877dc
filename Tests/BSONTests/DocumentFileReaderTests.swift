import Foundation
import TestSupport
import Testing

@testable import MongoPG

@Suite("Reading dump and Extended JSON files")
struct DocumentFileReaderTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bson-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func sampleBytes() throws -> [[UInt8]] {
        try Fixtures.extendedJSONLines("sample_analytics/customers.json").map {
            try BSONDocument.bytes(fromExtendedJSON: $0)
        }
    }

    func readAll(_ path: String, format: DocumentFileReader.Format? = nil, chunkSize: Int = 1 << 20) throws -> [[UInt8]]
    {
        let reader = try DocumentFileReader(path: path, format: format, chunkSize: chunkSize)
        var documents: [[UInt8]] = []
        while let document = try reader.next() { documents.append(document) }
        return documents
    }

    @Test(
        "a concatenated BSON file streams back every document, whatever the chunk size", arguments: [64, 4096, 1 << 20])
    func bsonFile(chunkSize: Int) throws {
        let documents = try sampleBytes()
        let path = directory.appendingPathComponent("customers.bson").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(documents.joined()))
        #expect(try readAll(path, chunkSize: chunkSize) == documents)
        // Without the extension the content decides.
        let bare = directory.appendingPathComponent("customers-dump").path
        try FileManager.default.copyItem(atPath: path, toPath: bare)
        #expect(try DocumentFileReader(path: bare).format == .bson)
        #expect(try readAll(bare) == documents)
    }

    @Test("Extended JSON lines read to the same bytes as libbson makes, blank lines skipped")
    func extendedJSONFile() throws {
        let source = Fixtures.url("sample_analytics/customers.json").path
        let documents = try readAll(source)
        #expect(documents == (try sampleBytes()))
        let bare = directory.appendingPathComponent("lines").path
        let text = try String(contentsOfFile: source, encoding: .utf8).replacingOccurrences(of: "\n", with: "\n\n")
        try text.write(toFile: bare, atomically: true, encoding: .utf8)
        #expect(try DocumentFileReader(path: bare).format == .extendedJSONLines)
        #expect(try readAll(bare, chunkSize: 100) == documents)
    }

    @Test("a truncated dump names the byte offset of the broken document")
    func truncatedDump() throws {
        let documents = try sampleBytes().prefix(3)
        var bytes = Array(documents.joined())
        bytes.removeLast(10)
        let path = directory.appendingPathComponent("broken.bson").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let reader = try DocumentFileReader(path: path)
        _ = try reader.next()
        _ = try reader.next()
        let error = #expect(throws: BSONError.self) { _ = try reader.next() }
        #expect(error?.kind == .truncated)
        #expect(error?.offset == documents[0].count + documents[1].count)
        #expect(error?.description.contains(path) == true)
    }

    @Test("a dump with an impossible length is refused, not allocated")
    func hugeLength() throws {
        let path = directory.appendingPathComponent("huge.bson").path
        _ = FileManager.default.createFile(atPath: path, contents: Data([0xFF, 0xFF, 0xFF, 0x7F, 0x03, 0, 0, 0]))
        let error = #expect(throws: BSONError.self) { _ = try readAll(path) }
        #expect(error?.kind == .badLength)
        #expect(error?.offset == 0)
    }

    @Test("a corrupt Extended JSON line names its line number")
    func corruptLine() throws {
        let path = directory.appendingPathComponent("bad.json").path
        try "{\"a\": 1}\n{\"b\": 2}\n{\"c\": \n{\"d\": 4}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: BSONError.self) { _ = try readAll(path) }
        #expect(error?.line == 3)
        #expect(error?.kind == .extendedJSON)
        #expect(error?.exitStatus == .dataError)
    }

    @Test("a missing file is an I/O error with its path")
    func missingFile() {
        let error = #expect(throws: BSONError.self) { _ = try DocumentFileReader(path: "/nonexistent/dump.bson") }
        #expect(error?.kind == .io)
        #expect(error?.exitStatus == .ioError)
        #expect(error?.description.contains("/nonexistent/dump.bson") == true)
        #expect(error?.description.contains("No such file or directory") == true, "the system's reason")
    }
}
