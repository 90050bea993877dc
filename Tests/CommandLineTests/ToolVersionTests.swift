import MongoPG
import TestSupport
import Testing

@Suite("--version")
struct ToolVersionTests {
    @Test("every binary prints the toolkit's version for --version and exits 0", arguments: Tool.allCases)
    func version(tool: Tool) async throws {
        let outcome = try await Binaries.run(tool.rawValue, ["--version"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == ToolVersion.current + "\n")
        #expect(outcome.stderr.isEmpty)
    }
}
