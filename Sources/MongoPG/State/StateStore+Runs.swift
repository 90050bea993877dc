import Foundation
import Logging

/// One run of a tool in the run ledger (DESIGN.md: each run of each tool, with its status, exit code and figures).
/// Every tool records its runs through this type: `start` (or `recording`) on the tool's state session, or
/// `startDetached` for a tool whose work needs no PostgreSQL.
public struct LedgerRun: Sendable {
    /// The run's id in `runs`.
    public let id: Int64
    public let tool: String
    private let ledger: Ledger

    /// How the run reaches the ledger.
    private enum Ledger: Sendable {
        /// The tool's own state session; a failure to write is the tool's failure.
        case attached(StateStore)
        /// A short connection of its own for each write, so a long read holds no idle connection that a restart or a
        /// firewall could cut; a failure to write is a warning, never the failure of work that succeeded.
        case detached(open: @Sendable () async throws -> StateStore, logger: Logger)
    }

    /// Opens a ledger row for one run of `tool`; `arguments` must hold no secret (passwords never reach argv).
    public static func start(tool: String, arguments: [String], in store: StateStore) async throws -> LedgerRun {
        LedgerRun(id: try await store.insertRun(tool: tool, arguments: arguments), tool: tool, ledger: .attached(store))
    }

    /// Runs `body` as one run of `tool`, closed afterwards as ok with the `totals` of its result, or with the
    /// error's exit status and description (then the error is rethrown; a ledger that cannot be closed then does
    /// not hide it).
    public static func recording<Result>(
        tool: String, arguments: [String], in store: StateStore,
        totals: (Result) -> [String: Double] = { _ in [:] }, _ body: (LedgerRun) async throws -> Result
    ) async throws -> Result {
        let run = try await start(tool: tool, arguments: arguments, in: store)
        let result: Result
        do {
            result = try await body(run)
        } catch {
            // A tool stopped by a signal cancels its statements; a cancel request that reaches the server late
            // cancels this write instead (psql-copy's ledger row stayed `running`): it is tried once more.
            if (try? await run.finish(error.exitStatus, message: "\(error)")) == nil {
                try? await run.finish(error.exitStatus, message: "\(error)")
            }
            throw error
        }
        try await run.finish(.ok, figures: totals(result))
        return result
    }

    /// Opens the run on a connection of its own (`open`), closed at once. Answers nil, after one warning saying
    /// why, when the ledger cannot be written (PostgreSQL out of reach, ...): the work goes on unrecorded. A state
    /// schema of a newer release, or a configuration error, is thrown: those would fail every other tool too.
    public static func startDetached(
        tool: String, arguments: [String], logger: Logger, open: @escaping @Sendable () async throws -> StateStore
    ) async throws -> LedgerRun? {
        do {
            let id = try await StateStore.withOpened(open) { try await $0.insertRun(tool: tool, arguments: arguments) }
            return LedgerRun(id: id, tool: tool, ledger: .detached(open: open, logger: logger))
        } catch {
            if error.exitStatus == .configError { throw error }
            let why = error.exitStatus == .unavailable ? "PostgreSQL is out of reach" : "it could not be written"
            logger.warning(
                "this run is not recorded in the run ledger: \(why)", metadata: [LogKey.error: "\(error)"])
            return nil
        }
    }

    /// Appends one step with its figures (rows, documents, seconds, ...). With `keepingLast`, the oldest steps are
    /// dropped beyond that many: a run that never ends (`oplog-sync --follow`) keeps a row of bounded size.
    public func addStep(_ step: String, figures: [String: Double], keepingLast limit: Int? = nil) async throws {
        try await write("record step \(step)") { store in
            try await store.appendStep(run: id, step: step, figures: figures, keepingLast: limit)
        }
    }

    /// Says the run is still alive without a step (an idle following run), for `check --max-age`.
    public func heartbeat() async throws {
        try await write("record a heartbeat") { store in
            try await store.session.query(
                "UPDATE \(store.table("runs")) SET last_seen_at = clock_timestamp() WHERE id = $1",
                parameters: [String(id)], purpose: "record a heartbeat of run \(id)")
        }
    }

    /// Closes the run with its exit status, a one-line message for failures, and its totals.
    public func finish(_ status: ExitStatus, message: String? = nil, figures: [String: Double] = [:]) async throws {
        try await write("close the run") { store in
            try await store.closeRun(run: id, status: status, message: message, figures: figures)
        }
    }

    private func write(_ what: String, _ body: (StateStore) async throws -> Void) async throws {
        switch ledger {
        case .attached(let store):
            try await body(store)
        case .detached(let open, let logger):
            do {
                try await StateStore.withOpened(open, body)
            } catch {
                logger.warning(
                    "run \(id) of \(tool) in the run ledger: cannot \(what)", metadata: [LogKey.error: "\(error)"])
            }
        }
    }
}

extension StateStore {
    func insertRun(tool: String, arguments: [String]) async throws -> Int64 {
        let rows = try await session.query(
            "INSERT INTO \(table("runs")) (tool, host, pid, arguments) VALUES ($1, $2, $3, $4) RETURNING id",
            parameters: [tool, ProcessInfo.processInfo.hostName, String(getpid()), arguments.joined(separator: " ")],
            purpose: "record the start of \(tool)")
        return try Self.number(rows.scalar, of: "the id of a new run of \(tool)")
    }

    func appendStep(run: Int64, step: String, figures: [String: Double], keepingLast limit: Int? = nil) async throws {
        // `steps - 0` drops the oldest step.
        let steps = limit.map { "CASE WHEN jsonb_array_length(steps) >= \(max(1, $0)) THEN steps - 0 ELSE steps END" }
        try await session.query(
            """
            UPDATE \(table("runs")) SET steps = \(steps ?? "steps") || jsonb_build_array($2::jsonb),
                last_seen_at = clock_timestamp() WHERE id = $1
            """,
            parameters: [String(run), try Self.figuresJSON(figures, step: step)],
            purpose: "record step \(step) of run \(run)")
    }

    func closeRun(run: Int64, status: ExitStatus, message: String?, figures: [String: Double]) async throws {
        try await session.query(
            """
            UPDATE \(table("runs")) SET finished_at = clock_timestamp(), status = $2, exit_code = $3, message = $4,
                figures = figures || $5::jsonb WHERE id = $1
            """,
            parameters: [
                String(run), RunStatus(ended: status == .ok).rawValue, String(status.rawValue), message,
                try Self.figuresJSON(figures),
            ],
            purpose: "record the end of run \(run)")
    }

    /// Figures as one JSON object, keys sorted, whole numbers without a fraction (`42`, not `42.0`, so SQL can cast
    /// them to integers), `step` first when given. A figure JSON cannot hold is a bug of the tool that measured it.
    static func figuresJSON(_ figures: [String: Double], step: String? = nil) throws(StateError) -> String {
        var members: [String] = []
        if let step { members.append("\"step\":" + JSONString.quoted(step)) }
        for (name, value) in figures.sorted(by: { $0.key < $1.key }) {
            guard value.isFinite else {
                throw StateError(.badFigure, "figure \(name)\(step.map { " of step \($0)" } ?? "") is \(value)")
            }
            guard name != "step" || step == nil else {
                throw StateError(.badFigure, "a figure of step \(step ?? "") is named step")
            }
            let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
            members.append(JSONString.quoted(name) + ":" + number)
        }
        return "{" + members.joined(separator: ",") + "}"
    }
}
