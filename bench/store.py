"""The encrypted store against plain sqlite3 with the same schema, plus paging and search latency.

Figures, printed as one JSON line last:

- ``store_vs_sqlite_ratio``: the same workload (messages written in batches of ``BATCH`` through
  ``messages.add_many``, then indexed reads: newest-50 pages at random cursors and lookups by
  message id) run through the SQLCipher store and through a plain ``sqlite3`` database carrying the
  same migrations and pragmas, in this run; store seconds / sqlite seconds, the median over
  ``RATIO_ROUNDS`` paired rounds. Both sides use the store's own repository code, so the ratio is
  the price of encryption alone. ``write_ratio``/``read_ratio`` split it.
- ``open_newest_50_ms``: median over fresh opens of the first ``messages.page(limit=50)`` of a
  ``OPEN_SIZE``-message conversation (cold connection cache); ``open_db_ms`` the open itself
  (raw key: the Argon2id/keyring step is excluded, it is a fixed cost of unlocking).
- ``search_p95_ms``: p95 over ``QUERIES`` searches (single words of every frequency, two-word
  queries, prefixes) for a newest-first page of 50 over ``SEARCH_SIZE`` messages. The corpus is
  built once with executemany in large transactions and cached under build/bench/ keyed by schema
  version and size (set PARLEY_BENCH_DIR to move it).
- ``catchup_msgs_per_s``: ``bench/catchup.py``'s ``measure_catchup(CATCHUP)`` (relay, decrypt,
  store) when that module exists; null otherwise (said on stderr).

PARLEY_BENCH_QUICK=1 shrinks every size so the test suite can check the output's shape quickly.
"""

from __future__ import annotations

import importlib
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import emit
from parley.app.store import contacts, conversations, messages, search
from parley.app.store.db import Database, make_private
from parley.app.store.migrate import SCHEMA_VERSION, migrate

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
RATIO_SIZE = 500 if QUICK else 20_000
BATCH = 100
RATIO_ROUNDS = 2 if QUICK else 7
READS = 200 if QUICK else 4_000
OPEN_SIZE = 2_000 if QUICK else 100_000
OPEN_ROUNDS = 3 if QUICK else 7
SEARCH_SIZE = 5_000 if QUICK else 1_000_000
QUERIES = 30 if QUICK else 300
CATCHUP = 50 if QUICK else 10_000
BENCH_KEY = bytes(range(100, 132))  # benchmark data only; nothing secret
CACHE = Path(
    os.environ.get("PARLEY_BENCH_DIR", Path(__file__).resolve().parent.parent / "build/bench")
)
VOCABULARY = 5_000


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def words() -> list[str]:
    """A Zipf-like vocabulary: w0 is very common, w4999 rare."""
    return [f"w{i}" for i in range(VOCABULARY)]


def body(rng: random.Random, vocab: list[str], weights: list[float]) -> str:
    return " ".join(rng.choices(vocab, weights, k=rng.randint(3, 20)))


def zipf_weights() -> list[float]:
    return [1.0 / (i + 1) for i in range(VOCABULARY)]


def populate(db: Database, count: int, *, conversation: str = "v1", seed: int = 1) -> None:
    """``count`` messages in ``conversation`` (one contact), written in batches of ``BATCH``."""
    rng = random.Random(seed)
    vocab, weights = words(), zipf_weights()
    if conversations.for_contact(db, "c1") is None:
        contacts.add(db, contacts.ContactRow("c1", "Bench", bytes(32), False, False, 0, "standard"))
        conversations.add(db, conversations.ConversationRow(conversation, "c1", 0, 0.0))
    for start in range(0, count, BATCH):
        batch = [
            messages.NewMessage(
                rng.randbytes(16),
                conversation,
                "in",
                "Bench",
                body(rng, vocab, weights),
                float(n),
                float(n),
                "delivered",
            )
            for n in range(start, min(start + BATCH, count))
        ]
        messages.add_many(db, batch)


def plain_sqlite(path: Path) -> Database:
    """A plain sqlite3 database behind the same Database class, pragmas and migrations."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db = Database.adopt(conn, path)
    migrate(db)
    return db


def encrypted(path: Path, *, create: bool) -> Database:
    db = Database.open(path, BENCH_KEY, create=create)
    migrate(db)
    return db


def workload(open_db: Callable[[bool], Database], seed: int) -> tuple[float, float]:
    """Seconds for the write phase and the read phase of the ratio workload.

    The reads run on a fresh connection so that its page cache starts empty and every page read
    the first time is decrypted (for the store), as after a restart.
    """
    db = open_db(True)
    start = time.perf_counter()
    populate(db, RATIO_SIZE, seed=seed)
    written = time.perf_counter() - start
    db.close()
    db = open_db(False)
    rng = random.Random(seed + 1)
    ids = [row[0] for row in db.all("SELECT id FROM messages")]
    top = RATIO_SIZE + 1
    start = time.perf_counter()
    for _ in range(READS):
        messages.page(db, "v1", before_seq=rng.randint(50, top), limit=50)
        messages.get(db, rng.choice(ids))
    elapsed = time.perf_counter() - start
    db.close()
    return written, elapsed


def measure_ratio(folder: Path) -> dict[str, float]:
    """Median over paired rounds of store/sqlite; each round alternates which side runs first.

    The write phase commits ``RATIO_SIZE / BATCH`` transactions with synchronous=FULL, so the
    disk's fsync latency is part of both sides and varies from round to round: pairing the two
    sides within a round and taking the median keeps that noise out of the ratio.
    """
    totals, writes, reads = [], [], []
    for round_ in range(RATIO_ROUNDS):
        timing: dict[str, tuple[float, float]] = {}
        order = ("sqlite", "store") if round_ % 2 == 0 else ("store", "sqlite")
        for kind in order:
            path = folder / f"{kind}-{round_}.db"

            def open_db(create: bool, path: Path = path, kind: str = kind) -> Database:
                if kind == "sqlite":
                    return plain_sqlite(path)
                return encrypted(path, create=create)

            timing[kind] = workload(open_db, seed=round_)
        store, plain = timing["store"], timing["sqlite"]
        totals.append(sum(store) / sum(plain))
        writes.append(store[0] / plain[0])
        reads.append(store[1] / plain[1])
    return {
        "store_vs_sqlite_ratio": statistics.median(totals),
        "write_ratio": statistics.median(writes),
        "read_ratio": statistics.median(reads),
    }


def measure_open(folder: Path) -> dict[str, float]:
    path = folder / "open.db"
    db = encrypted(path, create=True)
    populate(db, OPEN_SIZE)
    db.close()
    opens, pages = [], []
    for _ in range(OPEN_ROUNDS):
        start = time.perf_counter()
        db = Database.open(path, BENCH_KEY)
        opened = time.perf_counter()
        page = messages.page(db, "v1", limit=50)
        done = time.perf_counter()
        if len(page) != 50:
            raise RuntimeError("the newest page is not 50 messages long")
        db.close()
        opens.append((opened - start) * 1000)
        pages.append((done - opened) * 1000)
    return {"open_newest_50_ms": statistics.median(pages), "open_db_ms": statistics.median(opens)}


def search_corpus() -> Path:
    """The cached SEARCH_SIZE-message database, built on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"search-v{SCHEMA_VERSION}-{SEARCH_SIZE}.db"
    if path.exists():
        return path
    log(f"building the {SEARCH_SIZE}-message search corpus at {path} (cached for next runs)")
    partial = path.with_name(path.name + ".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    db = encrypted(partial, create=True)
    rng = random.Random(7)
    vocab, weights = words(), zipf_weights()
    contacts.add(db, contacts.ContactRow("c1", "Bench", bytes(32), False, False, 0, "standard"))
    conversations.add(db, conversations.ConversationRow("v1", "c1", 0, 0.0))
    insert = (
        "INSERT INTO messages (id, conversation_id, direction, sender, body, sent_at, "
        "received_at, status) VALUES (?, 'v1', 'in', 'Bench', ?, ?, ?, 'delivered')"
    )
    chunk = 50_000
    start = time.perf_counter()
    for first in range(0, SEARCH_SIZE, chunk):
        rows = [
            (rng.randbytes(16), body(rng, vocab, weights), float(n), float(n))
            for n in range(first, min(first + chunk, SEARCH_SIZE))
        ]
        db.executemany(insert, rows)
        if not QUICK:
            log(f"  {first + len(rows)} messages, {time.perf_counter() - start:.0f} s")
    db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")
    db.close()
    partial.rename(path)
    make_private(path)
    return path


def measure_search() -> dict[str, float]:
    db = Database.open(search_corpus(), BENCH_KEY)
    rng = random.Random(3)
    queries: list[str] = []
    for i in range(QUERIES):
        kind = i % 4
        a, b = rng.randrange(VOCABULARY), rng.randrange(VOCABULARY)
        if kind == 0:
            queries.append(f"w{rng.randrange(20)}")  # very common words: pages fill at once
        elif kind == 1:
            queries.append(f"w{a}")  # any frequency
        elif kind == 2:
            queries.append(f"w{a // 10} w{b}")  # two words, all must match
        else:
            queries.append(f"w{a}"[:-1])  # a prefix: "w123" typed as far as "w12"
    search.search(db, "w1", limit=50)  # warm the connection's cache like a running app
    times = []
    for q in queries:
        start = time.perf_counter()
        search.search(db, q, limit=50)
        times.append((time.perf_counter() - start) * 1000)
    db.close()
    times.sort()
    return {"search_p95_ms": times[max(0, int(len(times) * 0.95) - 1)]}


def measure_catchup() -> float | None:
    try:
        module = importlib.import_module("catchup")
    except ModuleNotFoundError:
        log("bench/catchup.py is not there yet: catchup_msgs_per_s is null")
        return None
    measure: Callable[[int], float] = module.measure_catchup
    return float(measure(CATCHUP))


def main() -> None:
    figures: dict[str, float | int | str | None] = {}
    with tempfile.TemporaryDirectory(prefix="parley-bench-store-") as tmp:
        folder = Path(tmp)
        figures |= measure_ratio(folder)
        figures |= measure_open(folder)
    figures |= measure_search()
    figures["catchup_msgs_per_s"] = measure_catchup()
    figures |= {"quick": int(QUICK), "search_size": SEARCH_SIZE, "open_size": OPEN_SIZE}
    emit(figures)


if __name__ == "__main__":
    main()
