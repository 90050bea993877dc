/// The state schema's migrations, in order: migration N brings the schema from version N-1 to N. A released
/// migration is never edited; changes come as a new one. `{schema}` is replaced by the quoted state schema name.
enum StateMigrations {
    static let all: [String] = [
        // 1: run ledger, init loads, collection loads, shared split points, catalog, sync points.
        """
        CREATE TABLE {schema}.runs (
            id bigserial PRIMARY KEY,
            tool text NOT NULL,
            host text NOT NULL,
            pid integer NOT NULL,
            arguments text NOT NULL,
            started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            finished_at timestamptz,
            status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'error')),
            exit_code integer,
            message text,
            figures jsonb NOT NULL DEFAULT '{}',
            steps jsonb NOT NULL DEFAULT '[]'
        );
        CREATE TABLE {schema}.init_loads (
            id bigserial PRIMARY KEY,
            run_id bigint REFERENCES {schema}.runs (id),
            status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'error')),
            started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            finished_at timestamptz
        );
        CREATE TABLE {schema}.init_load_positions (
            init_load_id bigint NOT NULL REFERENCES {schema}.init_loads (id),
            source text NOT NULL,
            oplog_ts bigint NOT NULL,
            PRIMARY KEY (init_load_id, source)
        );
        CREATE TABLE {schema}.collection_loads (
            id bigserial PRIMARY KEY,
            init_load_id bigint REFERENCES {schema}.init_loads (id),
            run_id bigint REFERENCES {schema}.runs (id),
            collection text NOT NULL,
            schema_hash text NOT NULL,
            rows jsonb NOT NULL DEFAULT '{}',
            documents bigint NOT NULL DEFAULT 0,
            loaded_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX ON {schema}.collection_loads (collection, id);
        CREATE TABLE {schema}.catalog_tables (
            collection text NOT NULL,
            table_name text NOT NULL,
            parent_table text,
            json_path text NOT NULL,
            depth integer NOT NULL,
            PRIMARY KEY (collection, table_name)
        );
        CREATE TABLE {schema}.catalog_columns (
            collection text NOT NULL,
            table_name text NOT NULL,
            column_name text NOT NULL,
            ordinal integer NOT NULL,
            json_path text,
            bson_type text,
            sql_type text NOT NULL,
            parent_table text,
            role text NOT NULL,
            PRIMARY KEY (collection, table_name, column_name)
        );
        CREATE TABLE {schema}.split_points (
            init_load_id bigint NOT NULL REFERENCES {schema}.init_loads (id),
            collection text NOT NULL,
            slices integer NOT NULL,
            points jsonb NOT NULL,
            PRIMARY KEY (init_load_id, collection, slices)
        );
        CREATE TABLE {schema}.sync_points (
            source text PRIMARY KEY,
            oplog_ts bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        """,
        // 2: freshness checks (`etlstatus check` and `metrics` measure, `etlstatus freshness` shows the history).
        """
        CREATE TABLE {schema}.freshness_checks (
            id bigserial PRIMARY KEY,
            checked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            table_schema text NOT NULL,
            table_name text NOT NULL,
            column_name text NOT NULL,
            max_age_seconds bigint NOT NULL,
            newest timestamptz,
            age_seconds double precision,
            error text
        );
        CREATE INDEX ON {schema}.freshness_checks (checked_at);
        """,
        // 3: verification results (`etlstatus verify` records, `check` and `metrics` report the newest per collection).
        """
        CREATE TABLE {schema}.verifications (
            id bigserial PRIMARY KEY,
            run_id bigint,
            collection text NOT NULL,
            mode text NOT NULL,
            finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            documents_checked bigint NOT NULL,
            different bigint NOT NULL,
            missing bigint NOT NULL,
            extra bigint NOT NULL,
            unstorable bigint NOT NULL,
            pending bigint NOT NULL,
            repaired bigint NOT NULL,
            divergent bigint NOT NULL,
            findings jsonb NOT NULL
        );
        CREATE INDEX ON {schema}.verifications (collection, id);
        """,
        // 4: a change stream source's resume token (BSON) beside its sync point, moved in the same transaction.
        """
        ALTER TABLE {schema}.sync_points ADD COLUMN resume_token bytea;
        """,
        // 5: documents oplog-sync still has to verify (they differed while MongoDB held newer changes), written in
        // the transaction of the batch that left them, so a killed run forgets none.
        """
        CREATE TABLE {schema}.pending_verifications (
            collection text NOT NULL,
            document_id bytea NOT NULL,
            PRIMARY KEY (collection, document_id)
        );
        """,
        // 6: a running run's newest sign of life (its newest step, or an idle following run's heartbeat), from which
        // `check --max-age` measures a run that never ends (`oplog-sync --follow`).
        """
        ALTER TABLE {schema}.runs ADD COLUMN last_seen_at timestamptz;
        """,
        // 7: loads of some collections. Which collections an init load covers (NULL: all of them), and a
        // collection's own replay start per source where it differs from the sync point (its load's position): its
        // entries before it are in its tables already, those from it on are replayed even when the sync point is later.
        """
        ALTER TABLE {schema}.init_loads ADD COLUMN collections text[];
        CREATE TABLE {schema}.collection_starts (
            collection text NOT NULL,
            source text NOT NULL,
            oplog_ts bigint NOT NULL,
            PRIMARY KEY (collection, source)
        );
        """,
        // 8: transactions whose end a replay has not read yet, per source (`file` for --from-file), written in the
        // transaction of the batch that read their entries (with its sync point), so the next run applies them whole.
        """
        CREATE TABLE {schema}.open_transactions (
            source text NOT NULL,
            transaction text NOT NULL,
            first_ts bigint NOT NULL,
            last_ts bigint NOT NULL,
            entries integer NOT NULL,
            operations bytea NOT NULL,
            PRIMARY KEY (source, transaction)
        );
        """,
        // 9: the places a schema excludes (`{"exclude": true}`), which have no column: the plan compiled from the
        // catalog must know them, or it would keep their values in `_extra` as unknown fields.
        """
        CREATE TABLE {schema}.catalog_excluded (
            collection text NOT NULL,
            json_path text NOT NULL,
            PRIMARY KEY (collection, json_path)
        );
        """,
        // 10: the column a table is distributed by on Citus (NULL: an ordinary table), so that tables a schema change
        // adds to a distributed collection are distributed too, and an operator sees the layout in the catalog.
        """
        ALTER TABLE {schema}.catalog_tables ADD COLUMN distribution_column text;
        """,
    ]
}
