import Testing

@testable import MongoPG

/// The merge of tailed sources by ts (`oplog-sync --follow` over the shards of a cluster), with scripted sources: each
/// read answers the next scripted chunk, and the safe position asked just before it.
@Suite("Tailed oplog sources merged by ts while they keep coming")
struct FollowedOplogSourcesTests {
    /// One read of a scripted source: what `safePosition` answers before it, and the entries it gives (by ts seconds).
    struct Read {
        var safe: UInt32
        var entries: [UInt32]
    }

    final class Script: @unchecked Sendable {
        var reads: [Read]
        var safeAsked = 0
        init(_ reads: [Read]) { self.reads = reads }
    }

    struct ScriptedSource: TailedOplogSource {
        let name: String
        let script: Script

        func safePosition() async throws -> BSONTimestamp {
            script.safeAsked += 1
            return BSONTimestamp(seconds: script.reads.first?.safe ?? 0, increment: 0)
        }

        func confirmReads(force: Bool) async throws -> Bool { true }

        mutating func next(maximum: Int) async throws -> [BSONDocument] {
            guard !script.reads.isEmpty else { return [] }
            return script.reads.removeFirst().entries.map {
                [
                    "ts": .timestamp(BSONTimestamp(seconds: $0, increment: 1)), "op": .string("n"),
                    "source": .string(name),
                ]
            }
        }
    }

    /// Every entry the stream gives until it answers nil `idleRounds` times in a row, as (source, ts seconds).
    static func drain(_ sources: [ScriptedSource], idleRounds: Int = 3) async throws -> [(String, UInt32)] {
        var stream = FollowedOplogSources(sources, chunk: 100)
        var out: [(String, UInt32)] = []
        var idle = 0
        while idle < idleRounds {
            guard let (index, document) = try await stream.next() else {
                idle += 1
                continue
            }
            idle = 0
            guard case .timestamp(let ts)? = document["ts"] else { continue }
            out.append((sources[index].name, ts.seconds))
        }
        return out
    }

    @Test(
        "an entry waits until every other source has shown it has nothing earlier: B's late entry 15 goes before A's 20"
    )
    func waitsForTheOtherSources() async throws {
        let a = ScriptedSource(name: "a", script: Script([Read(safe: 20, entries: [10, 20])]))
        // B's first two reads are empty and its safe position 5 does not cover 10; its third read brings 15.
        let b = ScriptedSource(
            name: "b",
            script: Script([
                Read(safe: 5, entries: []), Read(safe: 5, entries: []), Read(safe: 16, entries: [15]),
                Read(safe: 30, entries: []),
            ]))
        let merged = try await Self.drain([a, b])
        #expect(merged.map(\.1) == [10, 15, 20])
        #expect(merged.map(\.0) == ["a", "b", "a"])
    }

    @Test(
        "a quiet source's safe position lets the busy one's entries through; short of it, they wait (nil: nothing yet)")
    func watermarkOfAQuietSource() async throws {
        let a = ScriptedSource(name: "a", script: Script([Read(safe: 40, entries: [30, 40])]))
        // B stays quiet; its safe position stays at 35 for three reads, then reaches 50.
        let b = ScriptedSource(
            name: "b",
            script: Script([
                Read(safe: 35, entries: []), Read(safe: 35, entries: []), Read(safe: 35, entries: []),
                Read(safe: 50, entries: []),
            ]))
        var stream = FollowedOplogSources([a, b], chunk: 100)
        var seen: [UInt32?] = []
        for _ in 0..<4 {
            let next = try await stream.next()
            if case .timestamp(let ts)? = next?.document["ts"] { seen.append(ts.seconds) } else { seen.append(nil) }
        }
        // 30 goes out under B's first watermark (35); 40 waits while B answers 35 (nil: nothing yet), then B's
        // watermark 50 lets it through.
        #expect(seen == [30, nil, 40, nil])
    }

    @Test("one source passes through without asking for its safe position; interleaved shards come out in ts order")
    func passThroughAndInterleaving() async throws {
        let single = Script([Read(safe: 0, entries: [3, 1, 2])])
        let alone = try await Self.drain([ScriptedSource(name: "rs0", script: single)])
        #expect(alone.map(\.1) == [3, 1, 2], "one source's order is its own")
        #expect(single.safeAsked == 0)

        let a = ScriptedSource(
            name: "a",
            script: Script([
                Read(safe: 4, entries: [1, 4]), Read(safe: 9, entries: [6, 9]), Read(safe: 99, entries: []),
            ]))
        let b = ScriptedSource(
            name: "b",
            script: Script([
                Read(safe: 3, entries: [2, 3]), Read(safe: 8, entries: [5, 8]), Read(safe: 99, entries: []),
            ]))
        let merged = try await Self.drain([a, b])
        #expect(merged.map(\.1) == [1, 2, 3, 4, 5, 6, 8, 9])
    }
}
