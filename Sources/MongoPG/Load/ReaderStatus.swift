import Foundation

/// How a whole-collection mongo-reader tells a following psql-copy (`--follow-reader`) what it is doing, in its
/// collection folder: `reader.lock`, a POSIX record lock it holds for its whole life (the kernel drops it when the
/// process ends, however it ends), and `reader.json`, this status, replaced atomically at each change of state.
/// A free lock with a status still `reading` means the reader died. Partitioned workers write neither.
public struct ReaderStatus: Codable, Sendable, Equatable {
    public static let fileName = "reader.json"
    public static let lockName = "reader.lock"

    public enum State: String, Codable, Sendable { case reading, finished, failed }

    /// A random identifier of this run of mongo-reader.
    public var run: String
    public var pid: Int32
    public var startedAt: String
    /// The schema's hash, so a follower can refuse a read of another schema before it loads anything.
    public var schemaHash: String
    public var state: State
    /// Once failed: the reader's exit status and error.
    public var exitStatus: Int32? = nil
    public var message: String? = nil

    enum CodingKeys: String, CodingKey {
        case run, pid
        case startedAt = "started_at"
        case schemaHash = "schema_hash"
        case state
        case exitStatus = "exit_status"
        case message
    }

    /// The status in `folder`, or nil when there is none (or it is being replaced: read it again later).
    static func read(in folder: URL) -> ReaderStatus? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(fileName).path) else {
            return nil
        }
        return try? JSONDecoder().decode(ReaderStatus.self, from: data)
    }

    /// Replaces the status file atomically (written aside, then renamed).
    func write(in folder: URL) throws(LoadError) {
        let url = folder.appendingPathComponent(Self.fileName)
        let temporary = folder.appendingPathComponent(Self.fileName + ".tmp")
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: temporary)
        } catch {
            throw LoadError(.io, "cannot write \(temporary.path): \(error.localizedDescription)")
        }
        try FileSystem.syncAndRename(temporary, to: url)
    }
}

/// The lock a whole-collection mongo-reader holds on `reader.lock` while it writes a folder: a second reader of
/// the same folder is refused (exit 75) instead of mixing its parts with the first one's. Released by `deinit`
/// or by the kernel when the process ends.
final class ReaderLock {
    private let descriptor: Int32

    init(folder: URL) throws(LoadError) {
        let path = folder.appendingPathComponent(ReaderStatus.lockName).path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw LoadError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        guard fcntl(descriptor, F_SETLK, &lock) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            let holder = Self.holder(of: folder).map { " (pid \($0))" } ?? ""
            throw LoadError(.readerRunning, "another mongo-reader\(holder) is writing \(folder.path): \(reason)")
        }
    }

    deinit { close(descriptor) }

    /// The pid of the process holding `folder`'s reader lock, or nil when no process holds it. Only meaningful on
    /// the reader's host.
    static func holder(of folder: URL) -> Int32? {
        let descriptor = open(folder.appendingPathComponent(ReaderStatus.lockName).path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        guard fcntl(descriptor, F_GETLK, &lock) == 0, lock.l_type != Int16(F_UNLCK) else { return nil }
        return lock.l_pid
    }
}

/// `loaded.json`, written by psql-copy after it swapped a folder's tables in: which reader run it loaded, so a
/// later `--follow-reader` waits for a new read instead of loading the same one again.
struct LoadedMark: Codable, Sendable {
    static let fileName = "loaded.json"
    var run: String
    var loadedAt: String

    enum CodingKeys: String, CodingKey {
        case run
        case loadedAt = "loaded_at"
    }

    static func read(in folder: URL) -> LoadedMark? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(fileName).path) else {
            return nil
        }
        return try? JSONDecoder().decode(LoadedMark.self, from: data)
    }

    func write(in folder: URL) throws(LoadError) {
        let url = folder.appendingPathComponent(Self.fileName)
        do {
            try JSONEncoder().encode(self).write(to: url, options: .atomic)
        } catch {
            throw LoadError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
