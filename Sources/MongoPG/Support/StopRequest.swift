import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// SIGTERM and SIGINT as a request to stop at the next safe point (a batch boundary) instead of dying mid-way: a
/// second signal while the first is pending ends the process at once, as an impatient operator expects.
public final class StopRequest: Sendable {
    private let signalled = Atomic<Int32>(0)
    /// Kept alive for the life of the process; written once, by `listen`, before any signal can arrive.
    private nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    /// Starts listening; call once, early, from the tool's entry function.
    public static func listen() -> StopRequest {
        let request = StopRequest()
        for number in [SIGTERM, SIGINT] {
            Glibc.signal(number, SIG_IGN)  // the dispatch source receives it instead of the default handler
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [request] in
                if request.signalled.exchange(number, ordering: .relaxed) != 0 { exit(128 + number) }
            }
            source.resume()
            sources.append(source)
        }
        return request
    }

    /// The signal that asked to stop, or nil.
    public var received: Int32? {
        let number = signalled.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }
}
