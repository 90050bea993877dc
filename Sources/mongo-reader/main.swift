import MongoPG

/// `mongo-reader`: its command line is `MongoReaderCLI`'s.
@main
enum MongoReader {
    static func main() async { await MongoReaderCLI.main() }
}
