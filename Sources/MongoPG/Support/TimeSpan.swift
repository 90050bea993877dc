import ArgumentParser

/// A length of time as operators write it on a command line or in the configuration: a whole number followed by
/// `s`, `m`, `h` or `d` (`90s`, `5m`, `2h`, `1d`), or a bare whole number of seconds. Pure.
public struct TimeSpan: Sendable, Hashable, Comparable, Codable, CustomStringConvertible, ExpressibleByArgument {
    public var seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    static let units: [(suffix: Character, seconds: Int64)] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]

    /// Parses `90s`, `5m`, `2h`, `1d` or `90`; nil for anything else (a sign, a fraction, an unknown unit, a number
    /// too large for seconds in 64 bits).
    public init?(_ text: String) {
        var digits = Substring(text)
        var multiplier: Int64 = 1
        if let last = digits.last, let unit = Self.units.first(where: { $0.suffix == last }) {
            multiplier = unit.seconds
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int64(digits) else {
            return nil
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        self.seconds = seconds
    }

    public init?(argument: String) { self.init(argument) }

    /// The largest unit that divides it exactly: `2h`, `90s`, `5m`, `0s`.
    public var description: String {
        for unit in Self.units where seconds != 0 && seconds % unit.seconds == 0 {
            return "\(seconds / unit.seconds)\(unit.suffix)"
        }
        return "\(seconds)s"
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.seconds < rhs.seconds }

    public init(from decoder: any Decoder) throws { seconds = try decoder.singleValueContainer().decode(Int64.self) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(seconds)
    }

    /// Seconds for people, rounded down to the two largest units: `45s`, `5m 3s`, `2h 10m`, `3d 4h`; `-` for nil.
    public static func words(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "-" }
        let whole = Int64(max(0, seconds.rounded(.down)))
        var parts: [String] = []
        var rest = whole
        for unit in units where rest >= unit.seconds || (unit.suffix == "s" && parts.isEmpty) {
            parts.append("\(rest / unit.seconds)\(unit.suffix)")
            rest %= unit.seconds
            if parts.count == 2 || rest == 0 { break }
        }
        return parts.joined(separator: " ")
    }
}
