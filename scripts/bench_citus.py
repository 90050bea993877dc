"""Drives the Citus benchmark (see scripts/bench-citus): the oplog benchmark's documents and 200k-entry oplog file
(scripts/bench_oplog.py's model, same seed), one mongo-reader read of the documents, then per round psql-copy of that
read and `oplog-sync --from-file` of the file into plain PostgreSQL and into Citus in turn, on freshly loaded tables.
Prints the commands, documents/s and entries/s per target, the Citus / plain ratios, and whether the tables hold what
the model says (row counts, sums and a digest). Asserts nothing."""
import json, os, shutil, statistics, subprocess, sys, time, uuid

import bson

import bench_oplog
from bench_oplog import NS, Model, log, run, samples, verdict, write_oplog

BIN = sys.argv[1]
ROUNDS = int(os.environ.get("ROUNDS", "1"))
JOBS = os.environ.get("JOBS", "2")
WORK = bench_oplog.WORK
TARGETS = {"plain": os.environ["PG_URI"], "citus": os.environ["CITUS_PG_URI"]}


def psql(uri, sql):
    out = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", uri, "-c", sql], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def table_checks(uri):
    row = psql(uri, """SELECT (SELECT count(*) FROM bench.customers), (SELECT count(*) FROM bench.customers_accounts),
                              (SELECT coalesce(sum(accounts), 0) FROM bench.customers_accounts),
                              (SELECT md5(string_agg(_id || ':' || email, ',' ORDER BY _id COLLATE "C"))
                               FROM bench.customers)""")
    documents, rows, total, digest = row.split("|")
    return int(documents), int(rows), int(total), digest


def write_config(target):
    config = os.path.join(WORK, f"{target}.ini")
    with open(config, "w") as handle:
        handle.write(f"[mongo]\nuri = {os.environ['MONGO_URI']}\n\n[psql]\nconninfo = {TARGETS[target]}\n"
                     f"distribute = {'citus' if target == 'citus' else 'none'}\n\n"
                     f"[sync]\nschemas_dir = schemas\nstate_schema = bench_etl\ntarget_schema = bench\n\n"
                     f"[collections]\n{NS}\n")
    return config


def main():
    os.makedirs(os.path.join(WORK, "schemas"))
    shutil.copy(os.path.join(bench_oplog.ROOT, "schemas", "sample_analytics.customers.json"),
                os.path.join(WORK, "schemas", f"{NS}.json"))
    env = dict(os.environ)
    configs = {target: write_config(target) for target in TARGETS}
    for uri in TARGETS.values():
        psql(uri, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS bench CASCADE; "
                  "DROP SCHEMA IF EXISTS bench_etl CASCADE")

    # The documents and the oplog, as scripts/bench_oplog.py's file part makes them for ENTRIES.
    model = Model(bench_oplog.random.Random(bench_oplog.SEED), samples(), bench_oplog.START_DOCS)
    dump = os.path.join(WORK, "customers.bson")
    with open(dump, "wb") as handle:
        for _id in model.ids:
            handle.write(bson.encode(model.docs[_id]))
    csv = os.path.join(WORK, "csv")
    run("read: mongo-reader", [os.path.join(BIN, "mongo-reader"), "--config", configs["plain"], "--collection", NS,
                               "--csv-dir", csv, "--input-file", dump], env)
    rows_loaded = sum(table["rows"] for table in json.load(open(os.path.join(csv, NS, "manifest.json")))["tables"])
    model.rng = bench_oplog.random.Random(bench_oplog.SEED + bench_oplog.ENTRIES)
    ui = bson.Binary(uuid.UUID(int=model.rng.getrandbits(128)).bytes, 4)
    oplog = os.path.join(WORK, "oplog.bson")
    write_oplog(model, bench_oplog.ENTRIES, ui, oplog)
    expected = model.checks()

    loads, replays, notes = {t: [] for t in TARGETS}, {t: [] for t in TARGETS}, []
    for round_number in range(ROUNDS):
        for target in TARGETS:
            seconds, _, out, _, _, _ = run(f"load {target}", [os.path.join(BIN, "psql-copy"), "--config",
                                           configs[target], "--collection", NS, "--csv-dir", csv, "--jobs", JOBS,
                                           "--json"], env)
            loads[target].append(seconds)
            seconds, _, out, _, _, _ = run(f"replay {target}", [os.path.join(BIN, "oplog-sync"), "--config",
                                           configs[target], "--from-file", oplog, "--json"], env)
            summary = json.loads(out)
            replays[target].append((summary["entries_read"], summary["seconds"], seconds))
            notes.append(f"round {round_number + 1} {target}: load {loads[target][-1]:.2f} s, replay "
                         f"{summary['seconds']:.2f} s; {verdict(expected, table_checks(TARGETS[target]))}")
            log(notes[-1])

    layout = psql(TARGETS["citus"], """SELECT string_agg(c.relname || ' ' || p.partmethod::text || ' by '
                                          || column_to_column_name(p.logicalrelid, p.partkey) || ', colocation '
                                          || p.colocationid::text, '; ' ORDER BY c.relname)
                                       FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
                                       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bench'""")
    documents = bench_oplog.START_DOCS
    print("\ncommands:")
    for label, command in bench_oplog.COMMANDS:
        print(f"  {label:<20} {command}")
    print(f"\n{documents} documents, {rows_loaded} rows; {bench_oplog.ENTRIES} oplog entries; rounds {ROUNDS}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"citus tables: {layout}")
    figures = {}
    for target in TARGETS:
        load = statistics.median(loads[target])
        entries, replay, replay_wall = (statistics.median(x[i] for x in replays[target]) for i in range(3))
        figures[target] = (documents / load, entries / replay)
        print(f"{target:<6} init load {load:7.2f} s {documents / load:9.0f} docs/s {rows_loaded / load:9.0f} rows/s   "
              f"replay {replay:7.2f} s {entries / replay:9.0f} entries/s (wall {replay_wall:.2f} s)")
    print(f"citus / plain: init load {figures['citus'][0] / figures['plain'][0]:.2f}x, "
          f"replay {figures['citus'][1] / figures['plain'][1]:.2f}x (of the plain rate)")
    for note in notes:
        print(note)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
