import Foundation
import TestSupport
import Testing

@testable import MongoPG

@Suite("Writing CSV parts")
struct PartWriterTests {
    @Test("a part written in many flushes holds every byte in order, with the checksum of the whole")
    func flushes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("part-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("000-t.tsv")
        let writer = try PartWriter(url: url, flushSize: 1000)
        var expected: [UInt8] = []
        for line in 0..<2000 {
            let bytes = Array("\(line)\trow \(line)\n".utf8)
            expected += bytes
            try bytes.withUnsafeBytes { try writer.append($0) }
        }
        let part = try writer.finish(rows: 2000)
        #expect(try Data(contentsOf: url) == Data(expected))
        #expect(part.bytes == expected.count && part.checksum == Checksum.hex(of: expected))
        #expect(!FileManager.default.fileExists(atPath: url.path + ".tmp"))
    }

    @Test("a part that cannot be created is an I/O error naming the path and the system's reason")
    func cannotCreate() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/000-t.tsv")
        let error = #expect(throws: LoadError.self) { _ = try PartWriter(url: url) }
        #expect(error?.exitStatus == .ioError)
        #expect(error?.description.contains(url.path + ".tmp") == true)
        #expect(error?.description.contains("No such file or directory") == true, "\(String(describing: error))")
    }

    @Test("a part's age counts from its first rows, not from when the sink opened it")
    func ageFromFirstRows() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("part-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let namespace = Namespace(database: "sample_analytics", collection: "accounts")
        let schemas = ServerEnvironment.packageRoot.appendingPathComponent("schemas").path
        let plan = try SchemaFile(namespace: namespace, schemasDirectory: schemas, settings: FlattenSettings()).plan
        let folder = CollectionFolder(csvDirectory: directory.path, namespace: namespace)
        try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true)
        var sink = try PartSink(
            folder: folder, plan: plan, partition: nil, job: 0, partBytes: 1 << 20, partSeconds: 0.5)
        // As before a server's first answer: the sink waits longer than a part's age before any row comes.
        Thread.sleep(forTimeInterval: 0.7)
        for row in ["a\t1\t2\n", "b\t3\t4\n"] {
            try Array(row.utf8).withUnsafeBytes { try sink.write(table: 0, $0) }
        }
        let parts = try sink.finish()
        #expect(parts[0].map(\.rows) == [2], "both rows, written at once, are in the first part")
    }
}
