"""Drives the init-load benchmark (see scripts/bench-init-load): generates the data, runs each tool as a real
process, and prints wall time, documents per second and peak RSS (from wait4's rusage) side by side."""
import json, os, shutil, subprocess, sys, tempfile, time

import bson
import pymongo
from bson import json_util

BIN = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests/TestSupport/Fixtures/sample_analytics")
SIZES = {"customers": int(os.environ.get("CUSTOMERS", "100000")), "accounts": int(os.environ.get("ACCOUNTS", "200000"))}
WORK = tempfile.mkdtemp(prefix="bench-init-load-")
DB = "bench_init_load"


def run(argv, env=None):
    """Runs a command; returns (seconds, peak RSS in MB, stdout). Fails loudly on a non-zero exit.
    The peak RSS comes from GNU time, not from this process's wait4: Linux keeps a process's high-water mark across
    fork and exec, so a child forked from this (large) Python process would report Python's RSS as its own."""
    rss_file = os.path.join(WORK, "rss")
    start = time.monotonic()
    process = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv, capture_output=True, env=env)
    elapsed = time.monotonic() - start
    if process.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({process.returncode}):\n{process.stderr.decode()}")
    with open(rss_file) as handle:
        rss_kb = int(handle.read().split()[-1])
    return elapsed, rss_kb / 1024, process.stdout.decode()


def replicated(name, count):
    """The fixture documents repeated to `count`, each with a fresh ObjectId."""
    with open(os.path.join(FIXTURES, f"{name}.json")) as handle:
        samples = [json_util.loads(line) for line in handle if line.strip()]
    for index in range(count):
        document = dict(samples[index % len(samples)])
        document["_id"] = bson.ObjectId()
        yield document


def write_dump(path, documents):
    with open(path, "wb") as handle:
        for document in documents:
            handle.write(bson.encode(document))


def main():
    client = pymongo.MongoClient(os.environ["MONGO_URI"])
    client.drop_database(DB)
    os.makedirs(os.path.join(WORK, "schemas"))
    for name in SIZES:
        shutil.copy(os.path.join(ROOT, "schemas", f"sample_analytics.{name}.json"), os.path.join(WORK, "schemas", f"{DB}.{name}.json"))
    config = os.path.join(WORK, "sync.ini")
    with open(config, "w") as handle:
        handle.write(f"[mongo]\nuri = {os.environ['MONGO_URI']}\n\n[psql]\nconninfo = {os.environ['PG_URI']}\n\n"
                     f"[sync]\nschemas_dir = schemas\nstate_schema = bench_etl\ntarget_schema = bench\n\n"
                     f"[collections]\n{DB}.customers\n{DB}.accounts\n")
    env = dict(os.environ)
    rows = []
    for name, count in SIZES.items():
        documents = list(replicated(name, count))
        dump = os.path.join(WORK, f"{name}.bson")
        write_dump(dump, documents)
        doubled = os.path.join(WORK, f"{name}-doubled.bson")
        write_dump(doubled, documents + list(replicated(name, count)))
        start = time.monotonic()
        for offset in range(0, len(documents), 5000):
            client[DB][name].insert_many(documents[offset:offset + 5000], ordered=False)
        print(f"{name}: {count} documents inserted into SecantusDB in {time.monotonic() - start:.1f} s", file=sys.stderr)
        del documents
        ns = f"{DB}.{name}"
        csv = os.path.join(WORK, "csv")
        for jobs in (1, 2):
            seconds, rss, out = run([os.path.join(BIN, "mongo-pg-bench"), "raw-read", os.environ["MONGO_URI"], ns, "--jobs", str(jobs)], env)
            rows.append((ns, f"(a) raw read, {jobs} cursor(s)", count, seconds, rss))
            seconds, rss, _ = run([os.path.join(BIN, "mongo-reader"), "--config", config, "--collection", ns, "--csv-dir", csv, "--jobs", str(jobs)], env)
            rows.append((ns, f"(b) mongo-reader server --jobs {jobs}", count, seconds, rss))
        for jobs in (1, 2):
            seconds, rss, _ = run([os.path.join(BIN, "mongo-reader"), "--config", config, "--collection", ns, "--csv-dir", csv, "--input-file", dump, "--jobs", str(jobs)], env)
            rows.append((ns, f"(c) mongo-reader .bson --jobs {jobs}", count, seconds, rss))
        seconds, rss, _ = run([os.path.join(BIN, "mongo-reader"), "--config", config, "--collection", ns, "--csv-dir", os.path.join(WORK, "csv2"), "--input-file", doubled, "--jobs", "2"], env)
        rows.append((ns, "(c) mongo-reader .bson --jobs 2, data doubled", 2 * count, seconds, rss))
        seconds, rss, _ = run([os.path.join(BIN, "psql-copy"), "--config", config, "--collection", ns, "--csv-dir", csv], env)
        rows.append((ns, "(d) psql-copy (verify, COPY x2, keys, swap)", count, seconds, rss))
        # psql \copy of the same part files into tables of the same columns, no key: the reference.
        with open(os.path.join(csv, ns, "manifest.json")) as handle:
            manifest = json.load(handle)
        copies = []
        for table in manifest["tables"]:
            reference = f'{table["name"]}_reference'
            subprocess.run(["psql", os.environ["PG_URI"], "-q", "-v", "ON_ERROR_STOP=1", "-c",
                            f'DROP TABLE IF EXISTS bench."{reference}"; CREATE TABLE bench."{reference}" (LIKE bench."{table["name"]}")'],
                           check=True, env=env)
            copies += [(reference, os.path.join(csv, ns, part["file"])) for part in table["parts"]]
        start = time.monotonic()
        peak = 0
        for reference, path in copies:
            _, rss, _ = run(["psql", os.environ["PG_URI"], "-q", "-v", "ON_ERROR_STOP=1", "-c", f"\\copy bench.\"{reference}\" from '{path}'"], env)
            peak = max(peak, rss)
        rows.append((ns, "(d) psql \\copy of the same parts, one by one", count, time.monotonic() - start, peak))
        # Like for like: psql-copy also builds the primary keys and analyzes, which a bare \copy leaves out.
        keys = []
        for table in manifest["tables"]:
            key = next(line for line in open(os.path.join(csv, ns, "schema.sql")).read().split("CREATE TABLE")
                       if f'."{table["name"]}" (' in line).split("PRIMARY KEY (")[1].split(")")[0]
            keys.append(f'ALTER TABLE bench."{table["name"]}_reference" ADD PRIMARY KEY ({key}); ANALYZE bench."{table["name"]}_reference"')
        seconds, peak_keys, _ = run(["psql", os.environ["PG_URI"], "-q", "-v", "ON_ERROR_STOP=1", "-c", "; ".join(keys)], env)
        rows.append((ns, "(d) psql \\copy as above, then the same keys + ANALYZE", count, time.monotonic() - start, max(peak, peak_keys)))
    print(f"\n{'collection':<26} {'step':<48} {'docs':>8} {'seconds':>8} {'docs/s':>9} {'RSS MB':>7}")
    for ns, step, count, seconds, rss in rows:
        print(f"{ns:<26} {step:<48} {count:>8} {seconds:>8.2f} {count / seconds:>9.0f} {rss:>7.1f}")
    client.drop_database(DB)
    shutil.rmtree(WORK, ignore_errors=True)


main()
