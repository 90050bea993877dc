import MongoPG

/// `etlstatus`: init-load bookkeeping and monitoring; the subcommands are `ETLStatusCLI`'s.
@main
enum ETLStatus {
    static func main() async { await ETLStatusCLI.main(arguments: Array(CommandLine.arguments.dropFirst())) }
}
