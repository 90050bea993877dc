import Foundation

/// File operations the init load needs to be crash-safe: a file is visible under its final name only when whole.
enum FileSystem {
    /// fsyncs `source`, renames it over `target` (atomic on POSIX), then fsyncs the folder so the rename survives a
    /// crash.
    static func syncAndRename(_ source: URL, to target: URL) throws(LoadError) {
        let descriptor = open(source.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw LoadError(.io, "cannot open \(source.path): \(String(cString: strerror(errno)))")
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced else { throw LoadError(.io, "cannot sync \(source.path): \(String(cString: strerror(errno)))") }
        guard rename(source.path, target.path) == 0 else {
            throw LoadError(
                .io, "cannot rename \(source.path) to \(target.lastPathComponent): \(String(cString: strerror(errno)))")
        }
        let folder = open(target.deletingLastPathComponent().path, O_RDONLY)
        if folder >= 0 {
            _ = fsync(folder)
            close(folder)
        }
    }
}
