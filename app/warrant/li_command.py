"""The lawful-interception commands of ``parley warrant``: the audit log, warrants, HI1 at the
CSP, capture export, and the opening (request, share, open), plus epoch share deletion.

They register into app/warrant/command.py's ``COMMANDS``; every refusal is one sentence naming
what was missing (exit code 6), a command line that does not parse exits 2. Command lines and
example sessions: docs/warrant.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parley.app.warrant import audit, hi1
from parley.app.warrant.authority import load_authority, load_trustee
from parley.app.warrant.errors import ParamsError, Refused, sentence
from parley.app.warrant.log import AuditLog, TreeHead, load_log_key
from parley.app.warrant.params import (
    check_trustee,
    delete_epoch_share,
    load_signing_key,
    read_json,
)
from parley.net.errors import NetError
from parley.net.relay import capture


def _when(text: str) -> int:
    """Unix seconds from an integer or an ISO 8601 time (UTC unless it says otherwise)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is neither Unix seconds nor ISO 8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_json(path: Path | None, obj: Any) -> None:
    text = json.dumps(obj, indent=1) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ParamsError(f"{path} cannot be written ({exc.strerror}).") from exc


def cmd(parent: Any, name: str, help_: str, func: Callable[..., int]) -> argparse.ArgumentParser:
    """One subcommand whose handler is ``func``."""
    sp: argparse.ArgumentParser = parent.add_parser(name, help=help_, description=help_)
    sp.set_defaults(handler=func)
    return sp


def group(sub: Any, name: str, help_: str) -> Any:
    """A command group (``parley warrant NAME ACTION``) whose parsers refuse like the others."""
    parser = sub.add_parser(name, help=help_)
    return parser.add_subparsers(dest="action", required=True, parser_class=type(parser))


def log_arg(sp: argparse.ArgumentParser) -> None:
    """--log DIR."""
    sp.add_argument("--log", type=Path, required=True, help="the audit log directory")


def auth_arg(sp: argparse.ArgumentParser) -> None:
    """--authority FILE (the public parameters)."""
    sp.add_argument(
        "--authority", type=Path, required=True, help="authority.json (or its directory)"
    )


def _log_and_authority(sub: Any) -> None:
    lg = group(sub, "log", "the audit log")
    sp = cmd(lg, "init", "create the audit log (the authority signs its first entry)", _log_init)
    log_arg(sp)
    sp.add_argument("--authority", type=Path, required=True, help="the authority's directory")
    sp = cmd(lg, "head", "print the latest signed tree head (save it to check later)", _log_head)
    log_arg(sp)
    sp.add_argument("--out", type=Path)
    sp = cmd(lg, "verify", "check the log from scratch, and against a saved head", _log_verify)
    sp.add_argument("--log", type=Path, required=True, help="log directory or log.sqlite3")
    auth_arg(sp)
    sp.add_argument("--since", type=Path, help="a tree head saved earlier (log head --out)")
    sp = cmd(lg, "show", "list the log's entries", _log_show)
    sp.add_argument("--log", type=Path, required=True, help="log directory or log.sqlite3")

    sp = cmd(sub, "issue", "the authority signs a warrant and logs its commitment", _issue)
    sp.add_argument("--authority", type=Path, required=True, help="the authority's directory")
    log_arg(sp)
    sp.add_argument("--liid", required=True, help="lawful interception identifier")
    sp.add_argument("--target", required=True, help="the target's relay account (64 hex)")
    sp.add_argument("--start", type=_when, required=True, help="Unix seconds or ISO 8601")
    sp.add_argument("--end", type=_when, required=True, help="Unix seconds or ISO 8601")
    sp.add_argument("--out", type=Path, required=True, help="where the signed warrant goes")
    sp = cmd(sub, "revoke", "the authority signs a warrant's revocation", _revoke)
    sp.add_argument("--authority", type=Path, required=True, help="the authority's directory")
    sp.add_argument("--warrant", type=Path, required=True)
    sp.add_argument("--out", type=Path, required=True)


def _hi1_and_capture(sub: Any) -> None:
    rl = group(sub, "relay", "HI1 at the CSP")
    for name, func, what in (
        ("activate", _activate, "--warrant"),
        ("deactivate", _deactivate, "--revocation"),
    ):
        sp = cmd(rl, name, f"HI1: {name} a warrant on a relay (checked, logged)", func)
        sp.add_argument("--relay-data", type=Path, required=True, help="the relay's --data dir")
        log_arg(sp)
        auth_arg(sp)
        sp.add_argument(what, type=Path, required=True, dest="document")
    sp = cmd(rl, "list", "HI1: the warrants a relay knows and their state", _relay_list)
    sp.add_argument("--relay-data", type=Path, required=True)

    cp_sub = group(sub, "capture", "capture (IRI + CC)")
    sp = cmd(cp_sub, "export", "hand one LIID's capture records to the LEA", _export)
    sp.add_argument("--relay-data", type=Path, required=True)
    sp.add_argument("--liid", required=True)
    sp.add_argument("--out", type=Path, help="default: stdout")


def _opening(sub: Any) -> None:
    sp = cmd(sub, "request", "LEA: request the opening of captured records (logged)", _request)
    log_arg(sp)
    auth_arg(sp)
    sp.add_argument("--warrant", type=Path, required=True)
    sp.add_argument("--capture", type=Path, required=True, help="a capture export")
    sp.add_argument("--record", type=int, action="append", help="record number (default: all)")
    sp.add_argument("--out", type=Path, required=True)
    sp = cmd(sub, "share", "trustee: check a request and answer it (logged)", _share)
    log_arg(sp)
    auth_arg(sp)
    sp.add_argument("--trustee", type=Path, required=True, help="this trustee's share file")
    sp.add_argument("--request", type=Path, required=True)
    sp.add_argument("--out", type=Path, required=True)
    sp = cmd(sub, "open", "LEA: combine K answers and read the in-scope messages", _open)
    log_arg(sp)
    auth_arg(sp)
    sp.add_argument("--request", type=Path, required=True)
    sp.add_argument("--answer", type=Path, action="append", required=True, help="one per trustee")
    sp.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    ep_sub = group(sub, "epoch", "bounded exposure")
    sp = cmd(ep_sub, "delete", "trustee: delete an epoch's share after retention (logged)", _delete)
    log_arg(sp)
    auth_arg(sp)
    sp.add_argument("--trustee", type=Path, required=True)
    sp.add_argument("--epoch", type=int, required=True)
    sp.add_argument("--retention-days", type=float, default=0.0, help="after the epoch's end")


# --- log ------------------------------------------------------------------------------------


def _log_init(args: argparse.Namespace) -> int:
    authority = load_authority(args.authority)
    head = audit.init_log(args.log, authority, load_signing_key(args.authority))
    print(
        f"audit log created in {args.log}: entry 0 is the authority's publication, root "
        f"{head.root.hex()}"
    )
    return 0


def _log_head(args: argparse.Namespace) -> int:
    with AuditLog(args.log) as log:
        _write_json(args.out, log.latest_head().to_json())
    return 0


def _log_verify(args: argparse.Namespace) -> int:
    since = TreeHead.from_json(read_json(args.since, "saved tree head")) if args.since else None
    report = audit.verify_log(args.log, load_authority(args.authority), since)
    print(report.summary())
    return 0


def _log_show(args: argparse.Namespace) -> int:
    with AuditLog(args.log) as log:
        for index, data in log.entries():
            entry = json.loads(data)
            detail = {k: v for k, v in entry.items() if k not in ("kind", "signature", "epochs")}
            print(f"{index:>6} {entry['kind']:<14} {json.dumps(detail, sort_keys=True)}")
    return 0


# --- authority --------------------------------------------------------------------------------


def _issue(args: argparse.Namespace) -> int:
    authority = load_authority(args.authority)
    key = load_signing_key(args.authority)
    try:
        warrant, entry = audit.issue_warrant(
            authority, key, liid=args.liid, target=args.target, start=args.start, end=args.end
        )
    except NetError as exc:
        raise Refused(sentence(exc)) from exc
    with AuditLog(args.log) as log:
        index, _ = log.append(entry, load_log_key(args.log))
    _write_json(args.out, warrant)
    print(f"warrant {args.liid} for {_iso(args.start)} to {_iso(args.end)} logged as entry {index}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    authority = load_authority(args.authority)
    revocation = hi1.revoke(
        read_json(args.warrant, "warrant"), authority, load_signing_key(args.authority)
    )
    _write_json(args.out, revocation)
    return 0


# --- HI1 --------------------------------------------------------------------------------------


def _activate(args: argparse.Namespace) -> int:
    authority = load_authority(args.authority)
    warrant = read_json(args.document, "warrant")
    with AuditLog(args.log) as log:
        order = hi1.activate(args.relay_data, log, load_log_key(args.log), authority, warrant)
    print(
        f"activation logged and handed to the relay ({order.name}); capture starts when the "
        "relay reads it (within a second), never for earlier traffic"
    )
    return 0


def _deactivate(args: argparse.Namespace) -> int:
    authority = load_authority(args.authority)
    revocation = read_json(args.document, "revocation")
    with AuditLog(args.log) as log:
        order = hi1.deactivate(args.relay_data, log, load_log_key(args.log), authority, revocation)
    print(f"deactivation logged and handed to the relay ({order.name})")
    return 0


def _relay_list(args: argparse.Namespace) -> int:
    try:
        status = capture.status(args.relay_data)
    except NetError as exc:
        raise Refused(sentence(exc)) from exc
    print(f"relay capture key {status['relay']}")
    if not status["warrants"]:
        print("no warrants")
    for w in status["warrants"]:
        print(
            f"{w['liid']:<20} {w['state']:<12} target {w['target'][:16]}... "
            f"window {_iso(w['start'])} to {_iso(w['end'])}, "
            f"capturing since {_iso(w['active_since_us'] / 1e6)}"
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    try:
        relay, records = capture.export(args.relay_data, args.liid)
    except NetError as exc:
        raise Refused(sentence(exc)) from exc
    _write_json(
        args.out,
        {"kind": "capture-export", "liid": args.liid, "relay": relay, "records": records},
    )
    if args.out is not None:
        print(f"{len(records)} records of {args.liid} exported to {args.out}")
    return 0


# --- opening ----------------------------------------------------------------------------------


def _opening_module() -> Any:
    """app/warrant/opening.py, imported only by the commands that open (it needs the envelope
    code of the warrant build, crypto/warrant_envelope.py)."""
    try:
        return importlib.import_module("parley.app.warrant.opening")
    except ImportError as exc:
        raise ParamsError("This build has no warrant envelope code, so it cannot open.") from exc


def _request(args: argparse.Namespace) -> int:
    opening = _opening_module()
    authority = load_authority(args.authority)
    warrant = read_json(args.warrant, "warrant")
    export = read_json(args.capture, "capture export")
    with AuditLog(args.log) as log:
        request = opening.make_request(
            log, load_log_key(args.log), authority, warrant, export, record_numbers=args.record
        )
    _write_json(args.out, request)
    print(f"request {request['request_id']} logged for {len(request['records'])} records")
    return 0


def _share(args: argparse.Namespace) -> int:
    opening = _opening_module()
    authority = load_authority(args.authority)
    trustee = load_trustee(args.trustee)
    check_trustee(trustee, authority)
    request = read_json(args.request, "opening request")
    with AuditLog(args.log) as log:
        body = opening.answer(log, load_log_key(args.log), authority, trustee, request)
    _write_json(args.out, body)
    print(
        f"trustee {trustee.index} answered request {body['request_id']} "
        f"({len(body['partials'])} records); the answer is logged"
    )
    return 0


def _open(args: argparse.Namespace) -> int:
    opening = _opening_module()
    authority = load_authority(args.authority)
    request = read_json(args.request, "opening request")
    answers = [read_json(path, "trustee answer") for path in args.answer]
    with AuditLog(args.log) as log:
        opened = opening.combine_and_open(log, authority, request, answers)
    if args.json:
        print(
            json.dumps(
                {
                    "request_id": request["request_id"],
                    "answered_by": opened.answered,
                    "cheaters": {str(k): v for k, v in opened.cheaters.items()},
                    "messages": [
                        {
                            "record": record.digest,
                            "sender": record.iri["sender"],
                            "recipient": record.iri["recipient"],
                            "arrival_us": record.iri["arrival_us"],
                            "plaintext_hex": plaintext.hex(),
                        }
                        for record, plaintext in opened.plaintexts
                    ],
                }
            )
        )
        return 0
    for _, reason in sorted(opened.cheaters.items()):
        print(f"WARNING: {reason}", file=sys.stderr)
    print(
        f"opened by trustees {', '.join(map(str, opened.answered))} "
        f"(threshold {authority.threshold})"
    )
    for record, plaintext in opened.plaintexts:
        print(
            f"{_iso(record.iri['arrival_us'] / 1e6)} {record.iri['sender'][:16]}... -> "
            f"{record.iri['recipient'][:16]}...: {plaintext!r}"
        )
    return 0


def _delete(args: argparse.Namespace) -> int:
    authority = load_authority(args.authority)
    trustee = load_trustee(args.trustee)
    check_trustee(trustee, authority)
    epoch = authority.epoch(args.epoch)
    if args.epoch not in trustee.shares:
        raise Refused(f"This trustee holds no share for epoch {args.epoch} (already deleted?).")
    until = epoch.end + args.retention_days * 86_400
    if time.time() < until:
        raise Refused(f"Epoch {args.epoch} is within its retention period until {_iso(until)}.")
    with AuditLog(args.log) as log:
        log.append(
            {
                "kind": "epoch_deleted",
                "epoch": args.epoch,
                "trustee": trustee.index,
                "at": int(time.time()),
            },
            load_log_key(args.log),
        )
    delete_epoch_share(args.trustee, args.epoch)
    print(
        f"trustee {trustee.index} deleted its share of epoch {args.epoch}; the deletion is logged"
    )
    return 0


INTERCEPT_COMMANDS: list[Callable[[Any], None]] = [_log_and_authority, _hi1_and_capture, _opening]
"""What app/warrant/command.py adds to ``COMMANDS``."""
