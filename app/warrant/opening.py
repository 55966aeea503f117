"""Opening captured messages, per message, under a logged warrant: the agency's request, each
trustee's answer, and the agency's combination (docs/warrant.md, "Opening").

- ``make_request`` (LEA): names the warrant and the captured records; its log entry is appended
  before the request file exists, and no file is written if the append fails.
- ``answer`` (trustee): refuses unless the warrant is the authority's, in its log, in force at each
  record's arrival; each record is signed by the relay whose key a logged HI1 activation of this
  warrant names, and involves the target; and the request itself is in the log. Then it answers
  ``D_i = w_{e,i} * R`` per record with a DLEQ proof bound to the request and the record, logs that
  it answered, and only then writes the answer.
- ``combine_and_open`` (LEA): checks every proof against the trustees' published keys, names each
  trustee whose proof fails, combines K good answers, opens each envelope, and decrypts the
  captured message with the recovered message key.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any

import nacl.signing
from parley.app.warrant.audit import check_included, find_commitment
from parley.app.warrant.authority import Authority, TrusteeShares
from parley.app.warrant.errors import LogError, Refused, sentence
from parley.app.warrant.errors import clause as _clause
from parley.app.warrant.log import AuditLog
from parley.crypto import dleq, intercept, threshold, warrant_envelope
from parley.crypto.errors import CryptoError
from parley.net.errors import InterceptError
from parley.net.relay import lawful_intercept as li


def _proof_context(request_id: str, record: str, trustee: int) -> bytes:
    return b"parley-opening-v1\x00" + f"{request_id}/{record}/{trustee}".encode()


def relay_keys_for(log: AuditLog, liid: str) -> set[str]:
    """The capture keys of the relays that a logged HI1 activation under this LIID names.

    Raises:
        Refused: no activation under this LIID is in the log.
    """
    found = log.find(kind="hi1", action="activate", liid=liid)
    if not found:
        raise Refused(f"No HI1 activation under LIID {liid} is in the audit log.")
    return {str(entry["relay"]) for _, entry in found}


# --- the agency's request ---------------------------------------------------------------------


def make_request(
    log: AuditLog,
    log_key: nacl.signing.SigningKey,
    authority: Authority,
    warrant: li.Json,
    export: dict[str, Any],
    *,
    record_numbers: list[int] | None,
    now: float | None = None,
) -> li.Json:
    """A request file for some of an export's records, its entry appended to the log first.

    Raises:
        Refused: the warrant or a record is not acceptable.
        LogError: the append failed (then no request exists).
    """
    try:
        li.check_warrant(warrant, authority.signing_public_key)
    except InterceptError as exc:
        raise Refused(sentence(exc)) from exc
    commitment = li.digest(warrant)
    find_commitment(log, warrant)
    records = export.get("records")
    if not isinstance(records, list) or not records:
        raise Refused("The capture export holds no records.")
    chosen = records if not record_numbers else []
    for n in record_numbers or []:
        if not 1 <= n <= len(records):
            raise Refused(f"The capture export has no record {n} (it holds {len(records)}).")
        chosen.append(records[n - 1])
    digests = [li.digest(r.get("attestation", {})) for r in chosen]
    filed = int(time.time() if now is None else now)
    nonce = os.urandom(16).hex()
    request_id = hashlib.sha256(
        li.canonical({"warrant": commitment, "records": digests, "filed": filed, "nonce": nonce})
    ).hexdigest()
    entry = {
        "kind": "request",
        "request_id": request_id,
        "warrant": commitment,
        "records": digests,
        "filed_at": filed,
    }
    log.append(entry, log_key)  # raises LogError: no request without its log entry
    return {
        "kind": "opening-request",
        "request_id": request_id,
        "entry": entry,
        "warrant": warrant,
        "relay": export.get("relay"),
        "records": chosen,
    }


# --- a trustee's answer -----------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """One record after every check: its digest, IRI, content, envelope, binding and R."""

    digest: str
    iri: li.Json
    cc: bytes
    envelope: bytes
    binding: bytes
    point: bytes
    epoch: int


def check_request(log: AuditLog, authority: Authority, request: Any) -> list[Checked]:
    """Everything a trustee (and the agency) checks before any key is touched.

    Raises:
        Refused: naming the first thing missing or out of scope.
    """
    warrant, relay_keys = _check_logged(log, authority, request)
    records = request.get("records")
    entry = request["entry"]
    if not isinstance(records, list) or not records:
        raise Refused("The request names no captured records.")
    if [li.digest(r.get("attestation", {})) for r in records] != entry.get("records"):
        raise Refused("The request's records are not the ones its log entry names.")
    return [
        _check_record(n, record, warrant, relay_keys, authority)
        for n, record in enumerate(records, start=1)
    ]


def _check_logged(log: AuditLog, authority: Authority, request: Any) -> tuple[li.Json, set[str]]:
    """(warrant body, relay keys) once the warrant, the request and an HI1 activation under its
    LIID are logged."""
    if not isinstance(request, dict) or request.get("kind") != "opening-request":
        raise Refused("The file is not an opening request.")
    try:
        warrant = li.check_warrant(request.get("warrant"), authority.signing_public_key)
    except InterceptError as exc:
        raise Refused(
            f"{_clause(exc)}: no trustee answers without the authority's warrant."
        ) from exc
    if warrant.get("authority") != authority.key_id:
        raise Refused("The warrant was issued under another authority key.")
    try:
        check_included(log, find_commitment(log, request["warrant"]), authority)
    except LogError as exc:
        raise Refused(f"{_clause(exc)}: the warrant must be logged before any opening.") from exc
    entry = request.get("entry")
    found = log.find(kind="request", request_id=request.get("request_id"))
    if not found or found[0][1] != entry or not isinstance(entry, dict):
        raise Refused("The request is not in the audit log: it must be logged before any answer.")
    check_included(log, found[0][0], authority)
    return warrant, relay_keys_for(log, warrant["liid"])


def _check_record(
    n: int, record: Any, warrant: li.Json, relay_keys: set[str], authority: Authority
) -> Checked:
    """One record: signed by a logged relay, of this LIID and target, inside the window."""
    relay = record.get("attestation", {}).get("relay") if isinstance(record, dict) else None
    if relay not in relay_keys:
        raise Refused(f"Record {n} is not signed by a relay that a logged HI1 activation names.")
    try:
        iri, cc = li.check_record(record, bytes.fromhex(relay))
    except InterceptError as exc:
        raise Refused(f"Record {n}: {_clause(exc, lower=True)}.") from exc
    if iri.get("liid") != warrant["liid"]:
        raise Refused(f"Record {n} was captured under another LIID, not this warrant's.")
    if warrant["target"] not in (iri.get("sender"), iri.get("recipient")):
        raise Refused(f"Record {n} is not a message of the warrant's target.")
    arrival = int(iri.get("arrival_us", -1))
    if not warrant["start"] * 1_000_000 <= arrival < warrant["end"] * 1_000_000:
        raise Refused(f"Record {n} arrived outside the warrant's window.")
    sender, recipient = bytes.fromhex(iri["sender"]), bytes.fromhex(iri["recipient"])
    try:
        envelope, bound = warrant_envelope.captured_binding(cc, sender, recipient)
        parsed = warrant_envelope.parse(envelope)
        point = warrant_envelope.ephemeral_point(envelope)
    except CryptoError as exc:
        raise Refused(
            f"Record {n} carries no usable warrant envelope ({_clause(exc, lower=True)})."
        ) from exc
    if parsed.key_id.hex() != authority.key_id:
        raise Refused(f"Record {n}'s envelope is sealed to another authority.")
    return Checked(li.digest(record["attestation"]), iri, cc, envelope, bound, point, parsed.epoch)


def answer(
    log: AuditLog,
    log_key: nacl.signing.SigningKey,
    authority: Authority,
    trustee: TrusteeShares,
    request: Any,
    *,
    now: float | None = None,
) -> li.Json:
    """A trustee's answer to a request, logged before it is released.

    Raises:
        Refused: a check failed, or the trustee no longer holds a needed epoch share.
        LogError: the answer could not be logged (then it is not released).
    """
    if trustee.key_id != authority.key_id:
        raise Refused("This trustee's shares belong to another authority key.")
    records = check_request(log, authority, request)
    request_id = request["request_id"]
    partials = []
    for n, record in enumerate(records, start=1):
        share = trustee.shares.get(record.epoch)
        if share is None:
            raise Refused(
                f"Record {n} is sealed under epoch {record.epoch}, whose share this trustee "
                "no longer holds (deleted after retention) or never held."
            )
        d = dleq.partial_point(share.scalar, record.point)
        proof = dleq.prove(
            share.scalar, record.point, d, _proof_context(request_id, record.digest, trustee.index)
        )
        partials.append(
            {"record": record.digest, "epoch": record.epoch, "d": d.hex(), "proof": proof.hex()}
        )
    body = {
        "kind": "opening-answer",
        "request_id": request_id,
        "trustee": trustee.index,
        "partials": partials,
    }
    log.append(
        {
            "kind": "answer",
            "request_id": request_id,
            "trustee": trustee.index,
            "answer_sha256": li.digest(body),
            "answered_at": int(time.time() if now is None else now),
        },
        log_key,
    )
    return body


# --- the agency opens -------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """The outcome of an opening: plaintexts by record, who answered, who cheated."""

    plaintexts: list[tuple[Checked, bytes]]
    answered: list[int]
    cheaters: dict[int, str]


def combine_and_open(
    log: AuditLog, authority: Authority, request: Any, answers: list[Any]
) -> Opened:
    """Verify each answer, name cheaters, combine K good answers and decrypt every record.

    Raises:
        Refused: the request fails a check, or fewer than K trustees gave valid answers.
    """
    records = check_request(log, authority, request)
    request_id = request["request_id"]
    good: dict[int, dict[str, bytes]] = {}
    cheaters: dict[int, str] = {}
    for ans in answers:
        index, reason = _check_answer(authority, records, request_id, ans)
        if reason is None:
            good[index] = {p["record"]: bytes.fromhex(p["d"]) for p in ans["partials"]}
        elif index not in good:
            cheaters[index] = reason
    logged = {e["trustee"] for _, e in log.find(kind="answer", request_id=request_id)}
    for index in list(good):
        if index not in logged:
            cheaters[index] = f"trustee {index}'s answer is not in the audit log"
            del good[index]
    if len(good) < authority.threshold:
        named = "; ".join(cheaters.values())
        raise Refused(
            f"Only {len(good)} valid trustee answers, {authority.threshold} needed"
            + (f" ({named})." if named else ".")
        )
    chosen = sorted(good)[: authority.threshold]
    plaintexts = []
    for record in records:
        shared = threshold.combine([(i, good[i][record.digest]) for i in chosen])
        try:
            key = warrant_envelope.open_with_shared_point(shared, record.envelope, record.binding)
            sender = bytes.fromhex(record.iri["sender"])
            recipient = bytes.fromhex(record.iri["recipient"])
            plaintexts.append((record, intercept.open_captured(record.cc, key, sender, recipient)))
        except CryptoError as exc:
            raise Refused(
                f"The combined answers do not open a record ({_clause(exc, lower=True)})."
            ) from exc
    return Opened(plaintexts, chosen, cheaters)


def _check_answer(
    authority: Authority, records: list[Checked], request_id: str, ans: Any
) -> tuple[int, str | None]:
    """(trustee index, None if the answer is valid, else why not)."""
    try:
        index = int(ans["trustee"])
        partials = {p["record"]: p for p in ans["partials"]}
    except (KeyError, TypeError, ValueError):
        return -1, "an answer file is malformed"
    if ans.get("request_id") != request_id:
        return index, f"trustee {index}'s answer is for another request"
    for record in records:
        p = partials.get(record.digest)
        epoch = next((e for e in authority.epochs if e.number == record.epoch), None)
        if p is None or epoch is None or not 1 <= index <= len(epoch.trustee_keys):
            return index, f"trustee {index} did not answer for every record"
        try:
            d, proof = bytes.fromhex(p["d"]), bytes.fromhex(p["proof"])
        except (KeyError, TypeError, ValueError):
            return index, f"trustee {index}'s answer is malformed"
        context = _proof_context(request_id, record.digest, index)
        if not dleq.verify(epoch.trustee_keys[index - 1], record.point, d, proof, context):
            return index, (
                f"trustee {index} cheated: its answer does not prove it used its published share"
            )
    return index, None
