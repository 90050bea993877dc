import Logging

/// A ledger run of a tool whose work needs no PostgreSQL (mongo-reader on a dump file): opened and closed on short
/// connections of their own, so a long read holds no idle connection that a restart or a firewall could cut, and a
/// ledger that cannot be written is a warning, never the failure of work that succeeded.
public struct DetachedRun: Sendable {
    public typealias OpenStore = @Sendable () async throws -> StateStore
    let open: OpenStore
    let run: Int64
    let logger: Logger

    /// Records the start of `tool`; nil (after one warning) when the ledger cannot be reached.
    public static func start(tool: String, arguments: [String], logger: Logger, open: @escaping OpenStore) async -> DetachedRun? {
        do {
            let store = try await open()
            let run = try await store.startRun(tool: tool, arguments: arguments)
            await store.session.close()
            return DetachedRun(open: open, run: run, logger: logger)
        } catch {
            logger.warning("this run is not recorded in the run ledger: PostgreSQL is out of reach", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Closes the run with its outcome, and on success one step's figures.
    public func finish(status: ExitStatus, message: String? = nil, step: String, figures: [String: Double]) async {
        do {
            let store = try await open()
            if status == .ok { try await store.addStep(run: run, step: step, figures: figures) }
            try await store.finishRun(run: run, status: status, message: message)
            await store.session.close()
        } catch {
            logger.warning("run \(run) stays open in the run ledger: it could not be closed", metadata: ["error": "\(error)"])
        }
    }
}
