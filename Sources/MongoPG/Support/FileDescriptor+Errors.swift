import SystemPackage

/// The toolkit's file loops (dump files, CSV parts, COPY input) use swift-system's `FileDescriptor`, which retries
/// calls that a signal interrupted (EINTR) itself. These turn the `Errno` it throws into each caller's typed error.
extension FileDescriptor {
    /// Opens `path`, always close-on-exec, so no child process inherits it.
    static func open<Failure: Error>(
        _ path: String, _ mode: AccessMode, options: OpenOptions = [], permissions: FilePermissions? = nil,
        else failure: (Errno) -> Failure
    ) throws(Failure) -> FileDescriptor {
        let options = options.union(.closeOnExec)
        return try errors({ try open(FilePath(path), mode, options: options, permissions: permissions) }, failure)
    }

    /// Reads up to `buffer.count` bytes at the file position; 0 at the end of the file.
    func read<Failure: Error>(into buffer: UnsafeMutableRawBufferPointer, else failure: (Errno) -> Failure)
        throws(Failure) -> Int
    {
        try errors({ try read(into: buffer) }, failure)
    }

    /// Reads up to `buffer.count - start` bytes into `buffer[start...]`; 0 at the end of the file.
    func read<Failure: Error>(into buffer: inout [UInt8], from start: Int = 0, else failure: (Errno) -> Failure)
        throws(Failure) -> Int
    {
        // withUnsafeMutableBytes rethrows untyped: carry the typed error out in a Result.
        try buffer.withUnsafeMutableBytes { raw in
            Swift.Result { () throws(Failure) in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]), else: failure)
            }
        }.get()
    }

    /// Writes every byte of `bytes`, however many calls it takes.
    func writeAll<Failure: Error>(_ bytes: [UInt8], else failure: (Errno) -> Failure) throws(Failure) {
        _ = try errors({ try writeAll(bytes) }, failure)
    }

    /// Closes, ignoring the outcome: after reading, or on a path that already failed, close(2) has nothing to add.
    func closeIgnoringErrors() { try? close() }
}

/// `body`'s result, or `failure` of the `Errno` it threw (swift-system throws nothing else).
private func errors<Value, Failure: Error>(_ body: () throws -> Value, _ failure: (Errno) -> Failure)
    throws(Failure) -> Value
{
    do {
        return try body()
    } catch let errno as Errno {
        throw failure(errno)
    } catch {
        throw failure(.ioError)
    }
}
