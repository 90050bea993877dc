import Synchronization
import Testing

@testable import MongoPG

/// `ChunkPrefetch` over a scripted cursor: order, its budget, the end and a failure; no server.
@Suite("Reading a cursor ahead within a budget")
struct ChunkPrefetchTests {
    struct CursorFailed: Error {}

    /// A cursor of `count` one-byte-body documents numbered from 0, given `chunk` a call; it fails instead of giving
    /// the chunk that starts at `failingAt`. Counts the documents it gave.
    final class ScriptedCursor: Sendable {
        let count: Int
        let failingAt: Int?
        private let given = Mutex(0)

        init(count: Int, failingAt: Int? = nil) {
            self.count = count
            self.failingAt = failingAt
        }

        var documentsGiven: Int { given.withLock { $0 } }

        func read(_ maximum: Int) throws -> [RawDocument] {
            try given.withLock { position in
                if position == failingAt { throw CursorFailed() }
                let end = min(position + maximum, count)
                defer { position = end }
                return (position..<end).map { RawDocument(bytes: [UInt8(truncatingIfNeeded: $0)]) }
            }
        }
    }

    static func numbers(_ documents: [RawDocument]) -> [Int] { documents.map { Int($0.bytes[0]) } }

    @Test("documents come in the cursor's order whatever the sizes taken; the last one is known once all are read")
    func order() async throws {
        let cursor = ScriptedCursor(count: 25)
        let prefetch = ChunkPrefetch.reading(chunk: 10, budget: 1 << 20) { try cursor.read($0) }
        var taken: [Int] = []
        for size in [3, 10, 7, 10] { taken += Self.numbers(try await prefetch.take(size)) }
        #expect(taken == Array(0..<25))
        #expect(await prefetch.drainedLast.map { Int($0.bytes[0]) } == 24)
        #expect(try await prefetch.take(10).isEmpty)
    }

    @Test("reading stops at the budget until documents are taken, and never stops a take that waits for more")
    func budget() async throws {
        let cursor = ScriptedCursor(count: 100)
        let prefetch = ChunkPrefetch.reading(chunk: 5, budget: 12) { try cursor.read($0) }
        #expect(Self.numbers(try await prefetch.take(1)) == [0])
        // One byte a document: reading stops once 12 or more are waiting (15 read, one taken: 14).
        for _ in 0..<50 where cursor.documentsGiven < 15 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(cursor.documentsGiven == 15)
        #expect(await prefetch.drainedLast == nil)
        // A take larger than the budget is answered in full.
        #expect(Self.numbers(try await prefetch.take(40)) == Array(1..<41))
        var rest: [Int] = []
        while true {
            let chunk = try await prefetch.take(30)
            rest += Self.numbers(chunk)
            if chunk.count < 30 { break }
        }
        #expect(rest == Array(41..<100))
    }

    @Test("a failure reading comes after the documents read before it, never as a short answer that ends the range")
    func failure() async throws {
        let cursor = ScriptedCursor(count: 100, failingAt: 20)
        let prefetch = ChunkPrefetch.reading(chunk: 10, budget: 1 << 20) { try cursor.read($0) }
        #expect(Self.numbers(try await prefetch.take(15)) == Array(0..<15))
        await #expect(throws: CursorFailed.self) { try await prefetch.take(10) }
        #expect(await prefetch.drainedLast == nil)
    }
}
