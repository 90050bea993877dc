/// `etlstatus metrics`: the sync's figures as Prometheus gauges, from the same readings `check` judges. Pure.
public enum StatusMetrics {
    /// The metrics for `inputs` and the newest run of each tool.
    public static func metrics(_ inputs: CheckInputs, lastRuns: [RunRecord]) -> PrometheusText {
        var text = PrometheusText()
        typealias Sample = PrometheusText.Sample
        text.gauge(
            "mongo_pg_sync_init_load_needed",
            "1 when an init load is needed (never done, failed, schema changed, oplog fell past the sync point).",
            [Sample([], inputs.initLoad.needed || inputs.sources.contains { $0.fallenOff } ? 1 : 0)])

        let sources = inputs.sources.map(\.source) + inputs.sourceErrors.keys.sorted()
        text.gauge(
            "mongo_pg_sync_oplog_source_up", "1 when the oplog source could be read, 0 when it could not.",
            sources.map { Sample([("source", $0)], inputs.sourceErrors[$0] == nil ? 1 : 0) })
        func perSource(_ value: (SourceLag) -> Double?) -> [Sample] {
            inputs.sources.compactMap { lag in value(lag).map { Sample([("source", lag.source)], $0) } }
        }
        text.gauge(
            "mongo_pg_sync_lag_seconds", "Seconds between the source's sync point and its newest oplog position.",
            perSource(\.lagSeconds))
        text.gauge(
            "mongo_pg_sync_lag_entries", "Oplog entries after the source's sync point.",
            perSource { $0.lagEntries.map(Double.init) })
        text.gauge(
            "mongo_pg_sync_oplog_window_seconds", "Seconds between the oldest and the newest oplog entry.",
            perSource(\.windowSeconds))
        text.gauge(
            "mongo_pg_sync_window_left_seconds",
            "Seconds before the sync point falls off the oplog at the oplog's average write rate.",
            perSource(\.timeLeftSeconds))
        text.gauge(
            "mongo_pg_sync_sync_point_fallen_off", "1 when the oplog no longer reaches back to the sync point.",
            perSource { $0.position == nil ? nil : $0.fallenOff ? 1 : 0 })

        let runs = lastRuns.sorted { $0.tool < $1.tool }
        func perTool(_ value: (RunRecord) -> Double?) -> [Sample] {
            runs.compactMap { run in value(run).map { Sample([("tool", run.tool)], $0) } }
        }
        text.gauge(
            "mongo_pg_sync_last_run_success", "1 when the tool's newest run ended well, 0 when it failed or died.",
            perTool { $0.status == .running ? nil : $0.status == .ok ? 1 : 0 })
        text.gauge(
            "mongo_pg_sync_last_run_exit_code", "Exit status of the tool's newest finished run.",
            perTool { $0.exitCode.map(Double.init) })
        text.gauge(
            "mongo_pg_sync_last_run_running", "1 while the tool's newest run is still running.",
            perTool { $0.status == .running ? 1 : 0 })
        text.gauge(
            "mongo_pg_sync_last_run_duration_seconds", "Duration of the tool's newest run (so far, while running).",
            perTool(\.durationSeconds))
        text.gauge(
            "mongo_pg_sync_last_run_age_seconds", "Seconds since the tool's newest run ended (or started).",
            perTool(\.ageSeconds))
        text.gauge(
            "mongo_pg_sync_last_run_figure",
            "A total of the tool's newest run: rows inserted/updated/deleted, entries applied, documents verified, "
                + "divergences found and repaired, ...",
            runs.flatMap { run in
                run.figures.sorted { $0.key < $1.key }.map {
                    Sample([("tool", run.tool), ("figure", $0.key)], $0.value)
                }
            })

        text.gauge(
            "mongo_pg_sync_oplog_sync_failures_in_a_row",
            "The newest oplog-sync runs that failed or died in a row (0 when the newest ended well or is running).",
            [Sample([], Double(inputs.syncRuns.failedInARow.count))])

        func perTable(_ value: (FreshnessResult) -> Double?) -> [Sample] {
            inputs.freshness.compactMap { check in
                value(check).map {
                    Sample([("schema", check.schema), ("table", check.table), ("column", check.column)], $0)
                }
            }
        }
        text.gauge(
            "mongo_pg_sync_freshness_age_seconds", "Age of the table's newest row by its [freshness] column.",
            perTable(\.ageSeconds))
        text.gauge(
            "mongo_pg_sync_freshness_max_age_seconds", "The [freshness] limit for the table.",
            perTable { Double($0.maxAgeSeconds) })
        text.gauge(
            "mongo_pg_sync_freshness_ok", "1 when the table is fresh enough, 0 when stale, empty or not measurable.",
            perTable { $0.isFresh ? 1 : 0 })

        func perCollection(_ value: (VerificationRecord) -> Double?) -> [Sample] {
            inputs.verifications.compactMap { record in
                value(record).map { Sample([("collection", record.collection)], $0) }
            }
        }
        text.gauge(
            "mongo_pg_sync_verification_divergent_documents",
            "Documents the newest `etlstatus verify` of the collection found differing from MongoDB and did not repair.",
            perCollection { Double($0.divergent) })
        text.gauge(
            "mongo_pg_sync_verification_checked_documents",
            "Documents the newest verification of the collection checked.",
            perCollection { Double($0.documentsChecked) })
        text.gauge(
            "mongo_pg_sync_verification_repaired_documents",
            "Documents the newest verification of the collection repaired.",
            perCollection { Double($0.repaired) })
        text.gauge(
            "mongo_pg_sync_verification_age_seconds", "Seconds since the newest verification of the collection ended.",
            perCollection(\.ageSeconds))
        return text
    }
}
