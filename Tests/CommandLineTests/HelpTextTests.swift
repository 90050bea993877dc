import ArgumentParser
import Foundation
import MongoPG
import TestSupport
import Testing

/// Golden help texts: each tool's `--help`, and each etlstatus subcommand's, rendered in-process at 100 columns (as
/// swift-argument-parser's own tests render them) and compared with `Tests/TestSupport/Fixtures/help/<tool>.txt` and
/// `<tool>-<subcommand>.txt`, so that a change of a help text shows in review as a diff of those files. After a
/// deliberate change, `UPDATE_GOLDEN=1 swift test --filter HelpText` rewrites the files; review and commit them.
@Suite("Help texts against their golden files")
struct HelpTextTests {
    static let columns = 100
    static let updating = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"

    static var etlstatusSubcommands: [String] { ETLStatusCLI.configuration.subcommands.map { $0._commandName } }

    /// Compares `text` with the golden file `name`.txt, or (UPDATE_GOLDEN=1) writes it there.
    static func expectGolden(_ text: String, named name: String) throws {
        let file = Fixtures.url("help/\(name).txt")
        if updating {
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        let golden = try String(contentsOf: file, encoding: .utf8)
        let update = "UPDATE_GOLDEN=1 swift test --filter HelpText"
        #expect(text == golden, "\(name)'s help differs from \(file.path); if the change is meant, \(update)")
    }

    @Test("each tool's --help is its golden file", arguments: Tool.allCases)
    func toolHelp(tool: Tool) throws {
        try Self.expectGolden(tool.commandLine.helpMessage(columns: Self.columns), named: tool.rawValue)
    }

    @Test("each etlstatus subcommand's help is its golden file", arguments: etlstatusSubcommands)
    func etlstatusSubcommandHelp(name: String) throws {
        let subcommand = try #require(ETLStatusCLI.configuration.subcommands.first { $0._commandName == name })
        try Self.expectGolden(
            ETLStatusCLI.helpMessage(for: subcommand, columns: Self.columns), named: "\(Tool.etlstatus)-\(name)")
    }

    @Test(
        "the golden files are those of the commands there are: none left behind by a removed one",
        .enabled(if: !updating))
    func goldenFilesMatchCommands() throws {
        let expected = (Tool.allCases.map(\.rawValue) + Self.etlstatusSubcommands.map { "\(Tool.etlstatus)-\($0)" })
            .map { "\($0).txt" }
        let present = try FileManager.default.contentsOfDirectory(atPath: Fixtures.url("help").path)
        #expect(Set(present) == Set(expected))
    }

    @Test("psql-copy --help through the binary prints the text rendered in-process")
    func binaryPrintsTheSameHelp() async throws {
        let outcome = try await Binaries.run("psql-copy", ["--help"], environment: ["COLUMNS": "\(Self.columns)"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == PsqlCopyCLI.helpMessage(columns: Self.columns) + "\n")
    }
}
