import Logging

extension TableClaims {
    /// The claims of `schema` (the collection being read or loaded) and of every other collection of `collections`
    /// whose schema file compiles with `settings`. Another collection without a usable schema file claims nothing
    /// here (it cannot be loaded either); its catalog rows, once loaded, still do (`StateStore.catalogClaims`).
    static func fromSchemaFiles(
        _ schema: SchemaFile, collections: [Namespace], schemasDirectory: String, settings: FlattenSettings,
        logger: Logger
    ) -> TableClaims {
        var claims = TableClaims()
        claims.add(schema.plan, source: schema.path)
        for other in collections where other != schema.plan.namespace {
            do {
                let file = try SchemaFile(namespace: other, schemasDirectory: schemasDirectory, settings: settings)
                claims.add(file.plan, source: file.path)
            } catch {
                logger.debug(
                    "no table names from this collection's schema file",
                    metadata: [LogKey.namespace: "\(other)", LogKey.error: "\(error)"])
            }
        }
        return claims
    }
}
