import Foundation

/// Writes one CSV part: buffered, checksummed and counted as it goes, under `<name>.tmp` until `finish` renames it.
/// A part that was never finished (a crash, Ctrl-C, an error) is left as `.tmp` or removed: never mistaken for whole.
final class PartWriter {
    let url: URL
    private let temporaryURL: URL
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private let flushSize: Int
    private var checksum = Checksum()
    private(set) var bytes = 0
    private var finished = false

    init(url: URL, flushSize: Int = 1 << 20) throws(LoadError) {
        self.url = url
        temporaryURL = url.appendingPathExtension("tmp")
        self.flushSize = flushSize
        descriptor = open(temporaryURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw LoadError(.io, "cannot create \(temporaryURL.path): \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(flushSize + 64 * 1024)
    }

    deinit {
        close(descriptor)
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
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { raw in write(descriptor, raw.baseAddress! + offset, raw.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw LoadError(.io, "cannot write \(temporaryURL.path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
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
