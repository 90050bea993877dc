import MongoPG
import Testing

@Suite("Exit statuses and the table that ends every --help (pure)")
struct ExitStatusTests {
    @Test("the codes are DESIGN.md's, in its order")
    func codes() {
        #expect(ExitStatus.allCases.map(\.rawValue) == [0, 1, 3, 64, 65, 69, 70, 74, 75, 78])
    }

    @Test("the help text lists every case, once, as its code padded to four columns and its meaning")
    func helpText() {
        let lines = ExitStatus.helpText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "EXIT STATUS:")
        #expect(lines.count == ExitStatus.allCases.count + 1)
        for (line, status) in zip(lines.dropFirst(), ExitStatus.allCases) {
            let code = String(status.rawValue)
            #expect(line == "  " + code + String(repeating: " ", count: 4 - code.count) + status.meaning)
            #expect(!status.meaning.isEmpty)
        }
        #expect(Set(ExitStatus.allCases.map(\.meaning)).count == ExitStatus.allCases.count, "meanings tell cases apart")
    }

    struct NotATool: Error {}

    @Test("an error names its exit status; one that is no ToolError is a bug (70)")
    func errorStatus() {
        let errors: [any Error] = [GeneralError(.locked, "held"), GeneralError(.usage, "bad flag"), NotATool()]
        #expect(errors.map(\.exitStatus) == [.locked, .usage, .internalError])
    }
}
