/// What a tool whose issue has not landed yet answers: an error, never a silent success.
public func notImplemented(_ tool: String, issue: String) -> GeneralError {
    GeneralError(.internalError, "\(tool) is not implemented yet (\(issue)); nothing was read or written")
}
