import Foundation

/// `etlstatus runs`: ledger rows, newest first.
public struct RunHistory: Sendable, Codable {
    public var runs: [RunRecord]

    public init(runs: [RunRecord]) { self.runs = runs }

    public var table: String {
        TextTable(
            headers: ["ID", "TOOL", "STARTED AT", "DURATION", "STATUS", "EXIT", "FIGURES", "MESSAGE"],
            rows: runs.map { run in
                [
                    String(run.id), run.tool, run.startedAt, TimeSpan.words(run.durationSeconds), run.status.rawValue,
                    run.exitCode.map(String.init) ?? "-",
                    run.figures.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.number($0.value))" }
                        .joined(separator: " "),
                    run.message ?? "",
                ]
            }, rightAligned: [0, 5]
        ).text
    }

    /// `42`, or `1.5` for a figure with a fraction.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
