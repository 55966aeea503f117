"""Reading the authority's files (written by ``parley warrant authority init``, issue 9): the
public parameters, a trustee's share file and the authority's signing key. One adapter, so a
change of those formats is made here only (field names: WARRANT-INTERFACES.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
from parley.app.warrant.errors import ParamsError
from parley.net.relay import lawful_intercept as li


@dataclass(frozen=True)
class Epoch:
    """One epoch: number, window [start, end) in Unix seconds, W_e and each trustee's W_{e,i}."""

    number: int
    start: int
    end: int
    public_key: bytes
    trustee_keys: tuple[bytes, ...]


@dataclass(frozen=True)
class Authority:
    """The public parameters a warrant build compiles in (authority.json)."""

    key_id: str
    threshold: int
    trustees: int
    signing_key: bytes
    epochs: tuple[Epoch, ...]
    raw: dict[str, Any]

    def epoch(self, number: int) -> Epoch | None:
        """The epoch with this number, if the authority has one."""
        return next((e for e in self.epochs if e.number == number), None)

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical parameters (what the log's first entry commits to)."""
        return li.digest(self.raw)


def read_json(path: Path, what: str) -> Any:
    """A JSON file, or a one-sentence error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParamsError(f"The {what} {path} cannot be read ({exc.strerror}).") from exc
    except ValueError as exc:
        raise ParamsError(f"The {what} {path} is not JSON.") from exc


def load_authority(path: Path) -> Authority:
    """authority.json (a directory holding it is accepted too).

    Raises:
        ParamsError: missing, not JSON, or a field is missing or malformed.
    """
    if path.is_dir():
        path = path / "authority.json"
    raw = read_json(path, "authority parameters file")
    try:
        epochs = tuple(
            Epoch(
                int(e["number"]),
                int(e["start"]),
                int(e["end"]),
                bytes.fromhex(e["public_key"]),
                tuple(bytes.fromhex(k) for k in e["trustee_keys"]),
            )
            for e in raw["epochs"]
        )
        authority = Authority(
            str(raw["key_id"]),
            int(raw["threshold"]),
            int(raw["trustees"]),
            bytes.fromhex(raw["signing_public_key"]),
            epochs,
            raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ParamsError(f"{path} is not a complete set of authority parameters.") from exc
    if len(authority.signing_key) != 32 or not 1 <= authority.threshold <= authority.trustees:
        raise ParamsError(f"{path} has an impossible signing key or threshold.")
    return authority


def load_signing_key(path: Path) -> nacl.signing.SigningKey:
    """The authority's Ed25519 signing key (authority-signing.key: a 32-byte seed, hex or raw;
    a directory holding it is accepted too)."""
    if path.is_dir():
        path = path / "authority-signing.key"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParamsError(f"The authority's signing key {path} cannot be read.") from exc
    try:
        seed = bytes.fromhex(data.decode().strip()) if len(data) != 32 else data
        return nacl.signing.SigningKey(seed)
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise ParamsError(f"{path} is not an Ed25519 signing key.") from exc


@dataclass(frozen=True)
class TrusteeFile:
    """A trustee's share file: its index and its secret share per epoch number."""

    path: Path
    index: int
    key_id: str
    shares: dict[int, bytes]
    raw: dict[str, Any]


def load_trustee(path: Path) -> TrusteeFile:
    """trustee-<i>.json.

    Raises:
        ParamsError: missing or malformed.
    """
    raw = read_json(path, "trustee share file")
    try:
        shares = {int(k): bytes.fromhex(v) for k, v in raw["shares"].items()}
        return TrusteeFile(path, int(raw["index"]), str(raw["key_id"]), shares, raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ParamsError(f"{path} is not a trustee share file.") from exc


def save_trustee(trustee: TrusteeFile, shares: dict[int, bytes]) -> None:
    """Rewrite the trustee's file with ``shares`` (0600, atomically: a crash leaves old or new)."""
    raw = dict(trustee.raw)
    raw["shares"] = {str(k): v.hex() for k, v in sorted(shares.items())}
    tmp = trustee.path.with_name(trustee.path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(raw, indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(trustee.path)


def check_trustee(trustee: TrusteeFile, authority: Authority) -> None:
    """Refuse a trustee file that is not one of this authority's trustees."""
    if trustee.key_id != authority.key_id:
        raise ParamsError("This trustee's shares belong to another authority key.")
    if not 1 <= trustee.index <= authority.trustees:
        raise ParamsError(f"The authority has no trustee {trustee.index}.")
