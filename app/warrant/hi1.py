"""HI1 administration at the CSP: hand a warrant's activation or deactivation to a relay.

The CSP's command checks the order (the authority's signature, the warrant's commitment in the
log), appends an ``hi1`` entry naming the relay's capture key (so trustees know which relay key
signs this warrant's records), and only then writes the order into the relay's HI1 folder, which
the relay reads once a second and checks again itself (net/relay/capture.py).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import nacl.signing
from parley.app.warrant.audit import check_included, find_commitment
from parley.app.warrant.authority import Authority
from parley.app.warrant.errors import LogError, Refused, sentence
from parley.app.warrant.errors import clause as _clause
from parley.app.warrant.log import AuditLog
from parley.net.errors import InterceptError
from parley.net.relay import capture
from parley.net.relay import lawful_intercept as li


def _relay_key(relay_data: Path) -> str:
    try:
        return (relay_data / capture.LI_DIR / capture.RELAY_PUB).read_text().strip()
    except OSError as exc:
        raise Refused(
            f"{relay_data} has no capture key: start the relay with --lawful-intercept first."
        ) from exc


def _drop(relay_data: Path, name: str, order: dict[str, Any]) -> Path:
    folder = relay_data / capture.LI_DIR / capture.HI1_DIR
    target = folder / f"{name}.json"
    tmp = folder / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(order, indent=1) + "\n")
    tmp.replace(target)  # the relay never reads half a file
    return target


def _safe(liid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in liid)


def activate(
    relay_data: Path,
    log: AuditLog,
    log_key: nacl.signing.SigningKey,
    authority: Authority,
    warrant: Any,
    *,
    now: float | None = None,
) -> Path:
    """Check, log, then hand an activation to the relay. Returns the order file.

    Raises:
        Refused: the warrant is not the authority's, has ended, or is not in the log.
        LogError: the activation could not be logged (then the relay gets nothing).
    """
    try:
        body = li.check_warrant(warrant, authority.signing_public_key)
    except InterceptError as exc:
        raise Refused(
            f"{_clause(exc)}: the relay accepts only warrants the authority signed."
        ) from exc
    now = time.time() if now is None else now
    if body["end"] <= now:
        raise Refused("The warrant's window has ended; there is nothing left to activate.")
    try:
        check_included(log, find_commitment(log, warrant), authority)
    except LogError as exc:
        raise Refused(f"{_clause(exc)}: the relay accepts only logged warrants.") from exc
    relay = _relay_key(relay_data)
    log.append(
        {
            "kind": "hi1",
            "action": "activate",
            "warrant": li.digest(warrant),
            "liid": body["liid"],
            "relay": relay,
            "at": int(now),
        },
        log_key,
    )
    return _drop(relay_data, _safe(body["liid"]), {"order": "activate", "warrant": warrant})


def deactivate(
    relay_data: Path,
    log: AuditLog,
    log_key: nacl.signing.SigningKey,
    authority: Authority,
    revocation: Any,
    *,
    now: float | None = None,
) -> Path:
    """Check, log, then hand a deactivation (the authority's signed revocation) to the relay.

    Raises:
        Refused: the revocation is not the authority's.
        LogError: it could not be logged.
    """
    try:
        body = li.check_revocation(revocation, authority.signing_public_key)
    except InterceptError as exc:
        raise Refused(
            f"{_clause(exc)}: the relay accepts only revocations the authority signed."
        ) from exc
    log.append(
        {
            "kind": "hi1",
            "action": "deactivate",
            "warrant": body["warrant"],
            "liid": body["liid"],
            "relay": _relay_key(relay_data),
            "at": int(time.time() if now is None else now),
        },
        log_key,
    )
    return _drop(
        relay_data,
        _safe(body["liid"]) + ".deactivate",
        {"order": "deactivate", "revocation": revocation},
    )


def revoke(warrant: Any, authority: Authority, authority_key: nacl.signing.SigningKey) -> li.Json:
    """The authority's signed revocation of a warrant.

    Raises:
        Refused: the warrant is not this authority's.
    """
    try:
        body = li.check_warrant(warrant, authority.signing_public_key)
    except InterceptError as exc:
        raise Refused(sentence(exc)) from exc
    return li.sign(
        li.REVOCATION_DOMAIN,
        {"kind": "revocation", "liid": body["liid"], "warrant": li.digest(warrant)},
        authority_key,
    )
