"""The relay's capture path (HI1 administration, IRI and CC capture), present only with
``parley relay --lawful-intercept FILE``; without that option this module is never imported.

How the operator's orders reach the relay: the CSP's tool (``parley warrant relay activate``)
checks the warrant and logs the activation, then drops the order as a JSON file into
``DATA/lawful-intercept/hi1/``. The relay reads that folder once a second and verifies every order
itself against the authority's signing key from FILE, so a file nobody with the authority's key
signed starts nothing. A file is the simplest channel that needs no new network surface: only the
relay host's administrator can write there.

Capture is prospective: a warrant captures from the moment the relay first accepted its order
(kept across restarts), never earlier, and only inside the warrant's window. For each send from or
to an active target the relay writes one record to ``capture.sqlite3`` (separate from the queues):
the IRI (sender as authenticated, recipient, message id, arrival time, size), the CC (the payload
exactly as received) and the relay's Ed25519 signature over the IRI and the CC's SHA-256. Sends
between non-targets are never written; the test reads the store to check it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
from parley.net.errors import InterceptError, RelayConfigError, StoreError
from parley.net.relay import lawful_intercept as li

log = logging.getLogger("parley.relay")

LI_DIR = "lawful-intercept"
HI1_DIR = "hi1"
CAPTURE_DB = "capture.sqlite3"
RELAY_KEY = "relay-capture.key"
RELAY_PUB = "relay-capture.pub"
STATUS = "status.json"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activations (
    liid TEXT PRIMARY KEY, warrant TEXT NOT NULL, target TEXT NOT NULL,
    start_s INTEGER NOT NULL, end_s INTEGER NOT NULL,
    active_since_us INTEGER NOT NULL, deactivated_us INTEGER
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    liid TEXT NOT NULL, sender BLOB NOT NULL, message_id BLOB NOT NULL,
    attestation TEXT NOT NULL, cc BLOB NOT NULL,
    UNIQUE (liid, sender, message_id)
);
"""


def load_authority_key(path: Path) -> bytes:
    """The authority's Ed25519 signing public key from its public parameters (authority.json).

    Raises:
        RelayConfigError: unreadable, not JSON, or without a 32-byte ``signing_public_key``.
    """
    try:
        params = json.loads(path.read_text(encoding="utf-8"))
        key = bytes.fromhex(params["signing_public_key"])
    except OSError as exc:
        raise RelayConfigError(f"cannot read the authority parameters {path}: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise RelayConfigError(
            f"{path} is not an authority parameters file (no signing_public_key)"
        ) from exc
    if len(key) != 32:
        raise RelayConfigError(f"{path}: the authority's signing_public_key is not 32 bytes")
    return key


def relay_signing_key(li_dir: Path) -> nacl.signing.SigningKey:
    """The relay's capture-signing key, created (0600) on first use; its public half is written
    beside it for the CSP's tools (``parley warrant relay activate`` logs it)."""
    key_path = li_dir / RELAY_KEY
    if key_path.exists():
        return nacl.signing.SigningKey(bytes.fromhex(key_path.read_text().strip()))
    key = nacl.signing.SigningKey.generate()
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(bytes(key).hex() + "\n")
    (li_dir / RELAY_PUB).write_text(bytes(key.verify_key).hex() + "\n")
    return key


@dataclass(frozen=True, slots=True)
class _Active:
    liid: str
    start_us: int
    end_us: int
    since_us: int


class Capture:
    """The capture store and the set of active warrants of one relay.

    Args:
        data_dir: the relay's data directory (``DATA/lawful-intercept/`` is created inside).
        authority_key: the authority's Ed25519 public key (orders must be signed by it).
    """

    def __init__(self, data_dir: Path, authority_key: bytes) -> None:
        self.dir = data_dir / LI_DIR
        try:
            (self.dir / HI1_DIR).mkdir(parents=True, exist_ok=True)
            self._key = relay_signing_key(self.dir)
            self._db = sqlite3.connect(self.dir / CAPTURE_DB, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Records of one event-loop turn share one commit (the server calls commit() at the
            # end of the turn); NORMAL: a crash of the relay loses nothing committed.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, ValueError, sqlite3.Error) as exc:
            raise RelayConfigError(f"cannot open the capture store in {self.dir}: {exc}") from exc
        self._relay_pub = bytes(self._key.verify_key)
        self._authority = authority_key
        self._targets: dict[bytes, list[_Active]] = {}
        # order file -> mtime, so that unchanged files are not read again every second
        self._seen: dict[str, float] | None = None
        self.records_written = 0
        self.dirty = False  # records written since the last commit

    # --- HI1 --------------------------------------------------------------------------------

    def scan(self, now: float) -> None:
        """Read the HI1 folder: activate new warrants, deactivate revoked ones."""
        try:
            files = sorted((self.dir / HI1_DIR).glob("*.json"))
            stamps = {str(p): p.stat().st_mtime for p in files}
        except OSError as exc:
            log.error("cannot read the HI1 folder: %s", exc)
            return
        if stamps == self._seen and self._targets_fresh(now):
            return
        self._seen = stamps
        self.commit()  # orders are applied in their own autocommit statements
        now_us = int(now * 1_000_000)
        for path in files:
            try:
                self._apply_order(json.loads(path.read_text(encoding="utf-8")), now_us)
            except (OSError, ValueError, InterceptError, sqlite3.Error) as exc:
                log.warning("HI1 order %s refused: %s", path.name, exc)
        self._load_targets(now_us)

    def _targets_fresh(self, now: float) -> bool:
        """Whether no active warrant's window ended since the last scan."""
        now_us = int(now * 1_000_000)
        return all(a.end_us > now_us for actives in self._targets.values() for a in actives)

    def _apply_order(self, order: Any, now_us: int) -> None:
        if not isinstance(order, dict):
            raise InterceptError("The HI1 order is not a JSON object.")
        kind = order.get("order")
        if kind == "activate":
            warrant = li.check_warrant(order.get("warrant"), self._authority)
            known = self._db.execute(
                "SELECT 1 FROM activations WHERE liid = ?", (warrant["liid"],)
            ).fetchone()
            if known is None:
                self._db.execute(
                    "INSERT INTO activations VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (
                        warrant["liid"],
                        li.digest(order["warrant"]),
                        warrant["target"],
                        warrant["start"],
                        warrant["end"],
                        now_us,
                    ),
                )
                log.info("HI1 activate %s", warrant["liid"])
        elif kind == "deactivate":
            revocation = li.check_revocation(order.get("revocation"), self._authority)
            cur = self._db.execute(
                "UPDATE activations SET deactivated_us = ? "
                "WHERE liid = ? AND warrant = ? AND deactivated_us IS NULL",
                (now_us, revocation["liid"], revocation["warrant"]),
            )
            if cur.rowcount:
                log.info("HI1 deactivate %s", revocation["liid"])
        else:
            raise InterceptError("The HI1 order is neither an activation nor a deactivation.")

    def _load_targets(self, now_us: int) -> None:
        targets: dict[bytes, list[_Active]] = {}
        rows = self._db.execute(
            "SELECT liid, target, start_s, end_s, active_since_us FROM activations "
            "WHERE deactivated_us IS NULL AND end_s * 1000000 > ?",
            (now_us,),
        ).fetchall()
        for liid, target, start, end, since in rows:
            active = _Active(liid, start * 1_000_000, end * 1_000_000, since)
            targets.setdefault(bytes.fromhex(target), []).append(active)
        self._targets = targets
        self._write_status(now_us)

    def _write_status(self, now_us: int) -> None:
        rows = self._db.execute(
            "SELECT liid, target, start_s, end_s, active_since_us, deactivated_us "
            "FROM activations ORDER BY liid"
        ).fetchall()
        status = {
            "relay": self._relay_pub.hex(),
            "checked_us": now_us,
            "warrants": [
                {
                    "liid": liid,
                    "target": target,
                    "start": start,
                    "end": end,
                    "active_since_us": since,
                    "deactivated_us": off,
                    "state": "deactivated"
                    if off is not None
                    else "expired"
                    if end * 1_000_000 <= now_us
                    else "active",
                }
                for liid, target, start, end, since, off in rows
            ],
        }
        tmp = self.dir / (STATUS + ".tmp")
        try:
            tmp.write_text(json.dumps(status, indent=1) + "\n")
            tmp.replace(self.dir / STATUS)
        except OSError as exc:
            log.error("cannot write the HI1 status: %s", exc)

    # --- capture ----------------------------------------------------------------------------

    def observe(
        self, sender: bytes, recipient: bytes, message_id: bytes, payload: bytes, now: float
    ) -> None:
        """The relay core's tap: called for every send; writes records for active targets only."""
        targets = self._targets
        if not targets or (sender not in targets and recipient not in targets):
            return
        now_us = int(now * 1_000_000)
        for who in {sender, recipient}:
            for active in targets.get(who, ()):
                if active.start_us <= now_us < active.end_us and now_us >= active.since_us:
                    body = li.record_body(
                        active.liid,
                        sender=sender,
                        recipient=recipient,
                        message_id=message_id,
                        arrival_us=now_us,
                        payload=payload,
                        relay_key=self._relay_pub,
                    )
                    self._write(active.liid, sender, message_id, payload, body)

    def _write(
        self, liid: str, sender: bytes, message_id: bytes, payload: bytes, body: li.Json
    ) -> None:
        signed = li.sign(li.RECORD_DOMAIN, body, self._key)
        try:
            if not self.dirty:
                self._db.execute("BEGIN")
                self.dirty = True
            self._db.execute(
                "INSERT OR IGNORE INTO records (liid, sender, message_id, attestation, cc) "
                "VALUES (?, ?, ?, ?, ?)",
                (liid, sender, message_id, li.canonical(signed).decode(), payload),
            )
        except sqlite3.Error as exc:  # capture must never stop the relay from relaying
            log.error("capture write failed: %s", exc)
            return
        self.records_written += 1

    def commit(self) -> None:
        """Make this turn's records durable (one commit for all of them)."""
        if not self.dirty:
            return
        self.dirty = False
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("capture commit failed: %s", exc)

    def close(self) -> None:
        """Commit and close the capture store."""
        self.commit()
        self._db.close()


def export(data_dir: Path, liid: str) -> tuple[str, list[li.Json]]:
    """(relay public key hex, records) of one LIID, from a relay's data directory.

    Raises:
        StoreError: no capture store there, or it cannot be read.
    """
    li_dir = data_dir / LI_DIR
    db_path = li_dir / CAPTURE_DB
    if not db_path.exists():
        raise StoreError(f"{data_dir} has no capture store (was the relay run with the option?)")
    try:
        relay = (li_dir / RELAY_PUB).read_text().strip()
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT attestation, cc FROM records WHERE liid = ? ORDER BY id", (liid,)
            ).fetchall()
        finally:
            db.close()
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot read the capture store: {exc}") from exc
    return relay, [{"attestation": json.loads(a), "cc": bytes(cc).hex()} for a, cc in rows]


def status(data_dir: Path) -> dict[str, Any]:
    """The relay's last written HI1 status (what ``parley warrant relay list`` shows).

    Raises:
        StoreError: the relay has not written one (never started with the option).
    """
    path = data_dir / LI_DIR / STATUS
    try:
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"{data_dir} has no HI1 status: the relay was never started with --lawful-intercept"
        ) from exc
    return result
