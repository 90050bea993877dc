import CLibPQ
import Foundation

/// The `PGcancel` of a session's current connection. libpq: "PQcancel can safely be invoked from a signal handler"
/// and from other threads, so unlike `PGConnection` this is usable from anywhere; the lock keeps a cancel request
/// from racing the session replacing or freeing the object.
final class PGCancel: @unchecked Sendable {  // `raw` is only touched under `lock`
    private let lock = NSLock()
    private var raw: OpaquePointer?

    /// Adopts `PQgetCancel` of `connection`'s handle (call on the session); nil clears it.
    func replace(with raw: OpaquePointer?) {
        lock.withLock {
            if let old = self.raw { PQfreeCancel(old) }
            self.raw = raw
        }
    }

    /// Asks the server to stop whatever the connection runs now; false when there is no connection or the request
    /// could not be sent. A statement that has not started yet is not affected.
    func cancel() -> Bool {
        lock.withLock {
            guard let raw else { return false }
            var buffer = [CChar](repeating: 0, count: 256)
            return PQcancel(raw, &buffer, Int32(buffer.count)) == 1
        }
    }

    deinit { if let raw { PQfreeCancel(raw) } }
}
