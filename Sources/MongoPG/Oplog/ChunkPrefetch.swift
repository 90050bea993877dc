/// A cursor's documents read as fast as the server gives them, into memory of at most `budget` bytes not yet taken:
/// a plain reader's pace. Reading one chunk ahead of the replay (`ChunkReadAhead` alone) left the server idle while a
/// batch was applied, and put the check after a range's last read (`ServerOplogSource`) at the replay's end, where
/// the run waited for it. One task reads, chunk after chunk; `take` gives the documents in order. A document larger
/// than what is left of the budget is still read when `take` waits for it, so the budget never stops the reading.
actor ChunkPrefetch {
    /// Reads up to the given number of documents; fewer only at the cursor's end.
    typealias Read = @Sendable (Int) async throws -> [RawDocument]

    private let budget: Int
    /// Documents read and not taken: those from `head` on.
    private var ready: [RawDocument] = []
    private var head = 0
    private var bytes = 0
    /// The cursor gave its last document, or failed (`failure`).
    private var ended = false
    private var failure: (any Error)?
    /// The last document the cursor gave.
    private var last: RawDocument?
    private var stopped = false
    private var waitingTaker: CheckedContinuation<Void, Never>?
    private var waitingReader: CheckedContinuation<Void, Never>?

    private init(budget: Int) { self.budget = budget }

    /// Starts reading `chunk` documents a call.
    static func reading(chunk: Int, budget: Int, _ read: @escaping Read) -> ChunkPrefetch {
        let prefetch = ChunkPrefetch(budget: budget)
        Task { await prefetch.fill(chunk: max(1, chunk), read: read) }
        return prefetch
    }

    private func fill(chunk: Int, read: Read) async {
        while !stopped {
            if bytes >= budget, waitingTaker == nil {
                await withCheckedContinuation { waitingReader = $0 }
                continue
            }
            do {
                let documents = try await read(chunk)
                ready += documents
                bytes += documents.reduce(0) { $0 + $1.bytes.count }
                if let newest = documents.last { last = newest }
                ended = documents.count < chunk
            } catch {
                failure = error
                ended = true
            }
            wake(&waitingTaker)
            if ended { return }
        }
    }

    /// Up to `maximum` documents, in order; fewer only at the cursor's end. A failure reading is thrown once the
    /// documents read before it are taken, never as a short answer (which would end the range early).
    func take(_ maximum: Int) async throws -> [RawDocument] {
        while ready.count - head < maximum, !ended {
            wake(&waitingReader)  // a reader stopped by the budget reads on for a taker that waits
            await withCheckedContinuation { waitingTaker = $0 }
        }
        if ready.count - head < maximum, let failure { throw failure }
        let end = min(head + maximum, ready.count)
        let documents = Array(ready[head..<end])
        head = end
        bytes -= documents.reduce(0) { $0 + $1.bytes.count }
        if head > 4096, head * 2 > ready.count {
            ready.removeFirst(head)
            head = 0
        }
        wake(&waitingReader)
        return documents
    }

    /// The last document of the cursor once it has given them all (nil while reading, or after a failure).
    var drainedLast: RawDocument? { ended && failure == nil ? last : nil }

    /// Reads no more (the range is abandoned).
    func stop() {
        stopped = true
        wake(&waitingReader)
    }

    private func wake(_ waiting: inout CheckedContinuation<Void, Never>?) {
        waiting?.resume()
        waiting = nil
    }
}
