import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Streams documents from a file: concatenated BSON (what `mongodump` writes, oplog dumps included) or Extended
/// JSON with one document per line. Memory stays bounded by the largest document, whatever the file's size.
/// A corrupt document stops the read with a `BSONError` naming the file and its byte offset or line.
public final class DocumentFileReader {
    public enum Format: Sendable, Equatable {
        case bson, extendedJSONLines
    }

    /// Documents larger than this are taken for corruption: MongoDB's limit is 16 MiB, oplog entries a little more.
    public static let maximumDocumentSize = 48 * 1024 * 1024

    public let path: String
    public private(set) var format: Format
    private let descriptor: FileDescriptor
    private var buffer: [UInt8]
    private var start = 0  // first unread byte in `buffer`
    private var end = 0  // one past the last valid byte in `buffer`
    private var atEOF = false
    /// Byte offset in the file of `buffer[0]`.
    private var bufferFileOffset = 0
    /// 1-based line of the next Extended JSON line.
    private var nextLine = 1

    /// Opens `path`; `format` nil detects it from the extension (`.bson`; `.json`, `.jsonl`, `.ndjson`) or the content.
    public init(path: String, format: Format? = nil, chunkSize: Int = 1 << 20) throws(BSONError) {
        self.path = path
        // Checked before opening (a FIFO would block open(2)) and again on the open descriptor (the path may change).
        try Self.requireRegularFile(stat: { stat(path, &$0) }, path: path)
        let descriptor = try FileDescriptor.open(path, .readOnly) { BSONError(.io, "cannot open: \($0)", file: path) }
        do {
            try Self.requireRegularFile(stat: { fstat(descriptor.rawValue, &$0) }, path: path)
        } catch {
            descriptor.closeIgnoringErrors()
            throw error
        }
        self.descriptor = descriptor
        buffer = [UInt8](repeating: 0, count: max(chunkSize, 64))
        if let format {
            self.format = format
        } else if path.hasSuffix(".bson") {
            self.format = .bson
        } else if path.hasSuffix(".json") || path.hasSuffix(".jsonl") || path.hasSuffix(".ndjson") {
            self.format = .extendedJSONLines
        } else {
            self.format = .bson  // replaced below once the first bytes are read
            do {
                try fill(minimum: 5)
            } catch {
                descriptor.closeIgnoringErrors()
                throw error
            }
            self.format = looksLikeBSON() ? .bson : .extendedJSONLines
        }
    }

    deinit { descriptor.closeIgnoringErrors() }

    /// Refuses at once what is not a regular file (after symbolic links): a device such as /dev/zero would be read
    /// forever, a FIFO or socket blocks. A path that does not exist is left to open(2), whose error names it.
    private static func requireRegularFile(stat call: (inout stat) -> Int32, path: String) throws(BSONError) {
        var status = stat()
        guard call(&status) == 0 else { return }
        let kind: String
        switch status.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: kind = "a folder"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFIFO: kind = "a FIFO"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a file"
        }
        throw BSONError(.io, "cannot read \(kind): an input file must be a regular file", file: path)
    }

    /// Where the next document starts: a byte offset for BSON, a line for Extended JSON.
    public var position: String {
        format == .bson ? "byte offset \(bufferFileOffset + start)" : "line \(nextLine)"
    }

    /// The next document's raw BSON bytes, or nil at a clean end of file.
    public func next() throws(BSONError) -> [UInt8]? {
        switch format {
        case .bson: try nextBSON()
        case .extendedJSONLines: try nextExtendedJSON()
        }
    }

    private func nextBSON() throws(BSONError) -> [UInt8]? {
        try fill(minimum: 4)
        if end == start { return nil }
        let offset = bufferFileOffset + start
        guard end - start >= 4 else {
            throw BSONError(.truncated, "file ends inside a document's length", offset: offset, file: path)
        }
        let length = buffer.withUnsafeBytes { BSONDecoder.declaredLength($0, at: start)! }
        guard length >= 5, length <= Self.maximumDocumentSize else {
            throw BSONError(.badLength, "document announces \(length) bytes", offset: offset, file: path)
        }
        try fill(minimum: length)
        guard end - start >= length else {
            throw BSONError(
                .truncated, "file ends \(length - (end - start)) bytes into a \(length)-byte document", offset: offset,
                file: path)
        }
        guard buffer[start + length - 1] == 0 else {
            throw BSONError(.badLength, "document of \(length) bytes does not end with NUL", offset: offset, file: path)
        }
        defer { start += length }
        return Array(buffer[start..<start + length])
    }

    private func nextExtendedJSON() throws(BSONError) -> [UInt8]? {
        while true {
            var newline: Int? = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n"))
            while newline == nil, !atEOF {
                let scanned = end - start
                try fill(minimum: end - start + 1)
                newline = buffer[(start + scanned)..<end].firstIndex(of: UInt8(ascii: "\n"))
                if end - start > Self.maximumDocumentSize {
                    throw BSONError(
                        .badLength, "line longer than \(Self.maximumDocumentSize) bytes", line: nextLine, file: path)
                }
            }
            let lineEnd = newline ?? end
            if lineEnd == start, newline == nil { return nil }  // end of file
            let line = nextLine
            let bytes = buffer[start..<lineEnd]
            start = newline.map { $0 + 1 } ?? end
            nextLine += 1
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw BSONError(.badUTF8, "line is not valid UTF-8", line: line, file: path)
            }
            if text.allSatisfy(\.isWhitespace) { continue }
            do {
                return try BSONDocument.bytes(fromExtendedJSON: text)
            } catch {
                throw BSONError(error.kind, error.message, line: line, file: path)
            }
        }
    }

    /// Reads until at least `minimum` unread bytes are buffered or the file ends, growing the buffer if needed.
    private func fill(minimum: Int) throws(BSONError) {
        guard end - start < minimum, !atEOF else { return }
        if start > 0 {  // slide the unread tail to the front
            buffer.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: end - start)
            }
            bufferFileOffset += start
            end -= start
            start = 0
        }
        if buffer.count < minimum { buffer.append(contentsOf: repeatElement(0, count: minimum - buffer.count)) }
        while end < minimum, !atEOF {
            let offset = bufferFileOffset + end
            let count = try descriptor.read(into: &buffer, from: end) {
                BSONError(.io, "read failed: \($0)", offset: offset, file: path)
            }
            if count == 0 { atEOF = true }
            end += count
        }
    }

    /// A BSON file starts with a plausible length and a known type byte; JSON starts with `{` or white space.
    private func looksLikeBSON() -> Bool {
        guard end - start >= 5 else { return false }
        let length = buffer.withUnsafeBytes { BSONDecoder.declaredLength($0, at: start)! }
        let knownTypes: Set<UInt8> = Set(1...0x13).union([0x7F, 0xFF, 0x00])
        return length >= 5 && length <= Self.maximumDocumentSize && knownTypes.contains(buffer[start + 4])
            && !(buffer[start] == UInt8(ascii: "{")
                && (buffer[start + 1] == UInt8(ascii: "\"") || buffer[start + 1] == UInt8(ascii: " ")))
    }
}
