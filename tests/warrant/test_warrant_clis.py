"""The whole chain with real processes only: two warrant-build `parley cli` accounts (issue 9's
configuration fixture) talk through a relay run with --lawful-intercept; the authority issues a
warrant, the CSP activates it, the LEA exports, requests, collects three trustees' answers and
reads the target's message; a bystander's message to the same friend is never captured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from parley.app.invite import parse as parse_invite

from tests.net.conftest import RelayFactory
from tests.warrant.conftest import ok, refused, relay_state, wait_until
from tests.warrant_build import WarrantBuild

TIMEOUT = 90


def _cli(profile: Path, *args: str) -> list[str]:
    env = dict(os.environ, PARLEY_PASSPHRASE="warrant cli passphrase")
    done = subprocess.run(
        [sys.executable, "-m", "parley", "cli", "--profile", str(profile), *args],
        capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_two_warrant_build_clis_are_captured_and_opened_under_a_logged_warrant(
    warrant_build: WarrantBuild, relay_factory: RelayFactory, tmp_path: Path
) -> None:
    authority = warrant_build.authority_dir
    log = tmp_path / "log"
    ok("log", "init", "--log", log, "--authority", authority)
    relay = relay_factory(["--lawful-intercept", str(authority / "authority.json")])
    relay.start()
    ann, ben, cid = tmp_path / "ann", tmp_path / "ben", tmp_path / "cid"
    for profile, name in ((ann, "Ann"), (ben, "Ben"), (cid, "Cid")):
        _cli(profile, "init", "--name", name, "--relay", relay.url)
    [ben_code, *_] = _cli(ben, "invite")
    [ann_code, *_] = _cli(ann, "invite")
    _cli(ann, "add", ben_code)
    _cli(cid, "add", ben_code)
    target = parse_invite(ann_code).identity_key
    assert parse_invite(ann_code).authority_key_id == warrant_build.key_id

    now = time.time()
    warrant = tmp_path / "warrant.json"
    ok("issue", "--authority", authority, "--log", log, "--liid", "LIID-CLI",
       "--target", target.hex(), "--start", str(int(now - 60)), "--end", str(int(now + 3600)),
       "--out", warrant)  # fmt: skip
    ok("relay", "activate", "--relay-data", relay.data_dir, "--log", log,
       "--authority", authority, "--warrant", warrant)  # fmt: skip
    wait_until(lambda: relay_state(relay, "LIID-CLI") == "active")

    _cli(ann, "send", "Ben", "the target speaks")
    _cli(cid, "send", "Ben", "a bystander speaks")
    lines = _cli(ben, "recv", "--count", "2", "--timeout", "60")
    assert any(line.endswith("the target speaks") for line in lines)

    export = tmp_path / "export.json"
    ok("capture", "export", "--relay-data", relay.data_dir, "--liid", "LIID-CLI", "--out", export)
    records = json.loads(export.read_text())["records"]
    # The target's message, and whatever Ben's app sends back to the target (delivery receipts):
    # all of it is the target's traffic; Cid's message to Ben is not.
    cid_account = parse_invite(_cli(cid, "invite")[0]).identity_key.hex()
    parties = [(r["attestation"]["sender"], r["attestation"]["recipient"]) for r in records]
    assert (target.hex(), parse_invite(ben_code).identity_key.hex()) in parties
    assert all(target.hex() in pair and cid_account not in pair for pair in parties)
    request = tmp_path / "request.json"
    auth_args = ("--log", log, "--authority", authority)
    ok("request", *auth_args, "--warrant", warrant, "--capture", export, "--out", request)
    answers = []
    for i in (2, 4, 5):
        answers += ["--answer", str(tmp_path / f"a{i}.json")]
        ok("share", *auth_args, "--trustee", authority / f"trustee-{i}.json",
           "--request", request, "--out", tmp_path / f"a{i}.json")  # fmt: skip
    result = json.loads(ok("open", *auth_args, "--request", request, *answers, "--json"))
    assert result["answered_by"] == [2, 4, 5]
    plaintexts = [bytes.fromhex(m["plaintext_hex"]) for m in result["messages"]]
    assert len(plaintexts) == len(records)
    assert any(b"the target speaks" in p for p in plaintexts)
    assert not any(b"a bystander speaks" in p for p in plaintexts)
    # Two trustees are not enough, whatever the agency holds.
    line = refused("open", *auth_args, "--request", request, *answers[:4])
    assert "Only 2 valid trustee answers, 3 needed" in line
    ok("log", "verify", *auth_args)
