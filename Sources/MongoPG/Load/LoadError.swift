/// A failure of the init load's own files and checks (mongo-reader, psql-copy).
public struct LoadError: ToolError {
    public enum Kind: Sendable, Equatable {
        /// The folder has no finished manifest: mongo-reader never finished there.
        case missingManifest
        /// The manifest cannot be read or does not belong to this collection.
        case badManifest
        /// A part file's checksum, size or row count disagrees with the manifest.
        case corruptPart
        /// The schema changed between mongo-reader and psql-copy.
        case schemaMismatch
        /// PostgreSQL loaded another number of rows than the manifest promises.
        case rowCountMismatch
        /// Reading or writing a file failed.
        case io
        /// The command line asked for something impossible (a bad partition, ...).
        case usage
        /// Another mongo-reader is writing the same folder.
        case readerRunning
        /// The mongo-reader psql-copy follows failed, died, never started or stopped making progress.
        case readerFailed
        /// Partition manifests of different init loads, or of another init load than the running one.
        case stalePartition
        /// psql-copy is loading the folder a mongo-reader wants to write.
        case loaderRunning
        /// A signal stopped the run before it finished; nothing was changed.
        case interrupted
    }
    public var kind: Kind
    public var message: String
    /// For `.readerFailed`: the exit status the reader reported, when it could report one.
    public var readerExitStatus: ExitStatus? = nil

    public init(_ kind: Kind, _ message: String, readerExitStatus: ExitStatus? = nil) {
        self.kind = kind
        self.message = message
        self.readerExitStatus = readerExitStatus
    }

    public var description: String { message }

    public var exitStatus: ExitStatus {
        switch kind {
        case .missingManifest, .badManifest, .corruptPart, .schemaMismatch, .rowCountMismatch, .stalePartition:
            .dataError
        case .io: .ioError
        case .usage: .usage
        case .readerRunning, .loaderRunning: .locked
        // Nothing changed and the run may simply be started again: "try later", as for a lock.
        case .interrupted: .locked
        // The reader's own status says why (69 MongoDB unreachable, 65 bad data, ...); a reader that died or never
        // came left a folder without a finished manifest, which is 65 as for plain psql-copy.
        case .readerFailed: readerExitStatus ?? .dataError
        }
    }
}
