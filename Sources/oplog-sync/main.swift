import MongoPG

/// `oplog-sync`: its command line is `OplogSyncCLI`'s.
@main
enum OplogSync {
    static func main() async { await OplogSyncCLI.main() }
}
