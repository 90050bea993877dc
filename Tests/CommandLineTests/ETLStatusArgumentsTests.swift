import MongoPG
import Testing

@Suite("etlstatus's global options before or after the subcommand (pure)")
struct ETLStatusArgumentsTests {
    @Test(
        "global options before the subcommand move right after its name; the rest keeps its order",
        arguments: [
            (["--config", "F", "init-load-status"], ["init-load-status", "--config", "F"]),
            (["--config=F", "--json", "lag"], ["lag", "--config=F", "--json"]),
            (
                ["--log-level", "debug", "--config", "F", "init-load-finish", "ok", "--json"],
                ["init-load-finish", "--log-level", "debug", "--config", "F", "ok", "--json"]
            ),
            (["--json", "check", "--warn-lag", "5m"], ["check", "--json", "--warn-lag", "5m"]),
        ])
    func moved(arguments: [String], expected: [String]) {
        #expect(ETLStatusArguments.normalised(arguments) == expected)
    }

    @Test(
        "nothing moves when no global option comes first, or when what follows is no subcommand",
        arguments: [
            ["init-load-status", "--config", "F"], ["--help"], ["--config", "F", "--help"], ["--config"], [],
            ["--config", "F"], ["--version", "lag"],
        ])
    func unchanged(arguments: [String]) {
        #expect(ETLStatusArguments.normalised(arguments) == arguments)
    }

    @Test(
        "an unknown subcommand is named before any option it is given",
        arguments: [
            (["frobnicate", "--config", "x.ini"], "frobnicate"),
            (ETLStatusArguments.normalised(["--config", "x.ini", "frobnicate"]), "frobnicate"),
            (["lag", "--config", "x.ini"], nil), (["help", "lag"], nil), (["--help"], nil), (["--version"], nil),
            ([], nil),
        ] as [([String], String?)])
    func unknownSubcommand(arguments: [String], unknown: String?) {
        #expect(ETLStatusArguments.unknownSubcommand(in: arguments, known: ["lag", "check", "help"]) == unknown)
    }
}
