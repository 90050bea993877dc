import Foundation
import Testing

@testable import MongoPG

@Suite("Read-ahead between a session's thread and the flattening task")
struct ReadAheadQueueTests {
    static func batch(_ marker: UInt8) -> [RawDocument] { [RawDocument(bytes: [marker])] }

    /// Pushes from a thread of its own, as a `MongoSession` does; answers what each push returned.
    static func pushing(_ markers: [UInt8], into queue: ReadAheadQueue) -> Task<[Bool], Never> {
        Task.detached {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(returning: markers.map { queue.push(batch($0)) })
                }
            }
        }
    }

    @Test("every batch reaches the consumer once, in the order read, then nil once the reader ended")
    func order() async {
        let queue = ReadAheadQueue(capacity: 2)
        let markers: [UInt8] = Array(0..<50)
        let pushes = Self.pushing(markers, into: queue)
        var received: [UInt8] = []
        for _ in markers { received.append(contentsOf: (await queue.next() ?? []).flatMap(\.bytes)) }
        #expect(await pushes.value == Array(repeating: true, count: markers.count))
        queue.end()
        #expect(received == markers)
        #expect(await queue.next() == nil)
    }

    @Test("a reader blocked on a full queue is released when the consumer ends it, and told to stop")
    func consumerEnds() async {
        let queue = ReadAheadQueue(capacity: 1)
        // The first batch fills the queue (a push with room does not block); the reader's next push waits for room
        // until the queue is ended, and so answers false whether or not it began waiting before the end.
        #expect(queue.push(Self.batch(1)))
        let pushes = Self.pushing([2, 3], into: queue)
        try? await Task.sleep(for: .milliseconds(200))
        queue.end()
        #expect(await pushes.value == [false, false])
        #expect(await queue.next()?.first?.bytes == [1])
    }

    @Test("batches queued before the reader ended are still handed out, then nil")
    func drainAfterEnd() async {
        let queue = ReadAheadQueue(capacity: 3)
        #expect(await Self.pushing([7, 8], into: queue).value == [true, true])
        queue.end()
        #expect(await queue.next()?.first?.bytes == [7])
        #expect(await queue.next()?.first?.bytes == [8])
        #expect(await queue.next() == nil)
    }

    @Test("a consumer waiting for a batch is woken with nil when the reader ends")
    func waitingConsumer() async {
        let queue = ReadAheadQueue(capacity: 2)
        let waiting = Task { await queue.next() }
        try? await Task.sleep(for: .milliseconds(100))
        queue.end()
        #expect(await waiting.value == nil)
    }
}
