import Foundation
import SystemPackage

/// Writes one CSV part: buffered, checksummed and counted as it goes, under `<name>.tmp` until `finish` renames it.
/// A part that was never finished (a crash, Ctrl-C, an error) is left as `.tmp` or removed: never mistaken for whole.
final class PartWriter {
    let url: URL
    private let temporaryURL: URL
    private let descriptor: FileDescriptor
    private var buffer: [UInt8] = []
    private let flushSize: Int
    private var checksum = Checksum()
    private(set) var bytes = 0
    private var finished = false

    init(url: URL, flushSize: Int = 1 << 20) throws(LoadError) {
        self.url = url
        temporaryURL = url.appendingPathExtension("tmp")
        self.flushSize = flushSize
        let path = temporaryURL.path
        descriptor = try FileDescriptor.open(
            path, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite, .groupRead, .otherRead]
        ) { LoadError(.io, "cannot create \(path): \($0)") }
        buffer.reserveCapacity(flushSize + 64 * 1024)
    }

    deinit {
        descriptor.closeIgnoringErrors()  // finish synced the data; an unfinished part is removed anyway
        if !finished { unlink(temporaryURL.path) }
    }

    /// Appends encoded rows (whole lines).
    func append(_ encoded: UnsafeRawBufferPointer) throws(LoadError) {
        buffer.append(contentsOf: encoded)
        if buffer.count >= flushSize { try flush() }
    }

    private func flush() throws(LoadError) {
        guard !buffer.isEmpty else { return }
        checksum.update(buffer)
        let path = temporaryURL.path
        try descriptor.writeAll(buffer) { LoadError(.io, "cannot write \(path): \($0)") }
        bytes += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the part to its final name; returns its manifest entry with the `rows` the
    /// flattener counted for it.
    func finish(rows: Int) throws(LoadError) -> Manifest.Part {
        try flush()
        try FileSystem.syncAndRename(temporaryURL, to: url)
        finished = true
        return Manifest.Part(file: url.lastPathComponent, rows: rows, bytes: bytes, checksum: checksum.hex)
    }
}
