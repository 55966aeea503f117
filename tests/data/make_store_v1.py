"""Regenerate store_v1.db + store_v1.header: a schema-version-1 profile for the upgrade test.

Run from the repository root: ``.venv/bin/python tests/data/make_store_v1.py``. The database key
is fixed (``TEST_KEY``) and wrapped under the passphrase ``TEST_PASSPHRASE`` with libsodium's
minimum Argon2id cost; both are test values, nothing secret. Randomness is seeded so that reruns
produce the same logical content (SQLCipher's page salts still differ between runs).
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import nacl.pwhash
from parley.app.store import keysource
from parley.app.store.db import Database
from parley.app.store.migrate import migrate

TEST_KEY = bytes(range(32))
TEST_PASSPHRASE = "parley-v1-fixture"
HERE = Path(__file__).resolve().parent
MESSAGES = (
    "Café at noon? See example.com/menu",
    "holiday_photo-2024.jpg is in the album",
    "plain words only",
)


def main() -> None:
    rng = random.Random(1)

    def fixed_rng(n: int) -> bytes:
        return rng.randbytes(n)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.db"
        db = Database.open(path, TEST_KEY, create=True)
        migrate(db, target=1)
        db.execute(
            "INSERT INTO contacts (id, display_name, identity_key, verified, key_changed, "
            "first_seen, build_variant) VALUES ('c1', 'Alice', ?, 1, 0, 1700000000.0, 'standard')",
            (bytes(32),),
        )
        db.execute(
            "INSERT INTO conversations (id, contact_id, unread, last_activity) "
            "VALUES ('v1', 'c1', 1, 1700000100.0)"
        )
        for n, body in enumerate(MESSAGES, start=1):
            db.execute(
                "INSERT INTO messages (id, conversation_id, direction, sender, body, sent_at, "
                "received_at, status) VALUES (?, 'v1', 'in', 'Alice', ?, ?, ?, 'delivered')",
                (bytes([n]) * 16, body, 1700000000.0 + n, 1700000000.0 + n),
            )
        db.close()
        shutil.copyfile(path, HERE / "store_v1.db")
    source = keysource.PassphraseSource(
        TEST_PASSPHRASE,
        opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN,
        memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN,
    )
    header = keysource.seal(source, TEST_KEY, profile_id=fixed_rng(16).hex(), rng=fixed_rng)
    keysource.write_header(HERE / "store_v1.header", header)


if __name__ == "__main__":
    main()
