import Foundation

/// Lets the command-line tests stop a tool at a named point to kill it there (SIGKILL) without timing races: with
/// `MONGO_PG_SYNC_HOLD_AT=<point>` in its environment, the tool prints `holding at <point>` on stderr and waits
/// until killed. Without the variable it costs one environment lookup.
enum TestHooks {
    static let holdPoint = ProcessInfo.processInfo.environment["MONGO_PG_SYNC_HOLD_AT"]
    /// `MONGO_PG_SYNC_NO_FILL=1`: a schema change converges where it would write only its new places
    /// (`AdditionFill`), so that tests and the benchmark compare both ways on one state.
    static let noFill = ProcessInfo.processInfo.environment["MONGO_PG_SYNC_NO_FILL"] == "1"
    /// `MONGO_PG_SYNC_DIGEST_LIMIT`: the documents a convergence's digests may hold (`DigestMerge.limit`), so that a
    /// test of a small collection reaches the sorted merge beyond the bound.
    static let digestLimit = ProcessInfo.processInfo.environment["MONGO_PG_SYNC_DIGEST_LIMIT"].flatMap { Int($0) }

    /// Throws `CancellationError` once the task is cancelled (a signal stopping the tool), so a held tool can still
    /// show how it stops.
    static func hold(at point: String) async throws {
        guard holdPoint == point else { return }
        FileHandle.standardError.write(Data("holding at \(point)\n".utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    /// At `point`, waits until `done` answers true (polled) or the task is cancelled: for a test that signals the
    /// tool, or changes its input, at a known moment.
    static func pause(at point: String, until done: () -> Bool) async {
        guard holdPoint == point else { return }
        FileHandle.standardError.write(Data("holding at \(point)\n".utf8))
        while !done(), !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
    }

    /// At `point`, waits until the file that `MONGO_PG_SYNC_RESUME_FILE` names exists: the test does its harm there
    /// (kills the tool's PostgreSQL connection, restarts MongoDB), then creates the file to let the tool go on.
    static func pauseUntilResumed(at point: String) async {
        guard holdPoint == point else { return }
        let file = ProcessInfo.processInfo.environment["MONGO_PG_SYNC_RESUME_FILE"]
        await pause(at: point) { file.map { FileManager.default.fileExists(atPath: $0) } ?? false }
    }
}
