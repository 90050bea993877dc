/// An item of a merge that carries its pairing key: the normalised `_id`'s BSON bytes.
protocol MergeItem {
    var match: [UInt8] { get }
}

/// The pairing both merges share (whole documents in `CollectionVerifier`, rows in `RowMerge`): items offered from
/// either side meet by key; an unpaired one waits for its partner or a lookup; one a lookup already paired is skipped
/// when its own stream brings it. Pure.
struct KeyPairing<Mongo: MergeItem, Stored: MergeItem> {
    var mongoOnly: [[UInt8]: Mongo] = [:]
    var storedOnly: [[UInt8]: Stored] = [:]
    var skipMongo = Set<[UInt8]>()
    var skipStored = Set<[UInt8]>()

    /// The stored item waiting for `item`, or nil (skipped, or now waiting itself).
    mutating func partner(of item: Mongo) -> Stored? {
        if skipMongo.remove(item.match) != nil { return nil }
        guard let stored = storedOnly.removeValue(forKey: item.match) else {
            mongoOnly[item.match] = item
            return nil
        }
        return stored
    }

    /// The MongoDB item waiting for `stored`, or nil (skipped, or now waiting itself).
    mutating func partner(of stored: Stored) -> Mongo? {
        if skipStored.remove(stored.match) != nil { return nil }
        guard let item = mongoOnly.removeValue(forKey: stored.match) else {
            storedOnly[stored.match] = stored
            return nil
        }
        return item
    }
}

extension CollectionVerifier.MongoItem: MergeItem {}
extension CollectionVerifier.StoredItem: MergeItem {}
extension RowMerge.MongoItem: MergeItem {}
extension RowMerge.StoredItem: MergeItem {}
