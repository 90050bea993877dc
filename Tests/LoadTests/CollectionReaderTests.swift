import Testing

@testable import MongoPG

@Suite("CollectionReader's pure parts")
struct CollectionReaderTests {
    static let staleNames = [
        "000-customers.w1-j1.tsv", "manifest.json", "001-customers_accounts.w1-j1.tsv.tmp", "manifest.json.tmp",
        "manifest.part-1-of-2.json", "schema.sql.tmp",
    ]

    @Test("stale files are removed manifests first, by a strict weak ordering (irreflexive, asymmetric, transitive)")
    func removalOrder() {
        let names = Self.staleNames
        for a in names {
            #expect(!CollectionReader.removedBefore(a, a), "\(a) before itself")
            for b in names where CollectionReader.removedBefore(a, b) {
                #expect(!CollectionReader.removedBefore(b, a), "\(a) and \(b) each before the other")
                for c in names where CollectionReader.removedBefore(b, c) {
                    #expect(CollectionReader.removedBefore(a, c), "\(a) < \(b) < \(c) but not \(a) < \(c)")
                }
            }
        }
        let sorted = names.sorted(by: CollectionReader.removedBefore)
        let manifests = sorted.prefix { $0.hasPrefix("manifest") }
        #expect(manifests.count == 3 && !sorted.dropFirst(3).contains { $0.hasPrefix("manifest") })
    }
}
