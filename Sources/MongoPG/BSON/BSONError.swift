/// A BSON document or Extended JSON text that cannot be read, with where it went wrong.
public struct BSONError: ToolError, Equatable {
    public enum Kind: Sendable, Equatable {
        case truncated, badLength, badType, badUTF8, badValue, tooDeep, extendedJSON, io
    }
    public var kind: Kind
    public var message: String
    /// Byte offset inside the document (or inside the file, for a dump), when known.
    public var offset: Int? = nil
    /// 1-based line of an Extended JSON file, when reading one.
    public var line: Int? = nil
    /// The file being read, when reading one.
    public var file: String? = nil

    public init(_ kind: Kind, _ message: String, offset: Int? = nil, line: Int? = nil, file: String? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
        self.line = line
        self.file = file
    }

    public var description: String {
        var place: [String] = []
        if let file { place.append(file) }
        if let line { place.append("line \(line)") }
        if let offset { place.append("byte offset \(offset)") }
        return "BSON: \(message)" + (place.isEmpty ? "" : " (\(place.joined(separator: ", ")))")
    }

    public var exitStatus: ExitStatus { kind == .io ? .ioError : .dataError }
}
