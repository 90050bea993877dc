extension ReplayStarts {
    /// The starts the state schema records for the collections `status` finds in sync, per position of `config`:
    /// a position's sync point, else the position of the load of everything (only for positions where some of those
    /// collections were loaded by it: a stream of a database added later, scope = database, starts from its
    /// collections' own loads), and each collection's own start. A position with nothing recorded reads from nil.
    static func recorded(in store: StateStore, config: SyncConfig, status: InitLoadStatus) async throws
        -> ReplayStarts
    {
        let syncPoints = try await store.syncPoints()
        let own = try await store.collectionStarts()
        var starts = ReplayStarts()
        for (name, source) in config.positionNames {
            let covered = status.synced.filter { config.positionNames(for: $0)[source.name] == name }
            let initLoad = (status.positions[name] ?? status.positions[source.name]).map { BSONTimestamp(packed: $0) }
            let ownOnly = !covered.isEmpty && covered.allSatisfy { own[$0]?[name] != nil }
            starts.base[name] = syncPoints[name] ?? (ownOnly ? nil : initLoad)
            for collection in covered {
                if let start = own[collection]?[name] { starts.collections[name, default: [:]][collection] = start }
            }
        }
        return starts
    }
}
