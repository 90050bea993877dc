import MongoPG
import Testing

@Suite("Durations on command lines and in the configuration")
struct TimeSpanTests {
    @Test(
        "90s, 5m, 2h, 1d and bare seconds parse to seconds",
        arguments: [
            ("90s", 90), ("5m", 300), ("2h", 7_200), ("1d", 86_400), ("0s", 0), ("45", 45), ("007m", 420),
        ] as [(String, Int64)])
    func parses(text: String, seconds: Int64) {
        #expect(TimeSpan(text)?.seconds == seconds)
    }

    @Test(
        "anything else is refused",
        arguments: [
            "", "s", "m5", "-5m", "+5m", "1.5h", "5 m", " 5m", "5M", "5w", "5ms", "١٢s", "99999999999999999d",
        ])
    func refuses(text: String) {
        #expect(TimeSpan(text) == nil)
    }

    @Test("the description uses the largest exact unit and parses back to the same span")
    func roundTrip() {
        for seconds: Int64 in [0, 1, 59, 60, 90, 3_600, 5_400, 86_400, 90_000, 172_800] {
            let span = TimeSpan(seconds: seconds)
            #expect(TimeSpan(span.description) == span, "\(seconds)")
        }
        #expect(TimeSpan(seconds: 7_200).description == "2h")
        #expect(TimeSpan(seconds: 90).description == "90s")
    }

    @Test(
        "seconds for people keep the two largest units",
        arguments: [
            (0, "0s"), (45, "45s"), (303, "5m 3s"), (7_200, "2h"), (7_830, "2h 10m"), (273_600, "3d 4h"), (59.9, "59s"),
        ] as [(Double, String)])
    func words(seconds: Double, text: String) {
        #expect(TimeSpan.words(seconds) == text)
    }

    @Test("an unknown figure reads as a dash")
    func unknownWords() {
        #expect(TimeSpan.words(nil) == "-")
        #expect(TimeSpan.words(.nan) == "-")
    }
}
