/// The sync's own state in PostgreSQL is not what this tool can work with.
public struct StateError: ToolError {
    public enum Kind: Sendable, Equatable {
        /// The state schema was migrated by a newer release of the toolkit.
        case newerVersion
        /// A record the command needs is missing or in the wrong state (finish without start, ...).
        case noRecord
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
        }
    }
}
