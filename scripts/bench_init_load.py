"""Drives the init-load benchmark (see scripts/bench-init-load) against the SecantusDB that scripts/services runs, with
its default oplog size: the data is inserted first, which fills the oplog, as a production oplog is full. Then, per
collection and side by side in rounds (the median of ROUNDS=3 is printed, with ratios):

  raw read   pymongo, one cursor, RawBSONDocument (nothing decoded): the server's floor
  naive      pymongo -> flatten in Python -> psycopg COPY into plain tables (json nodes as jsonb; no keys, no ANALYZE)
  toolkit    what a user runs: etlstatus init-load-start, mongo-reader & psql-copy --follow-reader side by side,
             etlstatus init-load-finish ok (timed from the first command's start to the last one's end)
  sequential mongo-reader, then plain psql-copy: where the overlap saves time

and where the toolkit's time goes (init-load-start, the read, psql-copy's tail after the read). Asserts nothing."""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

try:
    import psycopg
except ImportError:  # the naive script's driver: installed here, not by scripts/setup (only the benchmark needs it)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "psycopg[binary]"],
                   check=True)
    import psycopg
import bson
import pymongo
from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

BIN = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests/TestSupport/Fixtures/sample_analytics")
SIZES = {"customers": int(os.environ.get("CUSTOMERS", "100000")), "accounts": int(os.environ.get("ACCOUNTS", "200000"))}
ROUNDS = int(os.environ.get("ROUNDS", "3"))
WORK = tempfile.mkdtemp(prefix="bench-init-load-")
DB = "bench_init_load"
MONGO_URI, PG_URI = os.environ["MONGO_URI"], os.environ["PG_URI"]


def run(argv):
    """Runs a tool to completion; returns (seconds, stdout). Fails loudly on a non-zero exit."""
    start = time.monotonic()
    process = subprocess.run(argv, capture_output=True)
    if process.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({process.returncode}):\n{process.stderr.decode()}")
    return time.monotonic() - start, process.stdout.decode()


def replicated(name, count):
    """The fixture documents repeated to `count`, each with a fresh ObjectId."""
    with open(os.path.join(FIXTURES, f"{name}.json")) as handle:
        samples = [json_util.loads(line) for line in handle if line.strip()]
    for index in range(count):
        document = dict(samples[index % len(samples)])
        document["_id"] = bson.ObjectId()
        yield document


def raw_read(client, name):
    """Returns the seconds until the first document: the server's find, which SecantusDB answers only once it has
    the whole result."""
    collection = client[DB].get_collection(name, codec_options=CodecOptions(document_class=RawBSONDocument))
    start = time.monotonic()
    first = None
    for _ in collection.find():
        if first is None:
            first = time.monotonic() - start
    return first


def server_cpu_seconds():
    """The SecantusDB process's CPU time so far (user and system), from /proc; 0 where it cannot be read."""
    try:
        with open(os.path.join(os.environ.get("SYNC_RUN_DIR", ".run"), "mongo.pid")) as handle:
            pid = int(handle.read().strip())
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


# --- the naive script: a generic flattener over the same schema file, one COPY per table on its own connection ---

SQL_TYPES = {"objectId": "text", "string": "text", "int": "integer", "long": "bigint", "double": "double precision",
             "bool": "boolean", "date": "timestamptz", "decimal": "numeric", "json": "jsonb"}


def naive_tables(schema, root):
    """[(table, [(column, sql type)], [per-column getter path], array path or None, parent index)]."""
    tables = []

    def walk(node, prefix, columns):
        for key, sub in node.items():
            path = prefix + [key]
            if isinstance(sub, dict):
                walk(sub, path, columns)
            elif isinstance(sub, list):
                element = sub[0]
                name = f"{root}_{'_'.join(path)}"
                child = [("root_id", "text"), ("idx", "integer")]
                if isinstance(element, dict):
                    walk(element, [], child)
                else:
                    child.append((path[-1], SQL_TYPES[element]))
                tables.append((name, child, path))
            else:
                columns.append(("_".join(path), SQL_TYPES[sub]))

    columns = []
    walk(schema, [], columns)
    return [(root, columns, None)] + tables


def naive_value(value, sql_type):
    if value is None:
        return None
    if sql_type == "jsonb":
        return json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS)
    if isinstance(value, bson.ObjectId):
        return str(value)
    return value


def naive_flatten(document, node, prefix=""):
    """The scalar leaves of `document` by column name (arrays are left to child tables)."""
    out = {}
    for key, sub in node.items():
        value = document.get(key) if isinstance(document, dict) else None
        if isinstance(sub, dict):
            out.update(naive_flatten(value or {}, sub, f"{prefix}{key}_"))
        elif not isinstance(sub, list):
            out[f"{prefix}{key}"] = value
    return out


def naive_load(client, name, schema):
    tables = naive_tables(schema, name)
    connections = [psycopg.connect(PG_URI, autocommit=True) for _ in tables]
    connections[0].execute("DROP SCHEMA IF EXISTS naive CASCADE; CREATE SCHEMA naive")
    for table, columns, _ in tables:
        definition = ", ".join(f'"{column}" {sql_type}' for column, sql_type in columns)
        connections[0].execute(f'CREATE TABLE naive."{table}" ({definition})')
    cursors = [connection.cursor() for connection in connections]
    copies = [cursor.copy(f'COPY naive."{table}" FROM STDIN') for cursor, (table, _, _) in zip(cursors, tables)]
    writers = [copy.__enter__() for copy in copies]
    root_columns = tables[0][1]
    count = 0
    for document in client[DB][name].find():
        flat = naive_flatten(document, schema)
        writers[0].write_row([naive_value(flat.get(column), sql_type) for column, sql_type in root_columns])
        root_id = str(document["_id"])
        for writer, (_, columns, path) in zip(writers[1:], tables[1:]):
            array = document
            for part in path:
                array = array.get(part) if isinstance(array, dict) else None
            for index, element in enumerate(array or []):
                if isinstance(element, dict):
                    values = naive_flatten(element, {c: "x" for c, _ in columns[2:]})
                    row = [values.get(column) for column, _ in columns[2:]]
                else:
                    row = [element]
                writer.write_row([root_id, index] + [naive_value(v, t) for v, (_, t) in zip(row, columns[2:])])
        count += 1
    for copy in copies:
        copy.__exit__(None, None, None)
    for connection in connections:
        connection.close()
    return count


# --- the toolkit, as a user runs it ---

def tool(name):
    return os.path.join(BIN, name)


def toolkit(config, ns, csv, follow=True):
    """Returns (total seconds, init-load-start seconds, reader seconds, psql-copy's tail after the reader)."""
    start = time.monotonic()
    run([tool("etlstatus"), "--config", config, "init-load-start"])
    started = time.monotonic()
    reader_argv = [tool("mongo-reader"), "--config", config, "--collection", ns, "--csv-dir", csv]
    copy_argv = [tool("psql-copy"), "--config", config, "--collection", ns, "--csv-dir", csv]
    if follow:
        reader = subprocess.Popen(reader_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        copier = subprocess.Popen(copy_argv + ["--follow-reader"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, reader_errors = reader.communicate()
        read_end = time.monotonic()
        _, copy_errors = copier.communicate()
        copy_end = time.monotonic()
        if reader.returncode or copier.returncode:
            sys.exit(f"toolkit failed: reader {reader.returncode} {reader_errors.decode()}\n"
                     f"psql-copy {copier.returncode} {copy_errors.decode()}")
    else:
        run(reader_argv)
        read_end = time.monotonic()
        run(copy_argv)
        copy_end = time.monotonic()
    run([tool("etlstatus"), "--config", config, "init-load-finish", "ok"])
    end = time.monotonic()
    return end - start, started - start, read_end - started, copy_end - read_end


def main():
    client = pymongo.MongoClient(MONGO_URI)
    # REUSE=1 keeps the data of an earlier REUSE=1 run (and leaves it for the next): for working on one step.
    reuse = os.environ.get("REUSE") == "1"
    if not reuse:
        client.drop_database(DB)
    os.makedirs(os.path.join(WORK, "schemas"))
    schemas = {}
    for name in SIZES:
        source = os.path.join(ROOT, "schemas", f"sample_analytics.{name}.json")
        shutil.copy(source, os.path.join(WORK, "schemas", f"{DB}.{name}.json"))
        with open(source) as handle:
            schemas[name] = json.load(handle)
    config = os.path.join(WORK, "sync.ini")
    with open(config, "w") as handle:
        handle.write(f"[mongo]\nuri = {MONGO_URI}\n\n[psql]\nconninfo = {PG_URI}\n\n"
                     f"[sync]\nschemas_dir = schemas\nstate_schema = bench_etl\ntarget_schema = bench\n\n"
                     f"[collections]\n{DB}.customers\n{DB}.accounts\n")
    for name, count in SIZES.items():
        if reuse and client[DB][name].estimated_document_count() == count:
            continue
        client[DB][name].drop()
        start = time.monotonic()
        batch = []
        for document in replicated(name, count):
            batch.append(document)
            if len(batch) == 5000:
                client[DB][name].insert_many(batch, ordered=False)
                batch = []
        if batch:
            client[DB][name].insert_many(batch, ordered=False)
        print(f"{name}: {count} documents inserted in {time.monotonic() - start:.1f} s", file=sys.stderr)
    oplog = client.local["oplog.rs"].estimated_document_count()
    print(f"oplog: {oplog} entries after loading the data (SecantusDB's default keeps at most 100000)", file=sys.stderr)
    csv = os.path.join(WORK, "csv")
    results = {}  # (name, step) -> [seconds]
    details = {}  # name -> [(start, read, tail)]
    server_cpu = {}  # (name, step) -> [the server's CPU seconds]
    first_answers = {}  # name -> [seconds to the raw read's first document]
    for round_ in range(ROUNDS):
        for name, count in SIZES.items():
            ns = f"{DB}.{name}"
            steps = [
                ("raw read", lambda: raw_read(client, name)),
                ("naive", lambda: naive_load(client, name, schemas[name])),
                ("toolkit", lambda: toolkit(config, ns, csv)),
                ("sequential", lambda: toolkit(config, ns, csv, follow=False)),
            ]
            for step, action in steps:
                start, cpu = time.monotonic(), server_cpu_seconds()
                outcome = action()
                seconds = time.monotonic() - start
                results.setdefault((name, step), []).append(seconds)
                server_cpu.setdefault((name, step), []).append(server_cpu_seconds() - cpu)
                if step == "raw read":
                    first_answers.setdefault(name, []).append(outcome)
                if step == "toolkit":
                    details.setdefault(name, []).append(outcome[1:])
                print(f"round {round_ + 1} {name} {step}: {seconds:.2f} s", file=sys.stderr)
    print(f"\nmedian of {ROUNDS}, docs/s (ratio to the raw read; ratio to the naive script)")
    print(f"{'':<52}" + "".join(f"{f'{n} {c // 1000}k':>26}" for n, c in SIZES.items()))
    labels = {"raw read": "raw read (pymongo RawBSONDocument, 1 cursor)", "naive": "naive (pymongo, flatten, COPY)",
              "toolkit": "toolkit (start, reader & --follow-reader, finish)",
              "sequential": "  the same, reader then plain psql-copy"}
    for step, label in labels.items():
        cells = []
        for name, count in SIZES.items():
            median = statistics.median(results[(name, step)])
            raw = statistics.median(results[(name, "raw read")])
            naive = statistics.median(results[(name, "naive")])
            cells.append(f"{count / median / 1000:.1f}k {raw / median:.2f}x {naive / median:.2f}x")
        print(f"{label:<52}" + "".join(f"{cell:>26}" for cell in cells))
    print("\ntoolkit's time, median s: init-load-start / read (mongo-reader) / psql-copy after the read")
    for name in SIZES:
        columns = list(zip(*details[name]))
        print(f"  {name}: " + " / ".join(f"{statistics.median(column):.2f}" for column in columns))
    print("\nthe server's CPU seconds, median: raw read / naive / toolkit / sequential; the raw read's first document")
    for name in SIZES:
        cpu = " / ".join(f"{statistics.median(server_cpu[(name, step)]):.2f}" for step in labels)
        print(f"  {name}: {cpu}; first document after {statistics.median(first_answers[name]):.2f} s")
    if not reuse:
        client.drop_database(DB)
    shutil.rmtree(WORK, ignore_errors=True)


main()
