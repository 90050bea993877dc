import MongoPG

/// `psql-copy`: its command line is `PsqlCopyCLI`'s.
@main
enum PsqlCopy {
    static func main() async { await PsqlCopyCLI.main() }
}
