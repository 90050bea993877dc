/// The sync's own state in PostgreSQL is not what this tool can work with.
public struct StateError: ToolError {
    public enum Kind: Sendable, Equatable {
        /// The state schema was migrated by a newer release of the toolkit.
        case newerVersion
        /// A record the command needs is missing or in the wrong state (finish without start, ...).
        case noRecord
        /// The command needs an init load to be running (a partitioned read) and none is.
        case noRunningInitLoad
        /// `init-load-start` while the running init load still has a tool at work (without `--force`).
        case initLoadRunning
        /// PostgreSQL answered a state statement with something this release cannot read (a bug, or a schema edited
        /// by hand).
        case unexpectedAnswer
        /// State that no run of the tools writes (a sync point later than its source's newest position, a resume
        /// token that is not BSON): edited by hand or restored wrong. The message names it and the way back.
        case damagedState
        /// A figure for the run ledger that JSON cannot hold (NaN, infinity): a bug in the tool that measured it.
        case badFigure
    }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "state: \(message)" }

    public var exitStatus: ExitStatus {
        switch kind {
        case .newerVersion: .configError
        case .noRecord: .initLoadNeeded
        case .noRunningInitLoad: .usage
        case .initLoadRunning: .locked
        case .damagedState: .dataError
        case .unexpectedAnswer, .badFigure: .internalError
        }
    }
}
