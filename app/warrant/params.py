"""The warrant workflow's access to the authority's secret files (their formats are in
app/warrant/authority.py): the signing key, and a trustee's share file when it deletes a share."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nacl.signing
from parley.app.warrant.authority import SIGNING_KEY_FILE, Authority, TrusteeShares
from parley.app.warrant.errors import ParamsError


def read_json(path: Path, what: str) -> Any:
    """A JSON file, or a one-sentence error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParamsError(f"The {what} {path} cannot be read ({exc.strerror}).") from exc
    except ValueError as exc:
        raise ParamsError(f"The {what} {path} is not JSON.") from exc


def load_signing_key(path: Path) -> nacl.signing.SigningKey:
    """The authority's Ed25519 signing key (a directory holding authority-signing.key, or it).

    Raises:
        ParamsError: missing or not a key.
    """
    if path.is_dir():
        path = path / SIGNING_KEY_FILE
    try:
        return nacl.signing.SigningKey(bytes.fromhex(path.read_text().strip()))
    except OSError as exc:
        raise ParamsError(f"The authority's signing key {path} cannot be read.") from exc
    except (ValueError, TypeError) as exc:
        raise ParamsError(f"{path} is not an Ed25519 signing key.") from exc


def check_trustee(trustee: TrusteeShares, authority: Authority) -> None:
    """Refuse a share file that is not one of this authority's trustees."""
    if trustee.key_id != authority.key_id:
        raise ParamsError("This trustee's shares belong to another authority key.")
    if not 1 <= trustee.index <= authority.trustees:
        raise ParamsError(f"The authority has no trustee {trustee.index}.")


def delete_epoch_share(path: Path, epoch: int) -> None:
    """Rewrite a trustee's share file without its share of ``epoch`` (0600; atomic, fsynced, so
    a crash leaves the old file or the new one, never half)."""
    raw = read_json(path, "trustee share file")
    raw["shares"] = [s for s in raw["shares"] if int(s["epoch"]) != epoch]
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(raw, indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
