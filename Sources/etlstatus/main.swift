import MongoPG

/// `etlstatus`: its command line is `ETLStatusCLI`'s.
@main
enum ETLStatus {
    static func main() async { await ETLStatusCLI.main() }
}
