"""HI1 and capture on a real relay run with --lawful-intercept: prospective capture of the target
only, signed records, activation refused unless signed and logged, deactivation, and no capture
path at all without the option."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from parley.net.relay import lawful_intercept as li

from tests.net.conftest import PeerFactory, RelayFactory, message_id
from tests.warrant.conftest import issue, li_relay, ok, refused, relay_state, wait_until


async def test_capture_is_prospective_target_only_and_signed(
    relay_factory: RelayFactory,
    peers: PeerFactory,
    authority_dir: Path,
    log_dir: Path,
    tmp_path: Path,
) -> None:
    relay = li_relay(relay_factory, authority_dir)
    target, friend, bystander, other = [await peers(relay.url).start() for _ in range(4)]
    # Before any warrant: nothing is captured, even of the later target.
    await target.client.send(friend.account, message_id(1), b"BEFORE-WARRANT")
    await friend.wait_for(1)
    now = time.time()
    warrant = issue(
        authority_dir, log_dir, tmp_path / "w.json",
        liid="LIID-A", target=target.account, start=now - 5, end=now + 3600,
    )  # fmt: skip
    activate = ("relay", "activate", "--relay-data", relay.data_dir, "--log", log_dir)
    ok(*activate, "--authority", authority_dir, "--warrant", warrant)
    wait_until(lambda: relay_state(relay, "LIID-A") == "active")
    assert "LIID-A" in ok("relay", "list", "--relay-data", relay.data_dir)

    await target.client.send(friend.account, message_id(2), b"TARGET-TO-FRIEND")
    await friend.client.send(target.account, message_id(3), b"FRIEND-TO-TARGET")
    await bystander.client.send(other.account, message_id(4), b"BYSTANDER-TO-OTHER")
    await bystander.client.send(friend.account, message_id(5), b"BYSTANDER-TO-FRIEND")
    await friend.wait_for(3)
    await target.wait_for(1)
    await other.wait_for(1)

    # Read the capture store itself: only the target's two messages, nothing of anyone else.
    store = relay.data_dir / "lawful-intercept" / "capture.sqlite3"
    wait_until(lambda: _count(store) >= 2)
    db = sqlite3.connect(store)
    rows = db.execute("SELECT attestation, cc FROM records ORDER BY id").fetchall()
    db.close()
    assert [bytes(cc) for _, cc in rows] == [b"TARGET-TO-FRIEND", b"FRIEND-TO-TARGET"]
    raw = b"".join(p.read_bytes() for p in store.parent.glob("capture.sqlite3*"))
    for absent in (b"BEFORE-WARRANT", b"BYSTANDER", bystander.account.hex().encode()):
        assert absent not in raw
    assert other.account.hex().encode() not in raw

    # The export is signed by the relay, record by record, over IRI and content.
    export = tmp_path / "export.json"
    ok("capture", "export", "--relay-data", relay.data_dir, "--liid", "LIID-A", "--out", export)
    data = json.loads(export.read_text())
    relay_key = bytes.fromhex(data["relay"])
    bodies = [li.check_record(r, relay_key)[0] for r in data["records"]]
    assert [(b["sender"], b["recipient"]) for b in bodies] == [
        (target.account.hex(), friend.account.hex()),
        (friend.account.hex(), target.account.hex()),
    ]
    assert all(b["liid"] == "LIID-A" and b["size"] == 16 for b in bodies)

    # Deactivation: only with the authority's signed revocation, logged; capture then stops.
    revocation = tmp_path / "revocation.json"
    ok("revoke", "--authority", authority_dir, "--warrant", warrant, "--out", revocation)
    ok("relay", "deactivate", "--relay-data", relay.data_dir, "--log", log_dir,
       "--authority", authority_dir, "--revocation", revocation)  # fmt: skip
    wait_until(lambda: relay_state(relay, "LIID-A") == "deactivated")
    await target.client.send(friend.account, message_id(6), b"AFTER-DEACTIVATION")
    await friend.wait_for(4)
    time.sleep(0.3)
    assert _count(store) == 2
    assert "hi1" in ok("log", "show", "--log", log_dir)


async def test_forged_or_unlogged_orders_start_nothing(
    relay_factory: RelayFactory,
    peers: PeerFactory,
    authority_dir: Path,
    log_dir: Path,
    tmp_path: Path,
) -> None:
    from tests.warrant.conftest import make_authority

    relay = li_relay(relay_factory, authority_dir)
    target, friend = [await peers(relay.url).start() for _ in range(2)]
    now = time.time()
    # A warrant signed by someone else: the CSP's tool refuses it...
    rogue = make_authority(tmp_path / "rogue")
    rogue_log = tmp_path / "rogue-log"
    ok("log", "init", "--log", rogue_log, "--authority", rogue)
    forged = issue(
        rogue, rogue_log, tmp_path / "forged.json",
        liid="ROGUE", target=target.account, start=now - 5, end=now + 3600,
    )  # fmt: skip
    line = refused("relay", "activate", "--relay-data", relay.data_dir, "--log", log_dir,
                   "--authority", authority_dir, "--warrant", forged)  # fmt: skip
    assert "signature" in line
    # ...and so does the relay when the order is dropped into its HI1 folder by hand.
    hi1 = relay.data_dir / "lawful-intercept" / "hi1"
    order = {"order": "activate", "warrant": json.loads(forged.read_text())}
    (hi1 / "rogue.json").write_text(json.dumps(order))
    wait_until(lambda: any("HI1 order rogue.json refused" in line for line in relay.lines))
    assert relay_state(relay, "ROGUE") is None
    # A genuine warrant that was never logged: refused by the CSP's tool.
    from parley.app.warrant import audit
    from parley.app.warrant.authority import load_authority
    from parley.app.warrant.params import load_signing_key

    unlogged, _ = audit.issue_warrant(
        load_authority(authority_dir), load_signing_key(authority_dir),
        liid="UNLOGGED", target=target.account.hex(), start=int(now) - 5, end=int(now) + 3600,
    )  # fmt: skip
    path = tmp_path / "unlogged.json"
    path.write_text(json.dumps(unlogged))
    line = refused("relay", "activate", "--relay-data", relay.data_dir, "--log", log_dir,
                   "--authority", authority_dir, "--warrant", path)  # fmt: skip
    assert "not in the audit log" in line
    await target.client.send(friend.account, message_id(1), b"NOT-CAPTURED")
    await friend.wait_for(1)
    time.sleep(1.2)  # at least one HI1 scan
    assert _count(relay.data_dir / "lawful-intercept" / "capture.sqlite3") == 0


def test_no_option_no_capture_path(relay_factory: RelayFactory) -> None:
    relay = relay_factory()
    relay.start()
    assert not (relay.data_dir / "lawful-intercept").exists()
    code = (
        "import sys, parley.net.relay.command, parley.net.relay.server, parley.net.relay.protocol;"
        "sys.exit('parley.net.relay.capture' in sys.modules "
        "or 'parley.net.relay.lawful_intercept' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
    line = refused("relay", "list", "--relay-data", relay.data_dir)
    assert "never started with --lawful-intercept" in line


def _count(store: Path) -> int:
    db = sqlite3.connect(store)
    try:
        (n,) = db.execute("SELECT COUNT(*) FROM records").fetchone()
    finally:
        db.close()
    return int(n)
