/// Every error a tool can report: says what failed, where and why (never a secret), and which exit status it means.
public protocol ToolError: Error, CustomStringConvertible, Sendable {
    var exitStatus: ExitStatus { get }
}

/// A failure that is not tied to one concern: a wrong command line, a file that cannot be read, a bug.
public struct GeneralError: ToolError {
    public var exitStatus: ExitStatus
    public var description: String
    public init(_ exitStatus: ExitStatus, _ description: String) {
        self.exitStatus = exitStatus
        self.description = description
    }
}

extension Error {
    /// The exit status this error maps to; anything that is not a `ToolError` is a bug.
    public var exitStatus: ExitStatus { (self as? any ToolError)?.exitStatus ?? .internalError }
}
