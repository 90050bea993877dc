"""Drives the resync benchmark (see scripts/bench-resync): a lapse that changed a fraction of the documents and rolled
the oplog past the sync point, mended by `oplog-sync --resync` and by a full init load of the same state, side by
side, each with a `SELECT count(*)` loop beside it. Prints seconds, rows and documents written and the loop's longest
wait; asserts nothing."""
import json, os, random, shutil, subprocess, sys, tempfile, threading, time

import bson
import pymongo
from bson import json_util

BIN = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "Tests/TestSupport/Fixtures/sample_analytics/customers.json")
CUSTOMERS = int(os.environ.get("CUSTOMERS", "100000"))
# FRACTIONS= (empty) skips the resync parts: only the column part runs.
FRACTIONS = [float(f) for f in os.environ.get("FRACTIONS", "0.01,0.10").split(",") if f.strip()]
OPLOG_ENTRIES = int(os.environ.get("OPLOG_ENTRIES", "1000"))
DB, NAME = "bench_resync", "customers"
NS = f"{DB}.{NAME}"
MONGO_URI, PG_URI = os.environ["MONGO_URI"], os.environ["PG_URI"]
WORK = tempfile.mkdtemp(prefix="bench-resync-")
CONFIG = os.path.join(WORK, "sync.ini")
TARGET, STATE = "bench_resync", "bench_resync_etl"


def log(message):
    print(message, file=sys.stderr, flush=True)


def tool(name, *arguments, check=True, environment=None):
    """Runs a tool with the config (and `environment` added to the process's); returns (seconds, exit status, stdout,
    stderr)."""
    argv = [os.path.join(BIN, name), "--config", CONFIG, *arguments]
    log("$ " + " ".join(argv))
    start = time.monotonic()
    process = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(environment or {})})
    elapsed = time.monotonic() - start
    if check and process.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({process.returncode}):\n{process.stderr[-4000:]}")
    return elapsed, process.returncode, process.stdout, process.stderr


def psql(sql):
    out = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", PG_URI, "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


class CountLoop:
    """`SELECT count(*)` on the root table, again and again on one psql session, for as long as a step runs: its
    longest wait is how long a reader was held up (a lock, a swap)."""

    def __init__(self):
        self.process = subprocess.Popen(["psql", "-X", "-At", "-q", PG_URI], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.longest, self.queries, self.running = 0.0, 0, True
        self.thread = threading.Thread(target=self.loop)
        self.thread.start()

    def loop(self):
        while self.running:
            start = time.monotonic()
            self.process.stdin.write(f"SELECT count(*) FROM {TARGET}.{NAME};\n")
            self.process.stdin.flush()
            self.process.stdout.readline()
            self.longest = max(self.longest, time.monotonic() - start)
            self.queries += 1

    def stop(self):
        self.running = False
        self.thread.join()
        self.process.stdin.close()
        self.process.wait()
        return self.longest


def written_rows():
    """Rows inserted, updated and deleted in the target schema's tables so far, by PostgreSQL's counters."""
    time.sleep(1.5)  # the counters reach the shared statistics at most once a second
    return int(psql(f"SELECT pg_stat_clear_snapshot(); SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                    f"FROM pg_stat_user_tables WHERE schemaname = '{TARGET}'").splitlines()[-1])


def table_rows():
    return int(psql(f"SELECT sum((xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM {TARGET}.' "
                    f"|| quote_ident(tablename), false, true, '')))[1]::text::bigint) FROM pg_tables "
                    f"WHERE schemaname = '{TARGET}'"))


def init_load():
    csv = os.path.join(WORK, "csv")
    shutil.rmtree(csv, ignore_errors=True)
    seconds = 0.0
    for step in [("etlstatus", "init-load-start"), ("mongo-reader", "--collection", NS, "--csv-dir", csv),
                 ("psql-copy", "--collection", NS, "--csv-dir", csv), ("etlstatus", "init-load-finish", "ok")]:
        seconds += tool(*step)[0]
    return seconds


def lapse(client, fraction, seed):
    """Changes `fraction` of the documents (a new email and a changed first account), then writes enough elsewhere
    that the oplog rolls past the sync point."""
    collection = client[DB][NAME]
    ids = [d["_id"] for d in collection.find({}, {"_id": 1})]
    chosen = random.Random(seed).sample(ids, int(len(ids) * fraction))
    requests = [pymongo.UpdateOne({"_id": i}, {"$set": {"email": f"changed-{seed}-{n}@example.com"},
                                               "$push": {"accounts": seed * 1000 + n}})
                for n, i in enumerate(chosen)]
    for start in range(0, len(requests), 1000):
        collection.bulk_write(requests[start:start + 1000], ordered=False)
    client[DB]["filler"].insert_many([{"n": n} for n in range(OPLOG_ENTRIES + 100)])
    client.admin.command("secantusAdmin.pruneOplog")
    return len(chosen)


def write_schema(schema):
    with open(os.path.join(WORK, "schemas", f"{NS}.json"), "w") as handle:
        json.dump(schema, handle)


def measured(step):
    loop = CountLoop()
    try:
        result = step()
    finally:
        wait = loop.stop()
    return result, wait, loop.queries


def main():
    client = pymongo.MongoClient(MONGO_URI)
    client.drop_database(DB)
    os.makedirs(os.path.join(WORK, "schemas"))
    # The schema lacks `birthdate` at first: the last part adds it, one column every document fills.
    with open(os.path.join(ROOT, "schemas", "sample_analytics.customers.json")) as handle:
        full_schema = json.load(handle)
    write_schema({key: value for key, value in full_schema.items() if key != "birthdate"})
    with open(CONFIG, "w") as handle:
        handle.write(f"[mongo]\nuri = {MONGO_URI}\n\n[psql]\nconninfo = {PG_URI}\n\n"
                     f"[sync]\nschemas_dir = schemas\nstate_schema = {STATE}\ntarget_schema = {TARGET}\n\n"
                     f"[collections]\n{NS}\n")
    with open(FIXTURE) as handle:
        samples = [json_util.loads(line) for line in handle if line.strip()]
    documents = []
    for index in range(CUSTOMERS):
        document = dict(samples[index % len(samples)])
        document["_id"] = bson.ObjectId()
        documents.append(document)
        if len(documents) == 10000:
            client[DB][NAME].insert_many(documents)
            documents = []
    if documents:
        client[DB][NAME].insert_many(documents)
    log(f"{CUSTOMERS} customers inserted")
    init_load()
    tool("oplog-sync")
    rows = []
    for seed, fraction in enumerate(FRACTIONS, start=1):
        changed = lapse(client, fraction, seed)
        _, status, _, stderr = tool("oplog-sync", check=False)
        log(f"plain oplog-sync after the lapse: exit {status}: {stderr.strip().splitlines()[-1] if stderr else ''}")
        before = written_rows()
        (seconds, _, out, _), wait, queries = measured(lambda: tool("oplog-sync", "--resync", "--json"))
        summary = json.loads(out)
        resync_rows = written_rows() - before
        count = int(psql(f"SELECT count(*) FROM {TARGET}.{NAME}"))
        rows.append((fraction, changed, "oplog-sync --resync", seconds, resync_rows, summary["documents_written"],
                     wait, queries, count == client[DB][NAME].count_documents({})))
        seconds, wait, queries = measured(init_load)
        count = int(psql(f"SELECT count(*) FROM {TARGET}.{NAME}"))
        rows.append((fraction, changed, "init load", seconds, table_rows(), CUSTOMERS, wait, queries,
                     count == client[DB][NAME].count_documents({})))
        tool("oplog-sync")
    if os.environ.get("COLUMN", "1") != "0":  # COLUMN=0 leaves the column part out
        # One column added to the schema file: the next plain oplog-sync adds it in place, once converging every document
        # (as before AdditionFill: MONGO_PG_SYNC_NO_FILL=1) and once writing only the new column, each time from the same
        # state; beside the init load that would reload everything for it.
        without_birthdate = {key: value for key, value in full_schema.items() if key != "birthdate"}
        for method, environment in [("in place, converged", {"MONGO_PG_SYNC_NO_FILL": "1"}), ("in place, filled", {})]:
            write_schema(full_schema)
            before = written_rows()
            (seconds, _, out, _), wait, queries = measured(lambda: tool("oplog-sync", "--json", environment=environment))
            changed_rows = written_rows() - before
            converged = sum(change.get("documents_converged", 0) for change in json.loads(out).get("schema_changes", []))
            count = int(psql(f"SELECT count(*) FROM {TARGET}.{NAME} WHERE birthdate IS NOT NULL"))
            rows.append((None, 0, method, seconds, changed_rows, converged, wait, queries,
                         count == client[DB][NAME].count_documents({"birthdate": {"$ne": None}})))
            write_schema(without_birthdate)
            init_load()
            tool("oplog-sync")
        write_schema(full_schema)
        seconds, wait, queries = measured(init_load)
        count = int(psql(f"SELECT count(*) FROM {TARGET}.{NAME} WHERE birthdate IS NOT NULL"))
        rows.append((None, 0, "init load", seconds, table_rows(), CUSTOMERS, wait, queries,
                     count == client[DB][NAME].count_documents({"birthdate": {"$ne": None}})))
    print(f"\n{CUSTOMERS} customers; oplog kept at {OPLOG_ENTRIES} entries; debug build: {'debug' in BIN}")
    print(f"{'changed':>14} {'method':<20} {'seconds':>8} {'rows written':>13} {'docs written':>13} "
          f"{'longest count(*) wait':>22} {'counts':>7} {'matches':>8}")
    for fraction, changed, method, seconds, written, documents, wait, queries, matches in rows:
        label = "new column" if fraction is None else f"{fraction:.0%} ({changed})"
        print(f"{label:>14} {method:<20} {seconds:8.2f} {written:13d} {documents:13d} "
              f"{wait * 1000:19.1f} ms {queries:7d} {str(matches):>8}")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
