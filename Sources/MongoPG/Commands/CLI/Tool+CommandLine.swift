import ArgumentParser

extension Tool {
    /// The tool's root command: what its binary's `@main` runs, and what renders its help in-process.
    public var commandLine: any AsyncParsableCommand.Type {
        switch self {
        case .mongoReader: MongoReaderCLI.self
        case .psqlCopy: PsqlCopyCLI.self
        case .etlstatus: ETLStatusCLI.self
        case .oplogSync: OplogSyncCLI.self
        case .mongoSchema: MongoSchemaCLI.self
        }
    }
}
