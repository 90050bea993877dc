import Foundation
import Synchronization

/// Progress of a long read on a terminal: documents (or oplog entries), rate and time left, redrawn at most twice a second on stderr.
/// Silent when stderr is not a terminal (the tool then prints one summary line at the end).
public final class Progress: Sendable {
    private struct State {
        var documents = 0
        var expected: Int? = nil
        var lastDrawn: ContinuousClock.Instant
        var drew = false
    }
    private let state: Mutex<State>
    private let label: String
    private let unit: String
    private let started = ContinuousClock.now

    /// Nil when stderr is not a terminal.
    public static func onTerminal(label: String, unit: String = "docs") -> Progress? {
        isatty(STDERR_FILENO) == 1 ? Progress(label: label, unit: unit) : nil
    }

    init(label: String, unit: String = "docs") {
        self.label = label
        self.unit = unit
        state = Mutex(State(lastDrawn: ContinuousClock.now))
    }

    public func expect(_ documents: Int) { state.withLock { $0.expected = documents } }

    public func add(_ documents: Int) {
        let line: String? = state.withLock { state in
            state.documents += documents
            let now = ContinuousClock.now
            guard now - state.lastDrawn >= .milliseconds(500) else { return nil }
            state.lastDrawn = now
            state.drew = true
            return render(state, now: now)
        }
        if let line { FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8)) }
    }

    public func finish() {
        let drew = state.withLock { $0.drew }
        if drew { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func render(_ state: State, now: ContinuousClock.Instant) -> String {
        let seconds = max((now - started).seconds, 0.001)
        let rate = Double(state.documents) / seconds
        var line = "\(label): \(state.documents) \(unit), \(Int(rate)) \(unit)/s"
        if let expected = state.expected, expected > state.documents, rate > 0 {
            line += ", ETA \(Int(Double(expected - state.documents) / rate)) s"
        }
        return line
    }
}
