import MongoPG
import Testing

@Suite("Prometheus text exposition (pure; CommandLineTests parse real output with prometheus_client)")
struct PrometheusTextTests {
    @Test("HELP, TYPE and samples, label values escaped, whole numbers without a fraction")
    func text() {
        var text = PrometheusText()
        text.gauge("m_one", "Help with \\ and\nnewline.", [.init([("table", "a\"b\\c\nd"), ("x", "日本")], 42)])
        text.gauge("m_empty", "Left out.", [])
        text.gauge("m_two", "Two.", [.init([], 1.5), .init([], .nan), .init([], .infinity), .init([], -.infinity)])
        #expect(
            text.text == """
                # HELP m_one Help with \\\\ and\\nnewline.
                # TYPE m_one gauge
                m_one{table="a\\"b\\\\c\\nd",x="日本"} 42
                # HELP m_two Two.
                # TYPE m_two gauge
                m_two 1.5
                m_two NaN
                m_two +Inf
                m_two -Inf

                """)
    }
}
