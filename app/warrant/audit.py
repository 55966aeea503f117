"""Checking the audit log from scratch and across two tree heads; creating it; the authority's
entries (its publication, warrant commitments and revocations).

``verify_log`` trusts nothing in the file: it recomputes every leaf hash and every stored head's
root, checks every head's signature with the log key that the authority's signed first entry
names, checks the authority's signature on every warrant commitment, and, given a head saved
earlier, proves with an RFC 9162 consistency proof that today's log extends it. A truncated log
(fewer entries than an earlier head) or a rewritten one (an entry changed under an earlier head)
fails with a sentence saying which.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.signing
from parley.app.warrant.authority import Authority
from parley.app.warrant.errors import LogError
from parley.app.warrant.log import (
    AUTHORITY_DOMAIN,
    LOG_KEY,
    WARRANT_COMMIT_DOMAIN,
    AuditLog,
    TreeHead,
    decode_entry,
    write_secret,
)
from parley.crypto import merkle
from parley.net.relay import lawful_intercept as li

HEAD_STRIDE = 16


@dataclass
class Report:
    """What a verification established."""

    size: int
    root: bytes
    heads: int
    kinds: Counter[str] = field(default_factory=Counter)
    since: int | None = None

    def summary(self) -> str:
        """One line for people."""
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.kinds.items()))
        since = f"; extends the saved head of size {self.since}" if self.since is not None else ""
        return (
            f"ok: {self.size} entries ({kinds}), {self.heads} signed tree heads, "
            f"root {self.root.hex()}{since}"
        )


def _verify_signed(domain: bytes, message: bytes, signature: str, key: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(key).verify(domain + b"\x00" + message, bytes.fromhex(signature))
    except Exception:  # any malformed signature is simply not a valid one
        return False
    return True


def _check_entry(index: int, entry: dict[str, Any], authority: Authority) -> None:
    kind = entry["kind"]
    if (index == 0) != (kind == "authority"):
        raise LogError(f"Log entry {index} is misplaced: only entry 0 is the authority's.")
    if kind == "authority":
        body = {k: v for k, v in entry.items() if k != "signature"}
        if entry.get("key_id") != authority.key_id or not _verify_signed(
            AUTHORITY_DOMAIN,
            li.canonical(body),
            str(entry.get("signature")),
            authority.signing_public_key,
        ):
            raise LogError("The log's first entry is not signed by this authority.")
    elif kind == "warrant":
        commitment = str(entry.get("commitment"))
        if not _verify_signed(
            WARRANT_COMMIT_DOMAIN,
            commitment.encode(),
            str(entry.get("signature")),
            authority.signing_public_key,
        ):
            raise LogError(
                f"Log entry {index}, a warrant commitment, is not signed by the authority."
            )


def verify_log(path: Path, authority: Authority, since: TreeHead | None = None) -> Report:
    """Check a log from scratch, and against a head saved earlier when ``since`` is given.

    Raises:
        LogError: the first thing found wrong, in one sentence.
    """
    with AuditLog(path) as log:
        heads = {h.size: h for h in log.heads()}
        frontier = merkle.Frontier()
        hashes: list[bytes] = []
        kinds: Counter[str] = Counter()
        log_key = b""
        for expected, (index, data) in enumerate(log.entries()):
            if index != expected:
                raise LogError(f"The log skips from entry {expected - 1} to entry {index}.")
            entry = decode_entry(data, index)
            _check_entry(index, entry, authority)
            if index == 0:
                log_key = bytes.fromhex(str(entry.get("log_key", "")))
            kinds[entry["kind"]] += 1
            h = merkle.leaf_hash(data)
            hashes.append(h)
            frontier.append(h)
            # The log signs a head per append. Each head at a multiple of HEAD_STRIDE entries is
            # checked against the data (an entry rewritten under it no longer matches), and the
            # latest head is checked in full below: its signature covers every entry. Checking
            # all 10k intermediate heads would add nothing against someone holding the log key
            # (who can re-sign or delete them); heads saved by others (--since) are what do.
            head = heads.get(frontier.size) if frontier.size % HEAD_STRIDE == 0 else None
            if head is not None and head.root != frontier.root():
                raise LogError(
                    f"The log was rewritten: its first {head.size} entries no longer match "
                    "the tree head signed for them."
                )
        size = frontier.size
        if size == 0:
            raise LogError("The audit log is empty.")
        if not heads or max(heads) != size:
            if heads and max(heads) > size:
                raise LogError(
                    f"The log was truncated: it holds {size} entries but a head was signed "
                    f"for {max(heads)}."
                )
            raise LogError(
                f"The log's last entries (after {max(heads, default=0)}) have no signed head."
            )
        if heads[size].root != frontier.root():
            raise LogError(
                f"The log was rewritten: its {size} entries do not match its latest tree head."
            )
        if not heads[size].verify(log_key):
            raise LogError(f"The latest tree head (size {size}) is not signed by the log's key.")
        stamps = [heads[s].timestamp_ms for s in sorted(heads)]
        if stamps != sorted(stamps):
            raise LogError("The log's tree heads go back in time.")
        report = Report(size, frontier.root(), len(heads), kinds)
        if since is not None:
            _check_since(since, log_key, hashes, report)
        return report


def _check_since(since: TreeHead, log_key: bytes, hashes: list[bytes], report: Report) -> None:
    if not since.verify(log_key):
        raise LogError("The saved tree head is not signed by this log's key.")
    if since.size > report.size:
        raise LogError(
            f"The log was truncated: it holds {report.size} entries, fewer than the "
            f"{since.size} of the saved tree head."
        )
    proof = merkle.consistency_proof(hashes, since.size, report.size)
    if not merkle.verify_consistency(since.size, report.size, since.root, report.root, proof):
        raise LogError(
            f"The log was rewritten: it does not extend the saved tree head of size {since.size}."
        )
    report.since = since.size


# --- the authority's entries ----------------------------------------------------------------


def init_log(
    log_dir: Path, authority: Authority, authority_key: nacl.signing.SigningKey
) -> TreeHead:
    """Create a log directory: a new log key, and entry 0, the authority's signed publication of
    its key id, epoch keys, trustee keys and the log key.

    Raises:
        LogError: the directory already holds a log, or cannot be written.
    """
    if bytes(authority_key.verify_key) != authority.signing_public_key:
        raise LogError("The signing key is not the one the authority parameters name.")
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        if (log_dir / LOG_KEY).exists():
            raise LogError(f"{log_dir} already holds an audit log.")
        log_key = nacl.signing.SigningKey.generate()
        write_secret(log_dir / LOG_KEY, bytes(log_key).hex() + "\n")
    except OSError as exc:
        raise LogError(f"The audit log cannot be created in {log_dir} ({exc.strerror}).") from exc
    body = {
        "kind": "authority",
        "key_id": authority.key_id,
        "threshold": authority.threshold,
        "trustees": authority.trustees,
        "epochs": [
            {
                "number": e.number,
                "start": e.start,
                "end": e.end,
                "public_key": e.public_key.hex(),
                "trustee_keys": [k.hex() for k in e.trustee_keys],
            }
            for e in authority.epochs
        ],
        "log_key": bytes(log_key.verify_key).hex(),
    }
    signature = authority_key.sign(AUTHORITY_DOMAIN + b"\x00" + li.canonical(body)).signature
    with AuditLog(log_dir, create=True) as log:
        _, head = log.append({**body, "signature": signature.hex()}, log_key)
    return head


def issue_warrant(
    authority: Authority,
    authority_key: nacl.signing.SigningKey,
    *,
    liid: str,
    target: str,
    start: int,
    end: int,
    now: float | None = None,
) -> tuple[li.Json, li.Json]:
    """(the signed warrant, its log entry). The warrant carries a random salt, so its commitment
    in the public log reveals nothing about the target.

    Raises:
        InterceptError: the warrant's own fields are not acceptable (same check the relay does).
    """
    body = {
        "kind": "warrant",
        "liid": liid,
        "target": target.lower(),
        "start": start,
        "end": end,
        "authority": authority.key_id,
        "salt": os.urandom(16).hex(),
        "issued_at": int(time.time() if now is None else now),
    }
    warrant = li.sign(li.WARRANT_DOMAIN, body, authority_key)
    li.check_warrant(warrant, authority.signing_public_key)
    return warrant, commitment_entry(warrant, authority_key)


def commitment_entry(warrant: li.Json, authority_key: nacl.signing.SigningKey) -> li.Json:
    """The log entry that commits to a signed warrant (hash only, signed by the authority)."""
    commitment = li.digest(warrant)
    signature = authority_key.sign(WARRANT_COMMIT_DOMAIN + b"\x00" + commitment.encode())
    return {"kind": "warrant", "commitment": commitment, "signature": signature.signature.hex()}


def find_commitment(log: AuditLog, warrant: li.Json) -> int:
    """The index of the warrant's commitment in the log.

    Raises:
        LogError: the warrant is not in the log.
    """
    found = log.find(kind="warrant", commitment=li.digest(warrant))
    if not found:
        raise LogError("The warrant's commitment is not in the audit log.")
    return found[0][0]


def check_included(log: AuditLog, index: int, authority: Authority) -> TreeHead:
    """The latest head, after checking that the authority signed entry 0 (which names the log
    key), that the log key signed the head, and that entry ``index`` is under it (RFC 9162
    inclusion proof). Whoever can write the log's file but does not hold the keys cannot pass.

    Raises:
        LogError: a signature or the proof fails.
    """
    _check_entry(0, log.entry(0), authority)
    head = log.latest_head()
    if not head.verify(log.log_key()):
        raise LogError("The audit log's latest tree head is not signed by the log's key.")
    hashes = log.leaf_hashes(head.size)
    if index >= len(hashes):
        raise LogError(f"Entry {index} is not under the log's latest signed tree head.")
    proof = merkle.inclusion_proof(hashes, index, head.size)
    if not merkle.verify_inclusion(hashes[index], index, head.size, proof, head.root):
        raise LogError(f"Entry {index} is not included under the log's latest tree head.")
    return head
