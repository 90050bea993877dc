extension Decimal128 {
    /// The decimal in plain notation, exactly as PostgreSQL's numeric prints it: no exponent, the scale kept
    /// (`1.50`), positive exponents expanded (`1E+3` -> `1000`), no negative zero; `NaN`, `Infinity`, `-Infinity`.
    /// COPY text writes numeric columns with it, and normalise predicts what they give back.
    public var plainText: String {
        let text = description
        switch text {
        case "NaN", "-NaN", "sNaN", "-sNaN": return "NaN"
        case "Infinity", "-Infinity": return text
        default: break
        }
        var body = Substring(text)
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        var exponent = 0
        if let e = body.firstIndex(where: { $0 == "E" || $0 == "e" }) {
            exponent = Int(body[body.index(after: e)...]) ?? 0
            body = body[..<e]
        }
        var digits = ""
        if let dot = body.firstIndex(of: ".") {
            digits = String(body[..<dot]) + String(body[body.index(after: dot)...])
            exponent -= body.distance(from: body.index(after: dot), to: body.endIndex)
        } else {
            digits = String(body)
        }
        let isZero = digits.allSatisfy { $0 == "0" }
        var plain: String
        if exponent >= 0 {
            plain = isZero ? "0" : digits + String(repeating: "0", count: exponent)
        } else {
            let scale = -exponent
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            plain = String(digits.dropLast(scale)) + "." + String(digits.suffix(scale))
        }
        while plain.hasPrefix("0"), plain.count > 1, !plain.hasPrefix("0.") { plain.removeFirst() }
        return negative && !isZero ? "-" + plain : plain
    }
}
