import Dispatch

/// A serial executor backed by a dispatch queue of its own. libpq and libmongoc calls block, and Swift's
/// cooperative pool has one thread per core (two here), so every session actor that owns a C handle runs on one.
public final class BlockingSerialExecutor: SerialExecutor {
    private let queue: DispatchQueue

    public init(label: String) { queue = DispatchQueue(label: label) }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }
}
