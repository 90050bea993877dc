import Foundation

/// Where the real servers that `scripts/services start` launched are: read from its env file
/// (`.run/services.env` at the package root, or the file named by `SYNC_ENV_FILE`), then from the process environment.
/// A missing server fails the test with a hint; it never skips.
public struct ServerEnvironment: Sendable {
    public let values: [String: String]

    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let shared = ServerEnvironment()

    private init() {
        var values: [String: String] = [:]
        let path =
            ProcessInfo.processInfo.environment["SYNC_ENV_FILE"]
            ?? ServerEnvironment.packageRoot.appendingPathComponent(".run/services.env").path
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                var line = line.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("export ") { line.removeFirst("export ".count) }
                guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
                var value = String(line[line.index(after: eq)...])
                if value.count >= 2, value.first == "'" || value.first == "\"", value.last == value.first {
                    value = String(value.dropFirst().dropLast())
                }
                values[String(line[..<eq])] = value
            }
        }
        for (key, value) in ProcessInfo.processInfo.environment where values[key] == nil { values[key] = value }
        self.values = values
    }

    public struct Missing: Error, CustomStringConvertible {
        public let key: String
        public var description: String {
            "\(key) is not set: run `scripts/services start` first (it writes .run/services.env), or use scripts/test"
        }
    }

    public func require(_ key: String) throws -> String {
        guard let value = values[key], !value.isEmpty else { throw Missing(key: key) }
        return value
    }

    /// `mongodb://127.0.0.1:PORT/?directConnection=true` of the SecantusDB server.
    public func mongoURI() throws -> String { try require("MONGO_URI") }
    /// A libpq URI for the throwaway cluster, without the password (that comes from PGPASSWORD).
    public func postgresURI() throws -> String { try require("PG_URI") }
    /// A libpq URI for the Citus coordinator that `scripts/services start --citus` launched, without the password.
    public func citusURI() throws -> String {
        guard let value = values["CITUS_PG_URI"], !value.isEmpty else { throw MissingCitus() }
        return value
    }

    public struct MissingCitus: Error, CustomStringConvertible {
        public var description: String {
            "CITUS_PG_URI is not set: run `scripts/services start --citus` first (it builds Citus once if needed and "
                + "writes .run/services.env), or use scripts/test"
        }
    }
}
