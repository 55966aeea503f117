"""Authority keys: ``parley warrant authority init`` and the files it writes (docs/warrant.md).

``init`` deals, for each epoch independently, a fresh scalar ``w_e`` among N trustees with
threshold K (crypto/threshold.py) and writes:

- ``authority.json``: the public parameters a warrant build compiles in (key id, N, K, per epoch
  its window, ``W_e``, the Feldman commitments and each trustee's ``W_{e,i}``, and the authority's
  Ed25519 signing public key);
- ``trustee-<i>.json`` (mode 0600): trustee i's share of every epoch;
- ``authority-signing.key`` (mode 0600): the authority's Ed25519 signing seed, hex.

The epoch scalars themselves are never written and are dropped when the deal returns; each epoch is
dealt apart, so deleting one epoch's shares makes that epoch unopenable (bounded exposure). The
key id is the first 8 bytes of SHA-256 over the canonical JSON of the other public fields.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
from parley.app.warrant.errors import WarrantError
from parley.crypto import threshold
from parley.crypto.errors import CryptoError
from parley.crypto.threshold import Share
from parley.crypto.warrant_envelope import AuthorityKey, EpochKey

AUTHORITY_FORMAT = "parley-warrant-authority-v1"
TRUSTEE_FORMAT = "parley-warrant-trustee-v1"
AUTHORITY_FILE = "authority.json"
SIGNING_KEY_FILE = "authority-signing.key"
DEFAULT_EPOCHS = 52
DEFAULT_EPOCH_DAYS = 7
MAX_EPOCHS = 1000


def trustee_file(index: int) -> str:
    return f"trustee-{index}.json"


@dataclass(frozen=True)
class EpochParams:
    number: int
    start: int
    end: int
    public_key: bytes
    commitments: tuple[bytes, ...]
    trustee_keys: tuple[bytes, ...]


@dataclass(frozen=True)
class Authority:
    """The parsed public parameters (``authority.json``)."""

    key_id: str
    trustees: int
    threshold: int
    signing_public_key: bytes
    epochs: tuple[EpochParams, ...]

    def envelope_key(self) -> AuthorityKey:
        """What the envelope seals to (crypto/warrant_envelope.py)."""
        return AuthorityKey(
            bytes.fromhex(self.key_id),
            tuple(EpochKey(e.number, e.start, e.end, e.public_key) for e in self.epochs),
        )

    def epoch(self, number: int) -> EpochParams:
        for epoch in self.epochs:
            if epoch.number == number:
                return epoch
        raise WarrantError(f"The authority {self.key_id} has no epoch {number}.")


def _public_fields(auth: Authority) -> dict[str, Any]:
    return {
        "format": AUTHORITY_FORMAT,
        "trustees": auth.trustees,
        "threshold": auth.threshold,
        "signing_public_key": auth.signing_public_key.hex(),
        "epochs": [
            {
                "epoch": e.number,
                "start": e.start,
                "end": e.end,
                "public_key": e.public_key.hex(),
                "commitments": [c.hex() for c in e.commitments],
                "trustee_keys": [k.hex() for k in e.trustee_keys],
            }
            for e in auth.epochs
        ],
    }


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def key_id_of(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).digest()[:8].hex()


def to_json(auth: Authority) -> str:
    fields = _public_fields(auth)
    fields["key_id"] = auth.key_id
    return json.dumps(fields, sort_keys=True, indent=1) + "\n"


def parse_authority(text: str) -> Authority:
    """Parse and check ``authority.json``: every point valid, key id matching, Feldman
    commitments matching every trustee key.

    Raises:
        WarrantError: anything wrong, in one sentence.
    """
    try:
        raw = json.loads(text)
        if raw.get("format") != AUTHORITY_FORMAT:
            raise WarrantError(f"This is not a Parley authority file ({AUTHORITY_FORMAT}).")
        epochs = tuple(
            EpochParams(
                int(e["epoch"]),
                int(e["start"]),
                int(e["end"]),
                bytes.fromhex(e["public_key"]),
                tuple(bytes.fromhex(c) for c in e["commitments"]),
                tuple(bytes.fromhex(k) for k in e["trustee_keys"]),
            )
            for e in raw["epochs"]
        )
        auth = Authority(
            str(raw["key_id"]),
            int(raw["trustees"]),
            int(raw["threshold"]),
            bytes.fromhex(raw["signing_public_key"]),
            epochs,
        )
    except WarrantError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WarrantError(f"The authority file is malformed ({exc}).") from None
    if key_id_of(_public_fields(auth)) != auth.key_id:
        raise WarrantError("The authority file's key id does not match its contents.")
    if not epochs:
        raise WarrantError("The authority file lists no epoch.")
    try:
        nacl.signing.VerifyKey(auth.signing_public_key)
        auth.envelope_key()
        for epoch in epochs:
            if len(epoch.commitments) != auth.threshold or len(epoch.trustee_keys) != auth.trustees:
                raise WarrantError(f"Epoch {epoch.number} has the wrong number of keys.")
            if epoch.commitments[0] != epoch.public_key:
                raise WarrantError(f"Epoch {epoch.number}'s key is not its first commitment.")
            for index, key in enumerate(epoch.trustee_keys, start=1):
                if threshold.expected_public(epoch.commitments, index) != key:
                    raise WarrantError(
                        f"Trustee {index}'s key of epoch {epoch.number} is not on the committed "
                        "polynomial."
                    )
    except (CryptoError, ValueError) as exc:
        raise WarrantError(f"The authority file holds an invalid key ({exc}).") from None
    return auth


def load_authority(path: Path) -> Authority:
    """Read ``authority.json`` (or a folder holding it). Raises WarrantError."""
    target = path / AUTHORITY_FILE if path.is_dir() else path
    try:
        return parse_authority(target.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WarrantError(f"Cannot read the authority file {target}: {exc.strerror}.") from None


@dataclass(frozen=True)
class TrusteeShares:
    """One trustee's secret shares, one per epoch (``trustee-<i>.json``)."""

    key_id: str
    index: int
    shares: dict[int, Share]


def load_trustee(path: Path) -> TrusteeShares:
    """Read a trustee share file. Raises WarrantError."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != TRUSTEE_FORMAT:
            raise WarrantError(f"{path} is not a Parley trustee share file.")
        index = int(raw["trustee"])
        shares = {int(s["epoch"]): Share(index, bytes.fromhex(s["share"])) for s in raw["shares"]}
        return TrusteeShares(str(raw["key_id"]), index, shares)
    except WarrantError:
        raise
    except OSError as exc:
        raise WarrantError(f"Cannot read the share file {path}: {exc.strerror}.") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WarrantError(f"The share file {path} is malformed ({exc}).") from None


def verify_trustee(auth: Authority, trustee: TrusteeShares) -> list[int]:
    """Feldman's check of every share against the published commitments; returns the epochs
    whose share is present. Raises WarrantError naming the first bad one."""
    if trustee.key_id != auth.key_id:
        raise WarrantError(f"These shares belong to authority {trustee.key_id}, not {auth.key_id}.")
    for number, share in sorted(trustee.shares.items()):
        if not threshold.verify_share(share, auth.epoch(number).commitments):
            raise WarrantError(
                f"Trustee {trustee.index}'s share of epoch {number} does not match the commitments."
            )
    return sorted(trustee.shares)


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def init(
    out: Path,
    *,
    trustees: int,
    threshold_k: int,
    epochs: int = DEFAULT_EPOCHS,
    epoch_days: float = DEFAULT_EPOCH_DAYS,
    start: int | None = None,
) -> Authority:
    """Make a new authority in ``out`` (created; must not hold an authority yet).

    Raises:
        WarrantError: impossible parameters, or ``out`` already holds an authority.
    """
    if not 1 <= threshold_k <= trustees <= threshold.MAX_TRUSTEES:
        raise WarrantError(
            f"A threshold of {threshold_k} of {trustees} trustees is impossible: need 1 <= K <= N "
            f"<= {threshold.MAX_TRUSTEES}."
        )
    if not 1 <= epochs <= MAX_EPOCHS or epoch_days <= 0:
        raise WarrantError(f"Choose 1 to {MAX_EPOCHS} epochs of a positive number of days.")
    begin = int(time.time()) if start is None else start
    length = int(epoch_days * 86400)
    out.mkdir(parents=True, exist_ok=True)
    if (out / AUTHORITY_FILE).exists():
        raise WarrantError(f"{out} already holds an authority; choose an empty folder.")
    params: list[EpochParams] = []
    shares: dict[int, list[dict[str, Any]]] = {i: [] for i in range(1, trustees + 1)}
    for number in range(epochs):
        dealt = threshold.deal(threshold.random_scalar(), threshold_k, trustees)
        params.append(
            EpochParams(
                number,
                begin + number * length,
                begin + (number + 1) * length,
                dealt.public_key,
                dealt.commitments,
                tuple(s.public() for s in dealt.shares),
            )
        )
        for share in dealt.shares:
            shares[share.index].append({"epoch": number, "share": share.scalar.hex()})
        del dealt  # the epoch scalar lived only inside deal(); its shares are all that remain
    signing = nacl.signing.SigningKey.generate()
    draft = Authority("", trustees, threshold_k, bytes(signing.verify_key), tuple(params))
    auth = Authority(
        key_id_of(_public_fields(draft)),
        trustees,
        threshold_k,
        draft.signing_public_key,
        draft.epochs,
    )
    (out / AUTHORITY_FILE).write_text(to_json(auth), encoding="utf-8")
    _write_secret(out / SIGNING_KEY_FILE, bytes(signing).hex() + "\n")
    for index, items in shares.items():
        body = {"format": TRUSTEE_FORMAT, "key_id": auth.key_id, "trustee": index, "shares": items}
        _write_secret(out / trustee_file(index), json.dumps(body, indent=1) + "\n")
    return auth
