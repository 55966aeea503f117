"""The audit log: an append-only Merkle log (RFC 9162 style) of all the warrant workflow does.

Storage: one SQLite file, ``LOG/log.sqlite3``, that can be published as it is: leaves (canonical
JSON entries, in order) and every signed tree head (STH) the log ever issued. The log's own
Ed25519 key, ``LOG/log-signing.key``, signs tree heads; entry 0 is the authority's publication,
signed by the authority, which names that key, so a verifier needs only authority.json.

Entry kinds (``kind``): ``authority`` (key id, epoch keys and trustee keys, the log key),
``warrant`` (a commitment: SHA-256 of the signed warrant, which carries a random salt, so the log
shows that a warrant exists and when, not whom it targets; the authority's signature over the
commitment), ``hi1`` (a relay activated or deactivated a warrant, with the relay's capture key),
``request`` (an opening request: warrant commitment, record digests, request id), ``answer`` (a
trustee answered a request: trustee index, request id, answer digest), ``epoch_deleted`` (a
trustee deleted its share of an epoch).

Appends run inside ``BEGIN IMMEDIATE`` so that several processes (the LEA, the trustees, the CSP)
append in one order; each append issues and stores a new STH. The pure tree code is
crypto/merkle.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.signing
from parley.app.warrant.errors import LogError
from parley.crypto import merkle
from parley.net.relay import lawful_intercept as li

LOG_DB = "log.sqlite3"
LOG_KEY = "log-signing.key"
STH_DOMAIN = b"parley-log-sth-v1"
AUTHORITY_DOMAIN = b"parley-log-authority-v1"
WARRANT_COMMIT_DOMAIN = b"parley-warrant-commitment-v1"
KINDS = frozenset({"authority", "warrant", "hi1", "request", "answer", "epoch_deleted"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leaves (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS heads (
    size INTEGER PRIMARY KEY, timestamp_ms INTEGER NOT NULL, root BLOB NOT NULL,
    signature BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head: the log's size, time, root, and the log key's signature over them."""

    size: int
    timestamp_ms: int
    root: bytes
    signature: bytes

    def signed_bytes(self) -> bytes:
        """What the signature covers."""
        return STH_DOMAIN + struct.pack(">QQ", self.size, self.timestamp_ms) + self.root

    def verify(self, log_key: bytes) -> bool:
        """Whether the log key signed this head."""
        try:
            nacl.signing.VerifyKey(log_key).verify(self.signed_bytes(), self.signature)
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        """The head as a JSON object (what ``parley warrant log head`` prints)."""
        return {
            "size": self.size,
            "timestamp_ms": self.timestamp_ms,
            "root": self.root.hex(),
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, obj: Any) -> TreeHead:
        """Parse a head saved from ``parley warrant log head``.

        Raises:
            LogError: not a tree head.
        """
        try:
            return cls(
                int(obj["size"]),
                int(obj["timestamp_ms"]),
                bytes.fromhex(obj["root"]),
                bytes.fromhex(obj["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LogError("The saved tree head is not a Parley log tree head.") from exc


def encode_entry(entry: dict[str, Any]) -> bytes:
    """The leaf bytes of an entry (canonical JSON)."""
    return li.canonical(entry)


def decode_entry(data: bytes, index: int) -> dict[str, Any]:
    """One leaf's entry, checked to be a JSON object of a known kind.

    Raises:
        LogError: it is not.
    """
    try:
        entry = json.loads(data)
    except ValueError as exc:
        raise LogError(f"Log entry {index} is not JSON.") from exc
    if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
        raise LogError(f"Log entry {index} is not an entry of a known kind.")
    return entry


def _db_path(log_dir: Path) -> Path:
    return log_dir / LOG_DB if log_dir.is_dir() else log_dir


class AuditLog:
    """An open audit log directory (for appending) or log file (for reading).

    Args:
        path: the log directory (``log.sqlite3`` inside) or the published file itself.
    """

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        db_path = _db_path(path)
        if not create and not db_path.is_file():
            raise LogError(f"There is no audit log at {path}.")
        try:
            self._db = sqlite3.connect(db_path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: an append survives a crash of the process, not a power cut. That fails safe:
            # a request or answer whose entry is lost is refused later (trustees and the agency
            # check the log), it never becomes an unlogged opening. docs/warrant.md says so.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise LogError(f"The audit log at {path} cannot be opened ({exc}).") from exc
        self._frontier = merkle.Frontier()
        self._hashes: list[bytes] = []
        self._decoded: list[dict[str, Any]] = []

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """How many entries the log holds."""
        (last,) = self._db.execute("SELECT MAX(idx) FROM leaves").fetchone()
        return 0 if last is None else int(last) + 1

    def entries(self) -> Iterator[tuple[int, bytes]]:
        """Every (index, leaf bytes) in order."""
        for idx, data in self._db.execute("SELECT idx, data FROM leaves ORDER BY idx"):
            yield int(idx), bytes(data)

    def entry(self, index: int) -> dict[str, Any]:
        """One entry, decoded."""
        row = self._db.execute("SELECT data FROM leaves WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise LogError(f"The log has no entry {index}.")
        return decode_entry(bytes(row[0]), index)

    def heads(self) -> list[TreeHead]:
        """Every signed tree head, smallest first."""
        rows = self._db.execute(
            "SELECT size, timestamp_ms, root, signature FROM heads ORDER BY size"
        )
        return [TreeHead(int(s), int(t), bytes(r), bytes(g)) for s, t, r, g in rows]

    def latest_head(self) -> TreeHead:
        """The newest signed tree head."""
        row = self._db.execute(
            "SELECT size, timestamp_ms, root, signature FROM heads ORDER BY size DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise LogError("The audit log has no signed tree head yet.")
        return TreeHead(int(row[0]), int(row[1]), bytes(row[2]), bytes(row[3]))

    def _refresh(self) -> None:
        """Read (once) the entries appended since the last call: decoded entries and leaf hashes
        are kept for the life of this object, so repeated look-ups cost no SQL or JSON."""
        rows = self._db.execute(
            "SELECT idx, data FROM leaves WHERE idx >= ? ORDER BY idx", (len(self._hashes),)
        )
        for idx, data in rows:
            if idx != len(self._hashes):
                raise LogError(f"The log skips to entry {idx} after {len(self._hashes) - 1}.")
            self._hashes.append(merkle.leaf_hash(bytes(data)))
            self._decoded.append(decode_entry(bytes(data), int(idx)))

    def leaf_hashes(self, size: int | None = None) -> list[bytes]:
        """The leaf hashes of the stored entries (computed from their bytes)."""
        self._refresh()
        return list(self._hashes if size is None else self._hashes[:size])

    def find(self, **fields: Any) -> list[tuple[int, dict[str, Any]]]:
        """Entries whose fields equal the given values, in log order."""
        self._refresh()
        items = fields.items()
        return [
            (index, entry)
            for index, entry in enumerate(self._decoded)
            if all(entry.get(k) == v for k, v in items)
        ]

    def log_key(self) -> bytes:
        """The log's public key, as entry 0 (the authority's publication) names it."""
        try:
            return bytes.fromhex(self.entry(0)["log_key"])
        except (KeyError, ValueError, TypeError) as exc:
            raise LogError("The log's first entry does not name the log key.") from exc

    def prove_inclusion(self, index: int, head: TreeHead) -> list[bytes]:
        """The audit path of entry ``index`` under ``head``."""
        return merkle.inclusion_proof(self.leaf_hashes(head.size), index, head.size)

    # --- appending --------------------------------------------------------------------------

    def append(
        self, entry: dict[str, Any], signing_key: nacl.signing.SigningKey, now: float | None = None
    ) -> tuple[int, TreeHead]:
        """Append one entry and issue a new signed tree head, atomically.

        Raises:
            LogError: the append did not happen (the entry is then not in the log).
        """
        if entry.get("kind") not in KINDS:
            raise LogError("The entry is not of a known kind.")
        data = encode_entry(entry)
        now = time.time() if now is None else now
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                size = self.size
                if self._frontier.size != size:  # another process appended meanwhile
                    self._frontier = merkle.Frontier()
                    for h in self.leaf_hashes():
                        self._frontier.append(h)
                self._db.execute("INSERT INTO leaves (idx, data) VALUES (?, ?)", (size, data))
                self._frontier.append(merkle.leaf_hash(data))
                head = self._sign_head(size + 1, self._frontier.root(), signing_key, now)
                self._db.execute(
                    "INSERT INTO heads VALUES (?, ?, ?, ?)",
                    (head.size, head.timestamp_ms, head.root, head.signature),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._frontier = merkle.Frontier()
                raise
        except sqlite3.Error as exc:
            raise LogError(f"The audit log could not append the entry ({exc}).") from exc
        return size, head

    @staticmethod
    def _sign_head(size: int, root: bytes, key: nacl.signing.SigningKey, now: float) -> TreeHead:
        unsigned = TreeHead(size, int(now * 1000), root, b"")
        return TreeHead(
            size, unsigned.timestamp_ms, root, key.sign(unsigned.signed_bytes()).signature
        )


def load_log_key(log_dir: Path) -> nacl.signing.SigningKey:
    """The log's signing key from ``LOG/log-signing.key``.

    Raises:
        LogError: missing or unreadable (this process cannot append to the log).
    """
    try:
        return nacl.signing.SigningKey(bytes.fromhex((log_dir / LOG_KEY).read_text().strip()))
    except (OSError, ValueError) as exc:
        raise LogError(f"The audit log's signing key is not readable in {log_dir}.") from exc


def write_secret(path: Path, text: str) -> None:
    """Create a file only its owner can read (refuses to overwrite)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
