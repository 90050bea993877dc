/// Runs `body`, then awaits `cleanUp`, whether `body` returned or threw (a failed `#require` throws too), so that
/// whatever the test made is gone before the test ends.
///
/// This replaces `defer { Task { await cleanUp() } }`: nobody awaits that task, so it may run after the test has
/// finished, during another test, or never (the process exits first), and a failure in it is seen by no one.
///
/// ```swift
/// try await withCleanUp {
///     try await scene.run(...)
/// } cleanUp: {
///     await scene.cleanUp()
/// }
/// ```
public func withCleanUp<Result>(
    _ body: () async throws -> Result, cleanUp: () async -> Void
) async throws -> Result {
    let result: Result
    do {
        result = try await body()
    } catch {
        await cleanUp()
        throw error
    }
    await cleanUp()
    return result
}
