"""The audit log through `parley warrant log ...`: verifies from scratch and across two tree
heads; a truncated or rewritten log fails (each attack played against the real file)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import nacl.signing
from parley.app.warrant.log import LOG_DB, AuditLog, load_log_key

from tests.warrant.conftest import issue, ok, refused


def _issue_some(authority_dir: Path, log_dir: Path, tmp_path: Path, n: int, first: int = 0) -> None:
    now = time.time()
    for i in range(first, first + n):
        issue(
            authority_dir, log_dir, tmp_path / f"w{i}.json",
            liid=f"LIID-{i}", target=bytes([i]) * 32, start=now - 10, end=now + 3600,
        )  # fmt: skip


def test_log_verifies_and_extends_a_saved_head(
    authority_dir: Path, log_dir: Path, tmp_path: Path
) -> None:
    _issue_some(authority_dir, log_dir, tmp_path, 3)
    head = tmp_path / "head.json"
    ok("log", "head", "--log", log_dir, "--out", head)
    _issue_some(authority_dir, log_dir, tmp_path, 4, first=3)
    out = ok("log", "verify", "--log", log_dir, "--authority", authority_dir, "--since", head)
    assert out.startswith("ok: 8 entries (1 authority, 7 warrant)")
    assert "extends the saved head of size 4" in out
    # The published file alone verifies too (what an outside auditor gets).
    ok("log", "verify", "--log", log_dir / LOG_DB, "--authority", authority_dir)
    # The public log never shows a target: warrants appear as salted commitments only.
    raw = (log_dir / LOG_DB).read_bytes()
    assert (bytes([5]) * 32).hex().encode() not in raw
    assert b"LIID-5" not in raw


def test_truncated_log_fails(authority_dir: Path, log_dir: Path, tmp_path: Path) -> None:
    _issue_some(authority_dir, log_dir, tmp_path, 5)
    head = tmp_path / "head.json"
    ok("log", "head", "--log", log_dir, "--out", head)
    db = sqlite3.connect(log_dir / LOG_DB)
    with db:
        db.execute("DELETE FROM leaves WHERE idx >= 4")
    db.close()
    # The heads signed for the deleted entries are still there: truncation is visible at once.
    assert "truncated" in refused("log", "verify", "--log", log_dir, "--authority", authority_dir)
    db = sqlite3.connect(log_dir / LOG_DB)
    with db:
        db.execute("DELETE FROM heads WHERE size > 4")
    db.close()
    # A careful truncation (heads deleted too) verifies alone, but not against the saved head.
    ok("log", "verify", "--log", log_dir, "--authority", authority_dir)
    line = refused("log", "verify", "--log", log_dir, "--authority", authority_dir, "--since", head)
    assert "truncated" in line and "fewer than the 6" in line


def test_rewritten_entry_fails(authority_dir: Path, log_dir: Path, tmp_path: Path) -> None:
    _issue_some(authority_dir, log_dir, tmp_path, 3)
    db = sqlite3.connect(log_dir / LOG_DB)
    with db:
        (data,) = db.execute("SELECT data FROM leaves WHERE idx = 2").fetchone()
        db.execute("UPDATE leaves SET data = ? WHERE idx = 2", (data.replace(b'"c', b'"d', 1),))
    db.close()
    line = refused("log", "verify", "--log", log_dir, "--authority", authority_dir)
    assert "rewritten" in line or "not signed by the authority" in line


def test_history_rewritten_by_the_log_operator_fails_against_a_saved_head(
    authority_dir: Path, log_dir: Path, tmp_path: Path
) -> None:
    """The operator holds the log key and re-signs a forged history (entry 1 dropped, heads
    rebuilt): the log is self-consistent, but it does not extend a head saved before."""
    _issue_some(authority_dir, log_dir, tmp_path, 3)
    head = tmp_path / "head.json"
    ok("log", "head", "--log", log_dir, "--out", head)
    key: nacl.signing.SigningKey = load_log_key(log_dir)
    with AuditLog(log_dir) as log:
        kept = [data for index, data in log.entries() if index != 1]
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "log-signing.key").write_text(bytes(key).hex())
    import json

    with AuditLog(forged, create=True) as log:
        for data in kept:
            log.append(json.loads(data), key)
    ok("log", "verify", "--log", forged, "--authority", authority_dir)
    line = refused("log", "verify", "--log", forged, "--authority", authority_dir, "--since", head)
    assert "truncated" in line or "rewritten" in line


def test_log_from_another_authority_fails(
    authority_dir: Path, log_dir: Path, tmp_path: Path
) -> None:
    from tests.warrant.conftest import make_authority

    other = make_authority(tmp_path / "other")
    line = refused("log", "verify", "--log", log_dir, "--authority", other)
    assert "not signed by this authority" in line


def test_missing_log_is_one_sentence(authority_dir: Path, tmp_path: Path) -> None:
    line = refused("log", "verify", "--log", tmp_path / "nowhere", "--authority", authority_dir)
    assert "no audit log" in line
