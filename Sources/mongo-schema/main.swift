import MongoPG

/// `mongo-schema`: its command line is `MongoSchemaCLI`'s.
@main
enum MongoSchema {
    static func main() async { await MongoSchemaCLI.main() }
}
