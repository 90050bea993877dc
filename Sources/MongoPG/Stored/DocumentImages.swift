/// Documents as the run's committed batches left them in PostgreSQL, so that a document updated again by a later
/// batch needs no read and no rebuild from its rows: a replay keeps touching the same documents (a collection's hot
/// part), and a stored state read back costs an index lookup per table in PostgreSQL and a rebuild here.
///
/// Only a run that is the tables' sole writer may use it: one without verification, whose repairs change rows behind
/// the images (the advisory lock keeps other runs and init loads out). Bounded in bytes: two generations of at most
/// half the budget each; a document found in the older one moves to the newer, and once the newer one is full the
/// older one is dropped, so the documents touched least recently go first and memory stays flat however long the run.
struct DocumentImages: Sendable {
    /// Bytes of images held at most (with a fixed allowance per document for its key and the table's slot).
    let capacity: Int
    private var newer: [DocumentKey: BatchWrite.Image] = [:]
    private var older: [DocumentKey: BatchWrite.Image] = [:]
    private var newerSize = 0
    /// Stored states asked for, and those answered from the images.
    private(set) var lookups = 0, hits = 0

    /// The default budget: the images of some 60,000 documents of a kilobyte.
    static let defaultCapacity = 64 << 20
    static let allowancePerDocument = 96

    init(capacity: Int = Self.defaultCapacity) { self.capacity = capacity }

    var count: Int { newer.count + older.count }

    /// The document's image, when a committed batch left one.
    mutating func image(for key: DocumentKey) -> BatchWrite.Image? {
        lookups += 1
        if let image = newer[key] {
            hits += 1
            return image
        }
        guard let image = older.removeValue(forKey: key) else { return nil }
        hits += 1
        keep(image, for: key)
        return image
    }

    /// A batch has committed: its images replace those it touched, and a collection it emptied keeps none of its
    /// others (their rows are gone).
    mutating func add(_ batch: BatchWrite) {
        for namespace in batch.emptied {
            newer = newer.filter { $0.key.namespace != namespace }
            older = older.filter { $0.key.namespace != namespace }
            newerSize = newer.reduce(0) { $0 + Self.size($1.key, $1.value) }
        }
        // An older image of the same document may stay behind: the newer generation is asked first.
        for (key, image) in batch.images { keep(image, for: key) }
    }

    private static func size(_ key: DocumentKey, _ image: BatchWrite.Image) -> Int {
        image.size + key.idBytes.count + allowancePerDocument
    }

    private mutating func keep(_ image: BatchWrite.Image, for key: DocumentKey) {
        let size = Self.size(key, image)
        guard 2 * size <= capacity else {
            // Too large to keep: an image held from before is stale now, and must not answer for the document.
            if let stale = newer.removeValue(forKey: key) { newerSize -= Self.size(key, stale) }
            older.removeValue(forKey: key)
            return
        }
        if let replaced = newer.updateValue(image, forKey: key) {
            newerSize += size - Self.size(key, replaced)
        } else {
            newerSize += size
        }
        if 2 * newerSize > capacity {
            older = newer
            newer = [:]
            newerSize = 0
        }
    }
}
