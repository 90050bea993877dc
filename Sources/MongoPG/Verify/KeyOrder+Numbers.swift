extension KeyOrder {
    /// A number of any of MongoDB's numeric types (int32 and int64 as `.integer`, double, decimal128) by its exact
    /// value, ordered as MongoDB orders numbers across types: NaN first, then -Infinity, the finite values by value
    /// (1, 1.0 and 1E0 equal, -0 equal to 0), +Infinity. No step rounds: an int64 beyond 2^53 or a decimal128 of 34
    /// digits compares exactly. Pure.
    struct ExactNumber: Comparable {
        private enum Kind: Int, Comparable {
            case notANumber, negativeInfinity, finite, positiveInfinity
            static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
        }
        private var kind: Kind
        private var negative = false
        /// The significant decimal digits, most significant first, without leading or trailing zeros: empty for 0.
        private var digits: [UInt8] = []
        /// The value is 0.d1d2d3… × 10^exponent, so between two positive numbers the larger exponent is the larger.
        private var exponent = 0

        init(_ value: Int64) {
            kind = .finite
            negative = value < 0
            setDigits(of: value.magnitude.description, scale: 0)
        }

        init(_ value: Double) {
            guard value.isFinite else {
                kind = value.isNaN ? .notANumber : value < 0 ? .negativeInfinity : .positiveInfinity
                return
            }
            kind = .finite
            negative = value < 0
            guard value != 0 else { return }
            // value = mantissa × 2^power exactly; 2^power = 5^-power / 10^-power when power is negative.
            let magnitude = value.magnitude
            var mantissa = magnitude.significandBitPattern, power = -1074
            if magnitude.isNormal {
                mantissa |= 1 << 52
                power = Int(magnitude.exponentBitPattern) - 1075
            }
            var number = Self.littleEndianDigits(of: mantissa.description)
            for _ in 0..<power.magnitude { Self.multiply(&number, by: power >= 0 ? 2 : 5) }
            setDigits(of: String(number.reversed().map { Character(String($0)) }), scale: min(power, 0))
        }

        /// Decodes the IEEE 754-2008 binary integer decimal layout BSON stores.
        init(_ value: Decimal128) {
            negative = value.high >> 63 == 1
            switch (value.high >> 58) & 0x1F {
            case 0x1F:
                kind = .notANumber
                negative = false
                return
            case 0x1E:
                kind = negative ? .negativeInfinity : .positiveInfinity
                return
            default: kind = .finite
            }
            let coefficient: UInt128, biasedExponent: UInt64
            if (value.high >> 61) & 0x3 == 0x3 {
                // The form for coefficients above 2^113, all beyond 10^34 - 1: non-canonical, read as zero.
                biasedExponent = (value.high >> 47) & 0x3FFF
                coefficient = 0
            } else {
                biasedExponent = (value.high >> 49) & 0x3FFF
                let read = UInt128(value.high & 0x1_FFFF_FFFF_FFFF) << 64 | UInt128(value.low)
                coefficient = read > Self.largestCoefficient ? 0 : read
            }
            setDigits(of: coefficient.description, scale: Int(biasedExponent) - 6176)
        }

        /// 10^34 - 1: decimal128 holds 34 digits.
        private static let largestCoefficient: UInt128 = 9_999_999_999_999_999_999_999_999_999_999_999

        /// Sets the value to `integer` (decimal digits) × 10^scale.
        private mutating func setDigits(of integer: String, scale: Int) {
            var significant = integer.utf8.map { $0 - UInt8(ascii: "0") }.drop { $0 == 0 }
            guard !significant.isEmpty else {
                digits = []
                exponent = 0
                return
            }
            exponent = significant.count + scale
            while significant.last == 0 { significant.removeLast() }
            digits = Array(significant)
        }

        private static func littleEndianDigits(of integer: String) -> [UInt8] {
            integer.utf8.reversed().map { $0 - UInt8(ascii: "0") }
        }

        private static func multiply(_ number: inout [UInt8], by factor: UInt8) {
            var carry: UInt8 = 0
            for index in number.indices {
                let product = number[index] * factor + carry
                number[index] = product % 10
                carry = product / 10
            }
            if carry > 0 { number.append(carry) }
        }

        static func < (a: ExactNumber, b: ExactNumber) -> Bool {
            guard a.kind == .finite, b.kind == .finite else { return a.kind < b.kind }
            let aSign = a.digits.isEmpty ? 0 : a.negative ? -1 : 1, bSign = b.digits.isEmpty ? 0 : b.negative ? -1 : 1
            guard aSign == bSign else { return aSign < bSign }
            guard aSign != 0 else { return false }
            let magnitudeLess =
                a.exponent != b.exponent ? a.exponent < b.exponent : a.digits.lexicographicallyPrecedes(b.digits)
            let magnitudeEqual = a.exponent == b.exponent && a.digits == b.digits
            return aSign > 0 ? magnitudeLess : !magnitudeLess && !magnitudeEqual
        }

        static func == (a: ExactNumber, b: ExactNumber) -> Bool {
            guard a.kind == .finite, b.kind == .finite else { return a.kind == b.kind }
            return a.digits == b.digits && a.exponent == b.exponent && (a.digits.isEmpty || a.negative == b.negative)
        }
    }

    /// The exact number a numeric key holds, nil for a key of another type.
    static func exactNumber(_ value: SQLValue) -> ExactNumber? {
        switch value {
        case .integer(let x): ExactNumber(x)
        case .double(let x): ExactNumber(x)
        case .numeric(let x): ExactNumber(x)
        default: nil
        }
    }
}
