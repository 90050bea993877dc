import Foundation

/// Files that readers must never see half-written (node_exporter's textfile collector reads `*.prom` at any time).
public enum TextFile {
    /// Writes `text` beside `path` under a name that does not end in `.prom`, flushes it, then renames it over
    /// `path` (`rename(2)` is atomic within a file system). A failure leaves `path` as it was, removes the temporary
    /// file and is a `StatusError.textfile` (exit 74) naming the path and the reason.
    public static func writeAtomically(_ text: String, to path: String) throws(StatusError) {
        let temporary = path + ".tmp.\(getpid())"
        func failure(_ what: String) -> StatusError {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return StatusError(.textfile, "cannot \(what) \(path): \(reason)")
        }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw failure("write") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let failed = failure("write")
                close(descriptor)
                throw failed
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            let failed = failure("flush")
            close(descriptor)
            throw failed
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw failure("move into place") }
    }
}
