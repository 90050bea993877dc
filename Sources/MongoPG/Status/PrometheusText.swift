/// Prometheus' text exposition format (version 0.0.4), as node_exporter's textfile collector reads it: per metric
/// family a `# HELP` and a `# TYPE` line, then its samples. Pure.
public struct PrometheusText: Sendable {
    public struct Sample: Sendable, Equatable {
        public var labels: [(name: String, value: String)]
        public var value: Double

        public init(_ labels: [(name: String, value: String)] = [], _ value: Double) {
            self.labels = labels
            self.value = value
        }

        public static func == (lhs: Sample, rhs: Sample) -> Bool {
            lhs.value == rhs.value && lhs.labels.map(\.name) == rhs.labels.map(\.name)
                && lhs.labels.map(\.value) == rhs.labels.map(\.value)
        }
    }

    public struct Family: Sendable {
        public var name: String
        public var help: String
        public var samples: [Sample]
    }

    public private(set) var families: [Family] = []

    public init() {}

    /// Adds a gauge; a family without samples is left out (the format allows it, but it says nothing).
    public mutating func gauge(_ name: String, _ help: String, _ samples: [Sample]) {
        guard !samples.isEmpty else { return }
        families.append(Family(name: name, help: help, samples: samples))
    }

    public var text: String {
        var lines: [String] = []
        for family in families {
            lines.append("# HELP \(family.name) \(Self.escapeHelp(family.help))")
            lines.append("# TYPE \(family.name) gauge")
            for sample in family.samples {
                let labels = sample.labels.map { "\($0.name)=\"\(Self.escapeLabel($0.value))\"" }
                let selector = labels.isEmpty ? "" : "{" + labels.joined(separator: ",") + "}"
                lines.append("\(family.name)\(selector) \(Self.number(sample.value))")
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// One sample for JSON output: `{"name": ..., "labels": {...}, "value": ...}` (non-finite values as null).
    public struct NamedSample: Sendable, Codable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double?
    }

    /// Every sample, in text order, for `--json`.
    public var samples: [NamedSample] {
        families.flatMap { family in
            family.samples.map { sample in
                NamedSample(
                    name: family.name,
                    labels: Dictionary(sample.labels.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
                    value: sample.value.isFinite ? sample.value : nil)
            }
        }
    }

    /// The format's escapes: in HELP, backslash and newline; in label values, also the double quote.
    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeLabel(_ text: String) -> String {
        escapeHelp(text).replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// Go's float syntax as Prometheus reads it: `NaN`, `+Inf`, `-Inf`, whole numbers without a fraction.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return RunHistory.number(value)
    }
}
