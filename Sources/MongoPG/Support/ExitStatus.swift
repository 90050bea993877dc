/// The exit codes of every tool (DESIGN.md, "Exit codes"). `etlstatus check` alone speaks monitoring's 0/1/2/3.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    case ok = 0, initLoadNeeded = 1, divergent = 3, usage = 64, dataError = 65, unavailable = 69
    case internalError = 70, ioError = 74, locked = 75, configError = 78  // 70: a bug, never an outcome

    public var meaning: String {
        switch self {
        case .ok: "done, in sync"
        case .initLoadNeeded:
            "init load needed: never done, failed, schema changed, or the oplog no longer reaches back"
        case .divergent: "verification found divergence that repair could not fix"
        case .usage: "wrong command line"
        case .dataError: "bad input data that the chosen policy does not absorb"
        case .unavailable: "MongoDB or PostgreSQL unreachable or refused"
        case .internalError: "internal error (a bug: never an expected outcome)"
        case .ioError: "file I/O error"
        case .locked: "another run holds the lock, or a signal stopped the run before it changed anything; try later"
        case .configError: "configuration error"
        }
    }

    /// The table that ends every tool's `--help`.
    public static var helpText: String {
        "EXIT STATUS:\n"
            + allCases.map { "  \(String($0.rawValue).padding(toLength: 4, withPad: " ", startingAt: 0))\($0.meaning)" }
            .joined(separator: "\n")
    }
}
