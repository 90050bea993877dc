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

/// The locks on a folder's `reader.lock` (POSIX record locks, dropped by the kernel when their process ends,
/// however it ends), one byte each: byte 0 is the readers' (a whole-collection mongo-reader holds it alone,
/// partitioned workers share it), byte 1 psql-copy's (shared). Each side takes its own byte first and then looks
/// at the other's, so of a reader and a loader starting together at least one sees the other and refuses (exit
/// 75): a folder is never written while it is loaded, nor loaded while it is written. `psql-copy --follow-reader`
/// takes no lock: it loads a folder while its reader writes it, checking each part as it streams.
enum FolderLock {
    static let readerByte = 0, loaderByte = 1

    /// Opens (creating) the folder's lock file; -1 when it cannot.
    static func open(_ folder: URL, create: Bool) -> Int32 {
        Glibc.open(
            folder.appendingPathComponent(ReaderStatus.lockName).path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0),
            0o644)
    }

    /// Takes a lock of `type` (F_RDLCK, F_WRLCK) on `byte` without waiting.
    static func take(_ descriptor: Int32, type: Int32, byte: Int) -> Bool {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = byte
        lock.l_len = 1
        return fcntl(descriptor, F_SETLK, &lock) == 0
    }

    /// Opens (creating) the folder's lock file and takes a lock of `type` on `byte`, then checks that no process
    /// holds `otherByte`; the descriptor to close when done. `refused` makes the error when the lock is held (the
    /// holder's pid when known, errno's words), `conflicting` the one when another process holds `otherByte`.
    static func acquire(
        _ folder: URL, type: Int32, byte: Int, refused: (Int32?, String) -> LoadError, otherByte: Int,
        conflicting: (Int32) -> LoadError
    ) throws(LoadError) -> Int32 {
        let descriptor = open(folder, create: true)
        let path = folder.appendingPathComponent(ReaderStatus.lockName).path
        guard descriptor >= 0 else { throw LoadError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard take(descriptor, type: type, byte: byte) else {
            let reason = String(cString: strerror(errno))
            let holder = holder(descriptor, byte: byte)
            close(descriptor)
            throw refused(holder, reason)
        }
        if let other = holder(descriptor, byte: otherByte) {
            close(descriptor)
            throw conflicting(other)
        }
        return descriptor
    }

    /// The pid of another process holding any lock on `byte`, or nil.
    static func holder(_ descriptor: Int32, byte: Int) -> Int32? {
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)  // conflicts with every lock, so any holder is reported
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = byte
        lock.l_len = 1
        guard fcntl(descriptor, F_GETLK, &lock) == 0, lock.l_type != Int16(F_UNLCK) else { return nil }
        return lock.l_pid
    }
}

/// The lock a mongo-reader holds on its folder while it writes: a second whole-collection reader (or a whole
/// reader and a partitioned worker) is refused (exit 75) instead of mixing its parts with the first one's, and so
/// is a reader of a folder psql-copy is loading. Released by `deinit` or by the kernel when the process ends.
final class ReaderLock {
    private let descriptor: Int32

    /// `shared`: a partitioned worker's lock, which other workers of the read share.
    init(folder: URL, shared: Bool = false) throws(LoadError) {
        descriptor = try FolderLock.acquire(
            folder, type: shared ? F_RDLCK : F_WRLCK, byte: FolderLock.readerByte,
            refused: { holder, reason in
                LoadError(
                    .readerRunning,
                    "another \(Tool.mongoReader)\(holder.map { " (pid \($0))" } ?? "") is writing \(folder.path): "
                        + reason
                )
            }, otherByte: FolderLock.loaderByte,
            conflicting: { loader in
                LoadError(
                    .loaderRunning,
                    "\(Tool.psqlCopy) (pid \(loader)) is loading \(folder.path): read again once it has finished, or "
                        + "into another --csv-dir")
            })
    }

    deinit { close(descriptor) }

    /// The pid of a process holding `folder`'s reader lock, or nil when none holds it. Only meaningful on the
    /// reader's host.
    static func holder(of folder: URL) -> Int32? {
        let descriptor = FolderLock.open(folder, create: false)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return FolderLock.holder(descriptor, byte: FolderLock.readerByte)
    }
}

/// The lock psql-copy holds on a folder while it loads it (without `--follow-reader`): a mongo-reader writing it
/// makes psql-copy refuse (exit 75), and a mongo-reader started during the load refuses in turn.
final class LoaderLock: Sendable {
    private let descriptor: Int32

    /// Nil when the folder does not exist (nothing to load, which the manifest check then says).
    init?(folder: URL) throws(LoadError) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            return nil
        }
        descriptor = try FolderLock.acquire(
            folder, type: F_RDLCK, byte: FolderLock.loaderByte,
            refused: { _, reason in
                LoadError(.io, "cannot lock \(folder.appendingPathComponent(ReaderStatus.lockName).path): \(reason)")
            }, otherByte: FolderLock.readerByte,
            conflicting: { reader in
                LoadError(
                    .readerRunning,
                    "\(Tool.mongoReader) (pid \(reader)) is writing \(folder.path): load it once the read has "
                        + "finished, or follow the read with --follow-reader")
            })
    }

    deinit { close(descriptor) }
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
