/// An `etlstatus` answer that cannot be given or delivered.
public struct StatusError: ToolError {
    public enum Kind: Sendable, Equatable {
        /// `metrics --textfile`: the file cannot be written or moved into place.
        case textfile
        /// `runs --last-successful`: the tool has no successful run.
        case noSuccessfulRun
    }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public var exitStatus: ExitStatus {
        switch kind {
        case .textfile: .ioError
        case .noSuccessfulRun: .initLoadNeeded  // issue 12: "exit 1 if none"
        }
    }
}
