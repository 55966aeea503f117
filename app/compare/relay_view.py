"""What the relay keeps at rest, read from its own database file as its operator could.

The relay writes SQLite in WAL mode; a read-only connection sees every committed row while the
relay runs, which is exactly the operator's view of a running server.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

DB_NAME = "relay.sqlite3"


def snapshot(data_dir: Path) -> dict[str, Any]:
    """The queued messages (without payload bytes: sizes and hashes stand in) and prekey rows."""
    uri = f"file:{data_dir / DB_NAME}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=10) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(queue)")]
        queue = [
            {
                "recipient": bytes(r[0]).hex(),
                "sender": bytes(r[1]).hex(),
                "message_id": bytes(r[2]).hex(),
                "payload_bytes": int(r[3]),
                "stored_at": float(r[4]),
                "expires_at": float(r[5]),
            }
            for r in db.execute(
                "SELECT recipient, sender, message_id, length(payload), stored_at, expires_at "
                "FROM queue ORDER BY seq"
            )
        ]
        payloads = [bytes(r[0]) for r in db.execute("SELECT payload FROM queue ORDER BY seq")]
        signed = {
            bytes(r[0]).hex(): bytes(r[1]).hex()
            for r in db.execute("SELECT account, prekey FROM signed_prekeys")
        }
        accounts = int(db.execute("SELECT count(*) FROM accounts").fetchone()[0])
    return {
        "queue_columns": columns,
        "queue": queue,
        "payloads_hex": [p.hex() for p in payloads],
        "signed_prekeys": signed,
        "accounts": accounts,
    }


def contains_any(blobs: list[bytes], needles: list[bytes]) -> list[bytes]:
    """The needles found in any blob (used to show that no plaintext reached the relay)."""
    return [n for n in needles if any(n in b for b in blobs)]
