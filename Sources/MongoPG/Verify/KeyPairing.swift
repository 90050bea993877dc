/// An item of a merge: its key as the tables sort it, and its pairing key (the normalised `_id`'s BSON bytes).
protocol MergeItem {
    var key: SQLValue { get }
    var match: [UInt8] { get }
}

/// What both merges feed, in key order, from their two sorted sides.
protocol MergeMatcher {
    associatedtype Mongo: MergeItem
    associatedtype Stored: MergeItem
    mutating func offer(_ item: Mongo)
    mutating func offer(_ stored: Stored)
}

extension MergeMatcher {
    /// Offers the first item of the side whose key comes first (both when the keys are equal); false when both
    /// sides are empty.
    mutating func offerNext(_ mongo: inout ArraySlice<Mongo>, _ stored: inout ArraySlice<Stored>) -> Bool {
        switch KeyOrder.step(mongo: mongo.first?.key, stored: stored.first?.key) {
        case .mongo: offer(mongo.removeFirst())
        case .stored: offer(stored.removeFirst())
        case .both:
            offer(mongo.removeFirst())
            offer(stored.removeFirst())
        case .done: return false
        }
        return true
    }
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
extension DocumentMatcher: MergeMatcher {
    typealias Mongo = CollectionVerifier.MongoItem
    typealias Stored = CollectionVerifier.StoredItem
}
extension RowMatcher: MergeMatcher {
    typealias Mongo = RowMerge.MongoItem
    typealias Stored = RowMerge.StoredItem
}
