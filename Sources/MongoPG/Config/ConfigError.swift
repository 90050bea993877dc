/// A configuration file that cannot be used: unreadable, malformed, or holding a setting the tools do not accept.
/// The description names the file, the line and the key; it never holds a value that may be secret (URIs, conninfo,
/// passwords), only what the operator needs to find the line.
public struct ConfigError: ToolError {
    public enum Kind: Sendable, Equatable {
        case unreadable  // the file cannot be read
        case syntax  // a line that is neither a section, a `key = value`, a comment nor (in [collections]) a namespace
        case duplicateSection, duplicateKey
        case unknownSection, unknownKey
        case missingSection, missingKey
        case badValue
        case missingPassword  // `password_env` names a variable that is not set
    }

    public var kind: Kind
    public var path: String
    /// 1-based line of the offending text; nil when no line is at fault (a missing section, an unreadable file).
    public var line: Int?
    /// The section and key at fault, when there is one (`psql`, `password_env`).
    public var section: String?
    public var key: String?
    /// Why, in words; never the value of a secret.
    public var message: String

    public init(
        _ kind: Kind, path: String, line: Int? = nil, section: String? = nil, key: String? = nil, _ message: String
    ) {
        self.kind = kind
        self.path = path
        self.line = line
        self.section = section
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = path + (line.map { ":\($0)" } ?? "")
        let setting: String
        switch (section, key) {
        case (let section?, let key?): setting = " [\(section)] \(key):"
        case (let section?, nil): setting = " [\(section)]:"
        case (nil, let key?): setting = " \(key):"
        case (nil, nil): setting = ""
        }
        return "configuration \(place):\(setting) \(message)"
    }

    public var exitStatus: ExitStatus { .configError }
}
