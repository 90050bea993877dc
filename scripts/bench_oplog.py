"""Drives the oplog-sync benchmark (see scripts/bench-oplog): generates customers-shaped documents and an oplog of
mongod's forms over them, loads the documents, replays the oplog with `oplog-sync --from-file` (two file sizes), then
issues the same mix of writes live against SecantusDB and times `oplog-sync` beside a plain read of the same oplog
range, and (part "modes") `oplog-sync` with `mode = oplog` beside `mode = changestream` on one live workload; with
PARTS=follow, a steady writer, a catch-up after a pause and a long `oplog-sync --follow` with its RSS sampled. Prints
command lines, entries, seconds, entries/s, peak RSS (GNU time) and ratios; asserts nothing. After each
replay it also prints whether the tables hold what they should (row counts and checksums against the model or
MongoDB), so a fast wrong answer shows."""
import copy, datetime, hashlib, json, os, random, shlex, shutil, signal, socket, subprocess, sys, tempfile, threading, time, uuid

import bson
import pymongo
from bson import json_util
from bson.raw_bson import RawBSONDocument
from pymongo import DeleteOne, InsertOne, ReplaceOne, UpdateOne

BIN = sys.argv[1] if len(sys.argv) > 1 else ""
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "Tests/TestSupport/Fixtures/sample_analytics/customers.json")
START_DOCS = int(os.environ.get("START_DOCS", "20000"))
ENTRIES = int(os.environ.get("ENTRIES", "200000"))
ENTRIES_LARGE = int(os.environ.get("ENTRIES_LARGE", str(2 * ENTRIES)))
LIVE_ENTRIES = int(os.environ.get("LIVE_ENTRIES", "60000"))
# Side by side (file and ratios parts): OLD_BIN names the directory of an older build's oplog-sync, replayed in turn
# with this build's on the same file (ROUNDS times), or on the same live range (targets of its own, loaded at the same
# position). ENTRIES_LARGE=0 skips the larger file.
OLD_BIN = os.environ.get("OLD_BIN", "")
ROUNDS = int(os.environ.get("ROUNDS", "1"))
# The follow part (scripts/bench-oplog --follow): a steady writer of WRITE_RATE writes/s, PAUSE_MINUTES with no
# oplog-sync running then one catch-up run, then FOLLOW_MINUTES of `oplog-sync --follow` with its RSS sampled every
# SAMPLE_SECONDS.
WRITE_RATE = float(os.environ.get("WRITE_RATE", "10"))
PAUSE_MINUTES = float(os.environ.get("PAUSE_MINUTES", "10"))
FOLLOW_MINUTES = float(os.environ.get("FOLLOW_MINUTES", "10"))
SAMPLE_SECONDS = float(os.environ.get("SAMPLE_SECONDS", "5"))
PARTS = os.environ.get("PARTS", "ratios,file,live,modes").split(",")
SEED = int(os.environ.get("SEED", "1"))
DB = "bench_oplog"
NS = f"{DB}.customers"
WORK = tempfile.mkdtemp(prefix="bench-oplog-")
COMMANDS = []  # (label, command line) as run, printed with the figures
ROWS = []  # (part, step, entries, seconds, entries/s, RSS MB, note)

# The mix, in percent of all entries; the update kinds add up to 60.
MIX = [("insert", 20), ("replace", 10), ("delete", 10),
       ("set_email", 20), ("set_name_address", 5), ("set_account", 10), ("inc_account", 5), ("push_account", 8),
       ("pop_account", 4), ("pull_account", 3), ("email_and_account", 3), ("tier_key", 2)]
ARRAY_KINDS = {"set_account", "inc_account", "pop_account", "pull_account", "email_and_account"}


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(label, argv, env=None, check=True):
    """Runs a command under GNU time; returns (wall seconds, peak RSS MB, stdout, exit status, stderr, CPU seconds
    (user + system)). The peak RSS comes from GNU time, not from this process's wait4: Linux keeps a process's
    high-water mark across fork and exec."""
    COMMANDS.append((label, " ".join(shlex.quote(part) for part in argv)))
    log(f"$ {COMMANDS[-1][1]}")
    rss_file = os.path.join(WORK, "rss")
    start = time.monotonic()
    process = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", rss_file] + argv, capture_output=True, env=env)
    elapsed = time.monotonic() - start
    if check and process.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({process.returncode}):\n{process.stderr.decode()[-4000:]}")
    with open(rss_file) as handle:
        rss_kb, user, system = handle.read().split()[-3:]
    return elapsed, int(rss_kb) / 1024, process.stdout.decode(), process.returncode, process.stderr.decode(), float(user) + float(system)


def postgres_cpu():
    """CPU seconds the bench's PostgreSQL cluster spent so far: the postmaster's own and its exited children's (the
    backends of finished runs) plus its live children's; the difference across a run is PostgreSQL's share of it, a
    figure the box's load moves less than wall time."""
    tick = os.sysconf("SC_CLK_TCK")
    data = os.path.join(ROOT, os.environ.get("SYNC_RUN_DIR", ".run"), "pg", "data", "postmaster.pid")
    with open(data) as handle:
        postmaster = handle.readline().strip()

    def fields(pid):
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()

    own = fields(postmaster)
    total = sum(int(value) for value in own[11:15])  # utime, stime, cutime, cstime
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = fields(pid)
        except OSError:
            continue
        if stat[1] == postmaster:
            total += int(stat[11]) + int(stat[12])
    return total / tick


def psql(sql):
    out = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", os.environ["PG_URI"], "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Model:
    """The collection as the writes leave it, and the generator of the mix: each step picks a kind and a document and
    returns (oplog entry body of mongod's form, the equivalent pymongo write request)."""

    def __init__(self, rng, samples, count):
        self.rng, self.samples = rng, samples
        self.docs, self.ids, self.where = {}, [], {}
        self.kinds = [kind for kind, weight in MIX for _ in range(weight)]
        for _ in range(count):
            self._add(self.fresh())

    def fresh(self, _id=None):
        sample = self.rng.choice(self.samples)
        document = {"_id": _id or bson.ObjectId(), **{k: copy.deepcopy(v) for k, v in sample.items() if k != "_id"}}
        document["email"] = f"user{self.rng.randrange(10**9)}@example.com"
        document["accounts"] = [self.rng.randrange(100000, 999999) for _ in range(self.rng.randint(1, 6))]
        return document

    def _add(self, document):
        self.where[document["_id"]] = len(self.ids)
        self.ids.append(document["_id"])
        self.docs[document["_id"]] = document

    def _remove(self, _id):
        index = self.where.pop(_id)
        last = self.ids.pop()
        if last != _id:
            self.ids[index] = last
            self.where[last] = index
        del self.docs[_id]

    @staticmethod
    def array_diff(old, new):
        """mongod's `$v:2` array diff from one array to the next: `l` when it shrinks, `u<i>` for changed or new
        indexes."""
        diff = {"a": True}
        if len(new) < len(old):
            diff["l"] = len(new)
        for index, value in enumerate(new):
            if index >= len(old) or old[index] != value:
                diff[f"u{index}"] = value
        return diff

    def step(self):
        kind = self.rng.choice(self.kinds)
        if kind == "insert" or not self.ids:
            document = self.fresh()
            self._add(document)
            # Copies: the model's document changes with later steps, the entry and the request must not.
            return {"op": "i", "o": copy.deepcopy(document), "o2": {"_id": document["_id"]}}, InsertOne(copy.deepcopy(document))
        _id = self.rng.choice(self.ids)
        document = self.docs[_id]
        accounts = document.get("accounts") or []
        if kind in ARRAY_KINDS and not accounts:
            kind = "push_account"
        if kind == "delete":
            self._remove(_id)
            return {"op": "d", "o": {"_id": _id}}, DeleteOne({"_id": _id})
        if kind == "replace":
            replacement = self.fresh(_id)
            self.docs[_id] = replacement
            return ({"op": "u", "o": copy.deepcopy(replacement), "o2": {"_id": _id}},
                    ReplaceOne({"_id": _id}, {k: copy.deepcopy(v) for k, v in replacement.items() if k != "_id"}))
        new_accounts, diff, update = list(accounts), {}, {}
        if kind in ("set_email", "email_and_account"):
            document["email"] = f"user{self.rng.randrange(10**9)}@example.com"
            diff["u"] = {"email": document["email"]}
            update["$set"] = {"email": document["email"]}
        if kind == "set_name_address":
            document["name"], document["address"] = f"Name {self.rng.randrange(10**6)}", f"{self.rng.randrange(9999)} Main St"
            diff["u"] = {"name": document["name"], "address": document["address"]}
            update["$set"] = {"name": document["name"], "address": document["address"]}
        if kind in ("set_account", "email_and_account"):
            index = self.rng.randrange(len(accounts))
            new_accounts[index] = self.rng.randrange(100000, 999999)
            update.setdefault("$set", {})[f"accounts.{index}"] = new_accounts[index]
        elif kind == "inc_account":
            index = self.rng.randrange(len(accounts))
            new_accounts[index] += 1
            update["$inc"] = {f"accounts.{index}": 1}
        elif kind == "push_account":
            new_accounts.append(self.rng.randrange(100000, 999999))
            update["$push"] = {"accounts": new_accounts[-1]}
        elif kind == "pop_account":
            new_accounts.pop()
            update["$pop"] = {"accounts": 1}
        elif kind == "pull_account":
            value = self.rng.choice(accounts)
            new_accounts = [account for account in accounts if account != value]
            update["$pull"] = {"accounts": value}
        elif kind == "tier_key":
            key = uuid.UUID(int=self.rng.getrandbits(128)).hex
            value = {"tier": self.rng.choice(["Bronze", "Silver", "Gold"]), "id": key, "active": True, "benefits": ["concierge services"]}
            document.setdefault("tier_and_details", {})[key] = value
            diff["stier_and_details"] = {"i": {key: value}}
            update["$set"] = {f"tier_and_details.{key}": value}
        if new_accounts != accounts:
            document["accounts"] = new_accounts
            diff["saccounts"] = self.array_diff(accounts, new_accounts)
        if not diff:  # an $inc whose value did not change cannot happen; keep the entry well-formed anyway
            diff["u"] = {"email": document["email"]}
        return {"op": "u", "o": {"$v": 2, "diff": diff}, "o2": {"_id": _id}}, UpdateOne({"_id": _id}, update)

    def checks(self):
        """What the tables must hold: documents, account rows, sum of accounts, md5 of `_id:email` in `_id` order."""
        pairs = ",".join(f"{_id}:{self.docs[_id]['email']}" for _id in sorted(self.docs, key=str))
        return (len(self.docs), sum(len(d.get("accounts") or []) for d in self.docs.values()),
                sum(sum(d.get("accounts") or []) for d in self.docs.values()), hashlib.md5(pairs.encode()).hexdigest())


def table_checks(schema):
    """The same figures, from PostgreSQL."""
    row = psql(f"""SELECT (SELECT count(*) FROM {schema}.customers), (SELECT count(*) FROM {schema}.customers_accounts),
                          (SELECT coalesce(sum(accounts), 0) FROM {schema}.customers_accounts),
                          (SELECT md5(string_agg(_id || ':' || email, ',' ORDER BY _id COLLATE "C")) FROM {schema}.customers)""")
    documents, rows, total, digest = row.split("|")
    return int(documents), int(rows), int(total), digest


def verdict(expected, actual):
    if expected == actual:
        return "tables match"
    names = ("documents", "account rows", "sum(accounts)", "md5(_id:email)")
    return "MISMATCH: " + ", ".join(f"{n} {e} expected, {a} found" for n, e, a in zip(names, expected, actual) if e != a)


def samples():
    with open(FIXTURE) as handle:
        return [json_util.loads(line) for line in handle if line.strip()]


def write_config(name, target, state, oplog_uri=None, mode="oplog", mongo_uri=None):
    config = os.path.join(WORK, f"{name}.ini")
    with open(config, "w") as handle:
        handle.write(f"[mongo]\nuri = {mongo_uri or os.environ['MONGO_URI']}\n\n[psql]\nconninfo = {os.environ['PG_URI']}\n\n"
                     f"[sync]\nschemas_dir = schemas\nstate_schema = {state}\ntarget_schema = {target}\n\n")
        if oplog_uri:
            handle.write(f"[oplog:rs0]\nuri = {oplog_uri}\nmode = {mode}\n\n")
        handle.write(f"[collections]\n{NS}\n")
    return config


def sync_row(part, step, out, wall, rss, note=""):
    """One oplog-sync run's row: its own seconds (the replay) and the process's wall time."""
    summary = json.loads(out)
    entries, seconds = summary["entries_read"], summary["seconds"]
    ROWS.append((part, step, entries, seconds, entries / seconds if seconds else 0, rss,
                 f"wall {wall:.2f} s ({entries / wall:.0f}/s), {summary['batches']} batches; {note}"))
    return summary


def batch_seconds(state):
    """Seconds spent inside batches (stored states read, applied, written, committed) by the last oplog-sync run,
    from its ledger steps; the rest of the replay is reading, decoding and unpacking entries."""
    value = psql(f"""SELECT coalesce(sum((s->>'seconds')::float8), 0) FROM {state}.runs r,
                            jsonb_array_elements(r.steps) s
                     WHERE r.id = (SELECT max(id) FROM {state}.runs WHERE tool = 'oplog-sync')""")
    return float(value or 0)


def write_oplog(model, count, ui, path):
    """`count` steps of the model as oplog entries of mongod's form, one after the other, into the file at `path`."""
    wall = datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)
    with open(path, "wb") as handle:
        for k in range(count):
            body, _ = model.step()
            # mongod's field order: ts, t, v, op, ns, ui, o, o2, wall.
            entry = {"ts": bson.Timestamp(1_790_000_000 + k // 1000, k % 1000 + 1), "t": bson.Int64(1),
                     "v": bson.Int64(2), "op": body["op"], "ns": NS, "ui": ui, "o": body["o"]}
            if "o2" in body:
                entry["o2"] = body["o2"]
            entry["wall"] = wall + datetime.timedelta(milliseconds=k)
            handle.write(bson.encode(entry))


def file_part(env):
    rng = random.Random(SEED)
    model = Model(rng, samples(), START_DOCS)
    dump = os.path.join(WORK, "customers.bson")
    with open(dump, "wb") as handle:
        for _id in model.ids:
            handle.write(bson.encode(model.docs[_id]))
    config = write_config("file", "bench_oplog", "bench_oplog_etl")
    csv = os.path.join(WORK, "csv")
    run("load: mongo-reader", [os.path.join(BIN, "mongo-reader"), "--config", config, "--collection", NS,
                               "--csv-dir", csv, "--input-file", dump], env)
    ui = bson.Binary(uuid.UUID(int=rng.getrandbits(128)).bytes, 4)
    start_state = copy.deepcopy(model.docs)
    start_ids = list(model.ids)
    for count in (ENTRIES, ENTRIES_LARGE) if ENTRIES_LARGE else (ENTRIES,):
        # Every file starts from the same 20k documents: a fresh model and a fresh load for each.
        model.docs = copy.deepcopy(start_state)
        model.ids, model.where = list(start_ids), {_id: i for i, _id in enumerate(start_ids)}
        model.rng = random.Random(SEED + count)
        oplog = os.path.join(WORK, f"oplog-{count}.bson")
        started = time.monotonic()
        write_oplog(model, count, ui, oplog)
        size = os.path.getsize(oplog) / 1e6
        log(f"{count} entries written to {oplog} ({size:.1f} MB) in {time.monotonic() - started:.1f} s")
        # With OLD_BIN, the older oplog-sync and this one replay the same file in turn, ROUNDS times, each on freshly
        # loaded tables: side by side in one session, since the shared box's load moves absolute figures by a third.
        binaries = [("old", OLD_BIN), ("new", BIN)] if OLD_BIN else [("", BIN)]
        for round_number in range(ROUNDS):
            for label, binary in binaries:
                if OLD_BIN:
                    # Each build loads with its own psql-copy into a state schema of its own version (an older
                    # oplog-sync refuses a state schema that a newer tool migrated past what it knows).
                    psql("SET client_min_messages = warning; DROP SCHEMA IF EXISTS bench_oplog CASCADE; "
                         "DROP SCHEMA IF EXISTS bench_oplog_etl CASCADE")
                run(f"load: psql-copy ({count})", [os.path.join(binary, "psql-copy"), "--config", config, "--collection", NS, "--csv-dir", csv], env)
                pg_before = postgres_cpu()
                wall_s, rss, out, _, _, cpu = run(f"replay {count} {label}".rstrip(), [os.path.join(binary, "oplog-sync"), "--config", config, "--from-file", oplog, "--json"], env)
                time.sleep(0.5)  # the run's backends exit once it disconnects
                pg_cpu = postgres_cpu() - pg_before
                inside = batch_seconds("bench_oplog_etl")
                step = f"oplog-sync --from-file, {count // 1000}k entries ({size:.0f} MB)" + (f", {label} #{round_number + 1}" if label else "")
                summary = sync_row("file", step, out, wall_s, rss,
                                   f"CPU {cpu:.2f} s, PostgreSQL's {pg_cpu:.2f} s; in batches {inside:.2f} s; "
                                   f"load {os.getloadavg()[0]:.1f}; "
                                   + verdict(model.checks(), table_checks("bench_oplog")))
                log(json.dumps(summary))


def insert_starting_documents(collection, model):
    """The model's starting documents into SecantusDB, 5000 an insert."""
    ids = list(model.ids)
    for offset in range(0, len(ids), 5000):
        collection.insert_many([model.docs[_id] for _id in ids[offset:offset + 5000]], ordered=True)


def init_load(label, config, csv, env):
    """An init load of the collection with the tools (etlstatus init-load-start, mongo-reader, psql-copy,
    init-load-finish); answers the position it recorded, from the state schema named in `config`."""
    for tool, args in [("etlstatus", ["init-load-start"]), ("mongo-reader", ["--collection", NS, "--csv-dir", csv]),
                       ("psql-copy", ["--collection", NS, "--csv-dir", csv]), ("etlstatus", ["init-load-finish", "ok"])]:
        wall_s, _, _, _, _, _ = run(f"{label}: {tool}", [os.path.join(BIN, tool), "--config", config] + args, env)
        log(f"  {wall_s:.1f} s")


def init_load_position(state):
    """The newest init load's recorded position in state schema `state`, packed `(t << 32) | i`."""
    return int(psql(f"SELECT oplog_ts FROM {state}.init_load_positions ORDER BY init_load_id DESC LIMIT 1"))


def write_live_mix(part, collection, model):
    """LIVE_ENTRIES writes of the mix through pymongo (SecantusDB writes its own update form for them), 1000 an
    ordered bulk write; their rate is a row of `part`, for scale."""
    requests = [model.step()[1] for _ in range(LIVE_ENTRIES)]
    started = time.monotonic()
    for offset in range(0, len(requests), 1000):
        collection.bulk_write(requests[offset:offset + 1000], ordered=True)
    seconds = time.monotonic() - started
    log(f"{LIVE_ENTRIES} writes in {seconds:.1f} s ({LIVE_ENTRIES / seconds:.0f}/s)")
    ROWS.append((part, "pymongo bulk_write of the mix (1000 a batch)", LIVE_ENTRIES, seconds, LIVE_ENTRIES / seconds, 0.0, "writes, for scale"))


def plain_oplog_read(part, label, oplog, position, oplog_size):
    """A plain pymongo read of the oplog from `position` (one cursor, RawBSONDocument): a row of `part`; answers its
    entries/s."""
    COMMANDS.append((label, f"pymongo: local.oplog.rs.find({{'ts': {{'$gte': {position}}}}}, batch_size=1000), RawBSONDocument"))
    start = time.monotonic()
    count = sum(1 for _ in oplog.find({"ts": {"$gte": position}}, batch_size=1000))
    elapsed = time.monotonic() - start
    ROWS.append((part, label, count, elapsed, count / elapsed, 0.0, f"oplog holds {oplog_size} entries"))
    return count / elapsed


def checked_sync(part, label, variant, binaries, config, flags, collection, env):
    """One `oplog-sync` run of `part` with the build in `binaries` and `config` (path, target, state schema): its row,
    with whether the tables then hold what MongoDB holds; (summary, wall seconds), or None when it failed."""
    path, target, state = config
    wall_s, rss, out, status, stderr, cpu = run(f"{part}: {variant}", [os.path.join(binaries, "oplog-sync"), "--config", path, "--json"] + flags, env, check=False)
    if status != 0:
        ROWS.append((part, f"{label} FAILED with exit status {status}", 0, wall_s, 0, rss, stderr.strip().splitlines()[-1][:200]))
        return None
    expected = mongo_checks(collection)
    summary = sync_row(part, label, out, wall_s, rss, f"CPU {cpu:.2f} s; in batches {batch_seconds(state):.2f} s; " + verdict(expected, table_checks(target)))
    return summary, wall_s


def mongo_checks(collection):
    """What the tables should hold, from MongoDB: the figures `table_checks` reads from PostgreSQL."""
    mongo = [(d["_id"], d["email"], d.get("accounts") or []) for d in collection.find({}, {"email": 1, "accounts": 1})]
    return (len(mongo), sum(len(a) for _, _, a in mongo), sum(sum(a) for _, _, a in mongo),
            hashlib.md5(",".join(f"{i}:{e}" for i, e, _ in sorted(mongo, key=lambda m: str(m[0]))).encode()).hexdigest())


def live_part(env):
    client = pymongo.MongoClient(os.environ["MONGO_URI"])
    client.drop_database(DB)
    rng = random.Random(SEED)
    model = Model(rng, samples(), START_DOCS)
    collection = client[DB]["customers"]
    started = time.monotonic()
    insert_starting_documents(collection, model)
    log(f"{START_DOCS} documents inserted into SecantusDB in {time.monotonic() - started:.1f} s")
    config = write_config("live", "bench_oplog_live", "bench_oplog_live_etl", os.environ["MONGO_URI"])
    init_load("init load", config, os.path.join(WORK, "csv-live"), env)
    packed = init_load_position("bench_oplog_live_etl")
    position = bson.Timestamp(packed >> 32, packed & 0xFFFFFFFF)
    write_live_mix("live", collection, model)
    oplog = client.local.get_collection("oplog.rs", codec_options=bson.CodecOptions(document_class=RawBSONDocument))
    oplog_size = client.local["oplog.rs"].estimated_document_count()

    def plain_read(label):
        return plain_oplog_read("live", label, oplog, position, oplog_size)

    raw_before = plain_read("(a) plain read of the same oplog range")
    wall_s, rss, out, status, stderr, cpu = run("live oplog-sync", [os.path.join(BIN, "oplog-sync"), "--config", config, "--json"], env, check=False)
    if status != 0:
        ROWS.append(("live", f"(b) oplog-sync FAILED with exit status {status}", 0, wall_s, 0, rss, stderr.strip().splitlines()[-1][:200]))
        client.close()
        return
    inside = batch_seconds("bench_oplog_live_etl")
    expected = mongo_checks(collection)
    summary = sync_row("live", "(b) oplog-sync from the init load's position", out, wall_s, rss,
                       f"CPU {cpu:.2f} s; in batches {inside:.2f} s; " + verdict(expected, table_checks("bench_oplog_live")))
    log(json.dumps(summary))
    raw_after = plain_read("(a') plain read again")
    rate = summary["entries_read"] / summary["seconds"]
    ROWS.append(("live", "(b)/(a) ratio, replay seconds", 0, 0, 0, 0,
                 f"{rate / max(raw_before, raw_after):.2f}x the faster plain read; wall: {summary['entries_read'] / wall_s / max(raw_before, raw_after):.2f}x"))
    wall_s, rss, out, _, _, cpu = run("live oplog-sync again", [os.path.join(BIN, "oplog-sync"), "--config", config, "--json"], env)
    sync_row("live", "(c) oplog-sync again, nothing new", out, wall_s, rss, f"CPU {cpu:.2f} s; the fixed cost of a run")
    client.drop_database(DB)
    client.close()


def private_secantus():
    """A fresh SecantusDB of its own (its storage in the work folder: in memory it wrote the mix 50 times slower), with its default oplog (100k entries, an hour): (process, URI)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
                                "--storage-path", os.path.join(WORK, "ratios-mongo")], stdout=subprocess.DEVNULL,
                               stderr=open(os.path.join(WORK, "ratios-mongo.log"), "w"))
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    deadline = time.monotonic() + 60
    while True:
        try:
            pymongo.MongoClient(uri, serverSelectionTimeoutMS=500).admin.command("ping")
            return process, uri
        except pymongo.errors.PyMongoError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                sys.exit("the private SecantusDB did not start: see ratios-mongo.log")
            time.sleep(0.2)


def ratios_part(env):
    """The live run's two ratios side by side, on a fresh private SecantusDB with its default oplog: the 20k documents
    init-loaded into two targets at one position, LIVE_ENTRIES writes of the mix, then a plain pymongo read of the
    range (a), `oplog-sync --no-verify` (b) and `oplog-sync` with verification (e), each replaying the same range.
    (b)/(a): entries/s of the unverified run against the plain read (the faster of one before and one after the runs);
    (e)/(b): verification's cost in time. With OLD_BIN, the older build's (b) and (e) run too, each just before this
    build's, on targets of their own loaded at the same position."""
    builds = [("old", OLD_BIN), ("", BIN)] if OLD_BIN else [("", BIN)]
    variants = [prefix + kind for prefix, _ in builds for kind in ("plain", "verified")]
    process, uri = private_secantus()
    try:
        client = pymongo.MongoClient(uri)
        model = Model(random.Random(SEED + 11), samples(), START_DOCS)
        collection = client[DB]["customers"]
        insert_starting_documents(collection, model)
        configs = {}
        for variant in variants:
            target, state = f"bench_oplog_ratio_{variant}", f"bench_oplog_ratio_{variant}_etl"
            configs[variant] = (write_config(f"ratio-{variant}", target, state, uri, mongo_uri=uri), target, state)
            init_load(f"init load ({variant})", configs[variant][0], os.path.join(WORK, f"csv-ratio-{variant}"), env)
        packed = init_load_position(configs["plain"][2])
        for variant in variants:
            psql(f"UPDATE {configs[variant][2]}.init_load_positions SET oplog_ts = {packed}")
        position = bson.Timestamp(packed >> 32, packed & 0xFFFFFFFF)
        write_live_mix("ratio", collection, model)
        oplog = client.local.get_collection("oplog.rs", codec_options=bson.CodecOptions(document_class=RawBSONDocument))
        oplog_size = client.local["oplog.rs"].estimated_document_count()

        def plain_read(label):
            return plain_oplog_read("ratio", label, oplog, position, oplog_size)

        raw_before = plain_read("(a) plain read of the oplog range")
        runs = {}
        for label, kind, flags in (("(b) oplog-sync --no-verify", "plain", ["--no-verify"]),
                                   ("(e) oplog-sync (verification on)", "verified", [])):
            for prefix, binaries in builds:
                variant = prefix + kind
                outcome = checked_sync("ratio", f"{label}{' (OLD_BIN)' if prefix else ''}", variant, binaries,
                                       configs[variant], flags, collection, env)
                if outcome:
                    runs[variant] = outcome
        raw = max(raw_before, plain_read("(a') plain read again"))
        for prefix, _ in builds:
            which = " (OLD_BIN)" if prefix else ""
            if prefix + "plain" in runs:
                summary, wall_s = runs[prefix + "plain"]
                ROWS.append(("ratio", f"(b)/(a){which}: live --no-verify against a plain read", 0, 0, 0, 0,
                             f"{summary['entries_read'] / summary['seconds'] / raw:.2f}x in replay entries/s; "
                             f"{summary['entries_read'] / wall_s / raw:.2f}x in the whole process's (target >= 0.8x)"))
            if prefix + "plain" in runs and prefix + "verified" in runs:
                (plain, plain_wall), (verified, verified_wall) = runs[prefix + "plain"], runs[prefix + "verified"]
                ROWS.append(("ratio", f"(e)/(b){which}: live verified against unverified, time", 0, 0, 0, 0,
                             f"{verified['seconds'] / plain['seconds']:.2f}x replay seconds; {verified_wall / plain_wall:.2f}x "
                             f"the whole process's (target <= 1.5x); {verified['documents_verified']} documents verified, "
                             f"SecantusDB's lookups {verified['verify_mongo_seconds']:.1f} s"))
        client.close()
    finally:
        process.terminate()
        process.wait()
        for variant in variants:
            for schema in (f"bench_oplog_ratio_{variant}", f"bench_oplog_ratio_{variant}_etl"):
                psql(f"SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE")


class SteadyWriter(threading.Thread):
    """Issues the mix at WRITE_RATE writes a second, in small ordered bulk writes every 100 ms, until stopped."""

    def __init__(self, collection, model):
        super().__init__(daemon=True)
        self.collection, self.model = collection, model
        self.stopping, self.writes, self.error = threading.Event(), 0, None

    def run(self):
        started = time.monotonic()
        try:
            while not self.stopping.is_set():
                due = int((time.monotonic() - started) * WRITE_RATE) - self.writes
                if due > 0:
                    self.collection.bulk_write([self.model.step()[1] for _ in range(due)], ordered=True)
                    self.writes += due
                self.stopping.wait(0.1)
        except Exception as error:  # reported with the figures
            self.error = error

    def stop(self):
        self.stopping.set()
        self.join()


def rss_mb(pid):
    """(VmRSS, VmHWM) of a live process, in MB, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def follow_part(env):
    """A steady writer; oplog-sync paused PAUSE_MINUTES, then one catch-up run; then FOLLOW_MINUTES of --follow with
    its RSS and lag sampled; SIGTERM; the tables checked against MongoDB."""
    client = pymongo.MongoClient(os.environ["MONGO_URI"])
    client.drop_database(DB)
    rng = random.Random(SEED)
    model = Model(rng, samples(), START_DOCS)
    collection = client[DB]["customers"]
    insert_starting_documents(collection, model)
    config = write_config("follow", "bench_oplog_follow", "bench_oplog_follow_etl", os.environ["MONGO_URI"])
    init_load("init load", config, os.path.join(WORK, "csv-follow"), env)
    writer = SteadyWriter(collection, model)
    writer.start()
    log(f"steady writer at {WRITE_RATE:.0f} writes/s; oplog-sync paused for {PAUSE_MINUTES} min")
    time.sleep(PAUSE_MINUTES * 60)
    written = writer.writes
    wall_s, rss, out, status, stderr, cpu = run(
        "catch-up after the pause", [os.path.join(BIN, "oplog-sync"), "--config", config, "--json"], env, check=False)
    if status != 0:
        ROWS.append(("follow", f"catch-up FAILED with exit status {status}", 0, wall_s, 0, rss, stderr.strip()[-200:]))
    else:
        sync_row("follow", f"catch-up after a {PAUSE_MINUTES:g}-minute pause of the writer", out, wall_s, rss,
                 f"CPU {cpu:.2f} s; {written} writes in the pause; the writer kept writing meanwhile")
    argv = [os.path.join(BIN, "oplog-sync"), "--config", config, "--follow", "--json"] + os.environ.get("FOLLOW_ARGS", "").split()
    COMMANDS.append(("follow", " ".join(shlex.quote(part) for part in argv)))
    log(f"$ {COMMANDS[-1][1]}")
    errors = open(os.path.join(WORK, "follow.stderr"), "wb")
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=errors)
    samples_taken = []  # (seconds since start, RSS MB, lag seconds)
    started = time.monotonic()
    follow_writes = writer.writes
    while time.monotonic() - started < FOLLOW_MINUTES * 60 and process.poll() is None:
        time.sleep(SAMPLE_SECONDS)
        if process.poll() is not None:
            break
        rss_now, _ = rss_mb(process.pid)
        point = psql("SELECT max(oplog_ts) FROM bench_oplog_follow_etl.sync_points")
        lag = time.time() - (int(point) >> 32) if point else float("nan")
        samples_taken.append((time.monotonic() - started, rss_now, lag))
    follow_writes = writer.writes - follow_writes
    peak = rss_mb(process.pid)[1] if process.poll() is None else float("nan")
    writer.stop()
    # The follower catches up with the last write (its sync point reaches the newest entry) before SIGTERM.
    newest = client.local["oplog.rs"].find_one({}, projection={"ts": 1}, sort=[("$natural", -1)])["ts"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        point = psql("SELECT max(oplog_ts) FROM bench_oplog_follow_etl.sync_points")
        if point and int(point) >= (newest.time << 32 | newest.inc):
            break
        time.sleep(1)
    caught_up = time.monotonic() - started - FOLLOW_MINUTES * 60
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=120)
    errors.close()
    seconds = time.monotonic() - started
    expected = mongo_checks(collection)
    note = (f"exit {process.returncode}; caught up {caught_up:.0f} s after the writer stopped; "
            f"{verdict(expected, table_checks('bench_oplog_follow'))}"
            + (f"; writer error: {writer.error}" if writer.error else ""))
    try:
        summary = json.loads(out)
        ROWS.append(("follow", f"oplog-sync --follow for {FOLLOW_MINUTES:g} min beside the writer", summary["entries_read"],
                     seconds, summary["entries_read"] / seconds, peak,
                     f"{follow_writes} writes; {summary['batches']} batches; {summary['documents_verified']} verified, "
                     f"{summary['documents_repaired']} repaired; " + note))
    except (ValueError, KeyError):
        ROWS.append(("follow", "oplog-sync --follow gave no summary", 0, seconds, 0, peak, note + "; " + open(errors.name).read()[-300:]))
    if samples_taken:
        rss_values = [rss for _, rss, _ in samples_taken]
        lags = [lag for _, _, lag in samples_taken if lag == lag]
        minute = max(1, int(60 / SAMPLE_SECONDS))
        FOLLOW_RSS.append(f"RSS of oplog-sync --follow, sampled every {SAMPLE_SECONDS:g} s ({len(samples_taken)} samples): "
                          f"start {rss_values[0]:.1f} MB, peak {max(rss_values):.1f} MB (VmHWM {peak:.1f} MB), "
                          f"end {rss_values[-1]:.1f} MB")
        FOLLOW_RSS.append("  per minute: " + ", ".join(f"{t / 60:.0f}m {rss:.1f}" for t, rss, _ in samples_taken[::minute]))
        if lags:
            FOLLOW_RSS.append(f"lag (wall clock minus the sync point's ts): median {sorted(lags)[len(lags) // 2]:.1f} s, "
                              f"max {max(lags):.1f} s")
    client.drop_database(DB)
    client.close()


FOLLOW_RSS = []  # lines printed after the table



def modes_part(env):
    """The two source modes on one live workload: the same 20k documents init-loaded three times at one position (one
    state and target schema each), LIVE_ENTRIES writes of the mix, then `oplog-sync --no-verify` with
    `mode = oplog` and with `mode = changestream`, each beside a plain pymongo read of what it reads (the oplog range;
    a change stream from the same position with the same $match). Verification is off in both: it costs the same
    in both modes, and would hide the difference of the sources. The third copy is synced with verification on
    (`mode = oplog`), for its cost: the ratio to the unverified run, and SecantusDB's share of it (the run's own
    `verify_mongo_seconds`)."""
    client = pymongo.MongoClient(os.environ["MONGO_URI"])
    client.drop_database(DB)
    rng = random.Random(SEED + 7)
    model = Model(rng, samples(), START_DOCS)
    collection = client[DB]["customers"]
    insert_starting_documents(collection, model)
    uri = os.environ["MONGO_URI"]
    configs = {}
    for variant, mode in (("oplog", "oplog"), ("changestream", "changestream"), ("verified", "oplog")):
        target, state = f"bench_oplog_mode_{variant}", f"bench_oplog_mode_{variant}_etl"
        configs[variant] = (write_config(f"mode-{variant}", target, state, uri, mode), target, state)
    # One position for both: each init load records its own, so the change stream's is copied from the first.
    for mode, (config, _, state) in configs.items():
        init_load(f"init load ({mode})", config, os.path.join(WORK, f"csv-mode-{mode}"), env)
    packed = init_load_position(configs["oplog"][2])
    for variant in ("changestream", "verified"):
        psql(f"UPDATE {configs[variant][2]}.init_load_positions SET oplog_ts = {packed}")
    position = bson.Timestamp(packed >> 32, packed & 0xFFFFFFFF)
    write_live_mix("modes", collection, model)

    raw = bson.CodecOptions(document_class=RawBSONDocument)
    COMMANDS.append(("plain oplog read", f"pymongo: local.oplog.rs.find({{'ts': {{'$gte': {position}}}}}, batch_size=1000), RawBSONDocument"))
    start = time.monotonic()
    oplog_count = sum(1 for _ in client.local.get_collection("oplog.rs", codec_options=raw).find({"ts": {"$gte": position}}, batch_size=1000))
    oplog_read = time.monotonic() - start
    ROWS.append(("modes", "(a) plain read of the oplog range", oplog_count, oplog_read, oplog_count / oplog_read, 0.0, ""))
    match = {"$match": {"$or": [{"ns.db": DB, "ns.coll": {"$in": ["customers"]}}, {"to.db": DB, "to.coll": {"$in": ["customers"]}},
                                {"operationType": "dropDatabase", "ns.db": {"$in": [DB]}}, {"operationType": "invalidate"}]}}
    COMMANDS.append(("plain change stream read", f"pymongo: client.watch([{match}], start_at_operation_time={position}, batch_size=1000, max_await_time_ms=1000), RawBSONDocument, until try_next() is None"))
    start = time.monotonic()
    events = 0
    with pymongo.MongoClient(uri, document_class=RawBSONDocument).watch([match], start_at_operation_time=position, batch_size=1000, max_await_time_ms=1000) as stream:
        while stream.try_next() is not None:
            events += 1
    stream_read = time.monotonic() - start
    ROWS.append(("modes", "(c) plain read of the change stream", events, stream_read, events / stream_read, 0.0, "until the first empty getMore (1 s wait)"))

    rates, summaries = {}, {}
    for label, mode, flags in (("(b) oplog-sync --no-verify, mode = oplog", "oplog", ["--no-verify"]),
                               ("(d) oplog-sync --no-verify, mode = changestream", "changestream", ["--no-verify"]),
                               ("(e) oplog-sync (verification on), mode = oplog", "verified", [])):
        outcome = checked_sync("modes", label, mode, BIN, configs[mode], flags, collection, env)
        if not outcome:
            continue
        summary, wall_s = outcome
        rates[mode] = (summary["entries_read"] / summary["seconds"], summary["entries_read"] / wall_s)
        summaries[mode] = summary
    if "changestream" in rates and "oplog" in rates:
        ROWS.append(("modes", "(d)/(b) ratio, entries/s", 0, 0, 0, 0,
                     f"replay {rates['changestream'][0] / rates['oplog'][0]:.2f}x; whole process {rates['changestream'][1] / rates['oplog'][1]:.2f}x"))
    if "verified" in rates and "oplog" in rates:
        # The verified run says how long verification took inside its batches and how much of that MongoDB took
        # to answer (SecantusDB answers each `_id` of an `$in` in about a millisecond; mongod from its index).
        unverified, verified = summaries["oplog"], summaries["verified"]
        extra = verified["verify_seconds"] - verified["verify_mongo_seconds"]
        ROWS.append(("modes", "(e)/(b) ratio, replay seconds: verification's cost", 0, 0, 0, 0,
                     f"{verified['seconds'] / unverified['seconds']:.2f}x; {verified['documents_verified']} documents "
                     f"verified in {verified['verify_seconds']:.1f} s, of which SecantusDB's lookups "
                     f"{verified['verify_mongo_seconds']:.1f} s; without them "
                     f"{(verified['seconds'] - verified['verify_mongo_seconds']) / unverified['seconds']:.2f}x "
                     f"(the tool's own verification work {extra:.1f} s)"))
    ROWS.append(("modes", "(c)/(a) ratio, plain reads", 0, 0, 0, 0, f"{(events / stream_read) / (oplog_count / oplog_read):.2f}x"))
    client.drop_database(DB)
    client.close()


FOLLOW_RSS = []  # lines printed after the table


def main():
    os.makedirs(os.path.join(WORK, "schemas"))
    shutil.copy(os.path.join(ROOT, "schemas", "sample_analytics.customers.json"), os.path.join(WORK, "schemas", f"{NS}.json"))
    global LOAD_AT_START
    LOAD_AT_START = " ".join(f"{x:.2f}" for x in os.getloadavg())
    env = dict(os.environ)
    for schema in ("bench_oplog", "bench_oplog_etl", "bench_oplog_live", "bench_oplog_live_etl",
                   "bench_oplog_mode_oplog", "bench_oplog_mode_oplog_etl", "bench_oplog_mode_changestream",
                   "bench_oplog_mode_changestream_etl", "bench_oplog_follow", "bench_oplog_follow_etl"):
        psql(f"SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE")
    if "ratios" in PARTS:
        ratios_part(env)
    if "file" in PARTS:
        file_part(env)
    if "live" in PARTS:
        live_part(env)
    if "modes" in PARTS:
        modes_part(env)
    if "follow" in PARTS:
        follow_part(env)
    print(f"\nload average at the end (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores; at the start: {LOAD_AT_START}")
    print(f"\nstarting documents {START_DOCS}; mix: " + ", ".join(f"{kind} {weight}%" for kind, weight in MIX))
    print("\ncommands:")
    for label, command in COMMANDS:
        print(f"  {label:<28} {command}")
    print(f"\n{'part':<5} {'step':<52} {'entries':>8} {'seconds':>8} {'entries/s':>10} {'RSS MB':>7}  note")
    for part, step, entries, seconds, rate, rss, note in ROWS:
        if entries:
            print(f"{part:<5} {step:<52} {entries:>8} {seconds:>8.2f} {rate:>10.0f} {rss:>7.1f}  {note}")
        else:
            print(f"{part:<5} {step:<52} {'':>8} {'':>8} {'':>10} {'':>7}  {note}")
    for line in FOLLOW_RSS:
        print(line)
    if os.environ.get("KEEP_WORK"):
        print(f"\nwork folder kept: {WORK}")
    else:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
