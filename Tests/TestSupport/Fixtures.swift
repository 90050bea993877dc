import Foundation

/// Test data shipped with the tests (copies of ../shared/data and hand-made files).
public enum Fixtures {
    /// The folder holding the fixtures, straight from the source tree so binaries and tests read the same files.
    public static let directory: URL = ServerEnvironment.packageRoot.appendingPathComponent(
        "Tests/TestSupport/Fixtures")

    public static func url(_ relativePath: String) -> URL { directory.appendingPathComponent(relativePath) }

    /// The lines of an Extended JSON fixture, one document each.
    public static func extendedJSONLines(_ relativePath: String) throws -> [String] {
        try String(contentsOf: url(relativePath), encoding: .utf8).split(separator: "\n").map(String.init)
    }
}
