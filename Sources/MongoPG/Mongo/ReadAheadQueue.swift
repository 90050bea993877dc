import Dispatch
import Synchronization

/// Batches of a cursor handed from the session's thread, which reads ahead, to the task that flattens them. The
/// session pushes a batch the moment it arrives and goes straight on to the next getMore, so the server always has
/// the next request waiting: no hop between threads sits between one reply and the next request, and a slow flatten
/// never delays it until `capacity` batches wait. `push` blocks its (blocking) thread while the queue is full; either
/// side ends the queue, which wakes the other.
final class ReadAheadQueue: Sendable {
    private struct State {
        var batches: [[RawDocument]] = []
        var consumer: CheckedContinuation<[RawDocument]?, Never>?
        var ended = false
    }
    private let state = Mutex(State())
    private let room: DispatchSemaphore

    init(capacity: Int) { room = DispatchSemaphore(value: max(1, capacity)) }

    /// Queues `batch`, waiting for room first; false once the queue was ended (the batch is then dropped, and the
    /// reader should stop). Blocks the calling thread: only for a thread of its own, such as a `MongoSession`'s.
    func push(_ batch: [RawDocument]) -> Bool {
        room.wait()
        let (accepted, consumer) = state.withLock { state -> (Bool, CheckedContinuation<[RawDocument]?, Never>?) in
            guard !state.ended else { return (false, nil) }
            if let consumer = state.consumer {
                state.consumer = nil
                return (true, consumer)
            }
            state.batches.append(batch)
            return (true, nil)
        }
        // Handed over at once, the batch never took a place in the queue; refused, it passes on the wake-up `end`
        // gave, so that every later push answers false at once too.
        if consumer != nil || !accepted { room.signal() }
        consumer?.resume(returning: batch)
        return accepted
    }

    /// The next batch, waiting for one; nil once the queue is ended and drained.
    func next() async -> [RawDocument]? {
        await withCheckedContinuation { continuation in
            let batch: [RawDocument]?? = state.withLock { state in
                if !state.batches.isEmpty { return .some(state.batches.removeFirst()) }
                if state.ended { return .some(nil) }
                state.consumer = continuation
                return nil
            }
            guard let batch else { return }
            if batch != nil { room.signal() }
            continuation.resume(returning: batch)
        }
    }

    /// No more batches: the reader finished or failed, or the consumer stopped. Wakes a waiting consumer (with nil)
    /// and a reader blocked on a full queue (whose `push` then answers false). Idempotent.
    func end() {
        let (first, consumer) = state.withLock { state -> (Bool, CheckedContinuation<[RawDocument]?, Never>?) in
            let first = !state.ended
            state.ended = true
            defer { state.consumer = nil }
            return (first, state.consumer)
        }
        if first { room.signal() }
        consumer?.resume(returning: nil)
    }
}
