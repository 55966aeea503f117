"""``parley cli`` end to end: real subprocesses against a real `parley relay` subprocess.

Each command is a fresh process, so this is exactly what a script sees: output lines and the
documented exit codes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from parley.app import cli
from PIL import Image

from tests.app.cli_harness import PASSPHRASE, TIMEOUT_S, ok, relay_process, run


@pytest.fixture(scope="module")
def relay_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with relay_process(tmp_path_factory.mktemp("cli-relay")) as (url, _):
        yield url


def test_two_people_talk_through_the_cli(relay_url: str, tmp_path: Path) -> None:
    ann, ben = tmp_path / "ann", tmp_path / "ben"
    assert len(ok(run(ann, "init", "--name", "Ann", "--relay", relay_url))) == 1
    # The passphrase can also come on standard input.
    command = [sys.executable, "-m", "parley", "cli", "--profile", str(ben), "--passphrase-stdin"]
    init_ben = subprocess.run(
        [*command, "init", "--name", "Ben", "--relay", relay_url],
        input=PASSPHRASE + "\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    [ben_code] = ok(init_ben)
    code, link = ok(run(ben, "invite"))
    assert code == ben_code and link == f"parley://invite/{ben_code}"

    contact_id, name = ok(run(ann, "add", link))[0].split("\t")
    assert name == "Ben"
    [message_id] = ok(run(ann, "send", "Ben", "the parcel is at the pharmacy"))
    picture = tmp_path / "map.png"
    Image.new("RGB", (20, 10), "blue").save(picture)
    ok(run(ann, "send", contact_id[:8], "--picture", str(picture)))

    lines = ok(run(ben, "recv", "--count", "2", "--timeout", "30", "--json"))
    first, second = (json.loads(line) for line in lines)
    # Ben never added Ann: her messages are a message request, her name only a claim.
    claim = "\u201cAnn\u201d (unverified name) \u00b7 "
    assert (first["id"], first["body"], first["request"]) == (
        message_id,
        "the parcel is at the pharmacy",
        True,
    )
    assert first["sender"].startswith(claim)
    assert second["picture"]["width"] == 20 and second["picture"]["mime_type"] == "image/png"
    assert ok(run(ben, "list")) == []
    [request] = ok(run(ben, "requests"))
    request_id, label, count, _ = request.split("\t")
    assert label.startswith(claim) and count == "2 messages"
    assert ok(run(ben, "requests", "accept", request_id[:8])) == [f"{request_id}\tAnn"]
    assert ok(run(ben, "requests")) == []

    [hit] = ok(run(ben, "search", "pharmacy"))
    assert hit.split("\t")[0] == "Ann" and hit.endswith("the parcel is at the pharmacy")
    [listed] = ok(run(ben, "list"))
    assert "\tAnn\tunverified\t" in listed
    ann_number = ok(run(ann, "safety-number", "Ben"))
    ben_number = ok(run(ben, "safety-number", "ann"))
    assert ann_number == ben_number and len(ann_number[0].replace(" ", "")) == 60
    assert ok(run(ben, "verify", "Ann")) == ben_number
    assert '"verified": true' in ok(run(ben, "list", "--json"))[0]
    assert ok(run(ann, "recv", "--timeout", "0.5")) == []  # nothing came back to Ann


def test_a_picture_goes_with_its_caption(relay_url: str, tmp_path: Path) -> None:
    """``send --picture FILE --caption TEXT``: the recipient gets the picture and its caption,
    under the app's caption rules (the same ``send_picture`` the preview's Send calls)."""
    ann, ben = tmp_path / "ann", tmp_path / "ben"
    ok(run(ann, "init", "--name", "Ann", "--relay", relay_url))
    ok(run(ben, "init", "--name", "Ben", "--relay", relay_url))
    ok(run(ann, "add", ok(run(ben, "invite"))[0]))
    picture = tmp_path / "harbour.png"
    Image.new("RGB", (12, 9), "green").save(picture)
    caption = "the harbour at dawn \x1b[31m\u202e"
    [sent] = ok(run(ann, "send", "Ben", "--picture", str(picture), "--caption", caption))
    [got] = ok(run(ben, "recv", "--count", "1", "--timeout", "30", "--json"))
    received = json.loads(got)
    assert (received["id"], received["body"]) == (sent, caption)
    assert received["picture"]["file_name"] == "harbour.png" and received["picture"]["width"] == 12
    [hit] = ok(run(ben, "search", "harbour"))
    assert hit.endswith("\t[picture harbour.png] the harbour at dawn \\x1b[31m\\u202e")

    # A caption belongs to a picture; one too long is refused as the app refuses it.
    for args in (["hello", "--caption", "x"], ["--caption", "x"]):
        wrong = run(ann, "send", "Ben", *args)
        assert wrong.returncode == cli.EXIT_USAGE and "--caption" in wrong.stderr, wrong.stderr
    too_long = run(ann, "send", "Ben", "--picture", str(picture), "--caption", "y" * 16_001)
    assert too_long.returncode == cli.EXIT_REJECTED, too_long.stderr
    assert "A caption is at most 16000 characters." in too_long.stderr
    assert ok(run(ben, "recv", "--timeout", "1")) == []  # nothing else went out


def test_exit_codes_are_the_documented_ones(relay_url: str, tmp_path: Path) -> None:
    cat = tmp_path / "cat"
    assert run(cat, "list").returncode == cli.EXIT_NOT_FOUND  # no account yet
    ok(run(cat, "init", "--name", "Cat", "--relay", relay_url))
    assert run(cat, "init", "--name", "Cat", "--relay", relay_url).returncode == cli.EXIT_REJECTED
    wrong = run(cat, "list", passphrase="not the passphrase")
    assert wrong.returncode == cli.EXIT_LOCKED and "Wrong passphrase" in wrong.stderr
    assert run(cat, "list", passphrase=None).returncode == cli.EXIT_LOCKED
    assert run(cat, "bogus-command").returncode == cli.EXIT_USAGE
    assert run(cat, "send", "Nobody").returncode == cli.EXIT_USAGE
    bad = run(cat, "add", "parley://invite/aaaa")
    assert bad.returncode == cli.EXIT_REJECTED and "invite" in bad.stderr
    assert run(cat, "safety-number", "Nobody").returncode == cli.EXIT_NOT_FOUND
    missing = run(cat, "recv", "--count", "1", "--timeout", "0.5")
    assert missing.returncode == cli.EXIT_TIMEOUT
    dead = tmp_path / "dead"
    unreachable = run(
        dead, "init", "--name", "Dee", "--relay", "ws://127.0.0.1:9", "--timeout", "1"
    )
    assert unreachable.returncode == cli.EXIT_NETWORK
    assert not dead.exists()


async def _forge_to(target: bytes, relay_url: str, folder: Path) -> None:
    """Mallory, a real account on the relay, sends ``target`` a tampered first message."""
    from parley.app.account import create_account
    from parley.crypto.prekeys import PreKeyBundle
    from parley.crypto.session import initiate_session

    from .test_core_fixtures import FAST

    mallory = await create_account(
        folder, "mallory", relay_url, key_storage="passphrase", passphrase=PASSPHRASE,
        argon2_limits=FAST,
    )  # fmt: skip
    try:
        client = mallory._require_client()
        fetched = await client.fetch_bundle(target)
        bundle = PreKeyBundle.from_parts(
            fetched.identity_key, fetched.signed_prekey, fetched.one_time_prekey
        )
        _, payload = initiate_session(mallory.identity, bundle).encrypt(b"\x80")
        await client.send(target, os.urandom(16), payload[:-1] + bytes([payload[-1] ^ 1]))
    finally:
        await mallory.close()


def test_requests_and_refused_messages_on_the_command_line(relay_url: str, tmp_path: Path) -> None:
    from parley.app import invite

    ann, ben = tmp_path / "ann", tmp_path / "ben"
    ok(run(ann, "init", "--name", "Ann", "--relay", relay_url))
    [ben_code] = ok(run(ben, "init", "--name", "Ben", "--relay", relay_url))
    ok(run(ann, "add", ben_code))
    ok(run(ann, "send", "Ben", "hello from a stranger"))
    asyncio.run(_forge_to(invite.parse(ben_code).identity_key, relay_url, tmp_path / "mallory"))

    got = run(ben, "recv", "--count", "1", "--timeout", "30")
    [line] = ok(got)
    assert "\trequest \u201cAnn\u201d (unverified name) \u00b7 " in line
    assert line.endswith("\thello from a stranger")
    assert "parley cli: a message from an unknown sender (" in got.stderr
    assert "could not be shown: it could not be decrypted" in got.stderr
    [request] = ok(run(ben, "requests", "--json"))
    data = json.loads(request)
    assert data["claimed_name"] == "Ann" and data["messages"] == 1
    assert run(ben, "requests", "accept").returncode == cli.EXIT_USAGE
    assert run(ben, "requests", "block", "nope").returncode == cli.EXIT_NOT_FOUND
    assert run(ben, "send", "Ann", "hi").returncode == cli.EXIT_NOT_FOUND  # not a contact yet
    ok(run(ben, "requests", "block", data["request_id"][:8]))
    assert ok(run(ben, "requests")) == []
    ok(run(ann, "send", "Ben", "are you there?"))
    assert ok(run(ben, "recv", "--timeout", "3")) == []
    assert ok(run(ben, "list")) == []


def test_block_list_and_unblock_on_the_command_line(relay_url: str, tmp_path: Path) -> None:
    ann, ben = tmp_path / "ann", tmp_path / "ben"
    ok(run(ann, "init", "--name", "Ann", "--relay", relay_url))
    [ben_code] = ok(run(ben, "init", "--name", "Ben", "--relay", relay_url))
    ok(run(ann, "add", ben_code))
    ok(run(ann, "send", "Ben", "hello from a stranger"))
    ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    [request] = ok(run(ben, "requests"))
    request_id, label = request.split("\t")[:2]
    ok(run(ben, "requests", "block", request_id[:8]))
    ok(run(ann, "send", "Ben", "let me in"))
    assert ok(run(ben, "recv", "--timeout", "3")) == []  # taken from the relay and dropped
    assert ok(run(ben, "blocked")) == [f"{request_id}\t{label}\tunblocks to request\t1 dropped"]
    [entry] = (json.loads(line) for line in ok(run(ben, "blocked", "--json")))
    assert entry["contact_id"] == request_id and entry["label"] == label
    assert (entry["unblocks_to"], entry["dropped"]) == ("request", 1)
    assert len(entry["identity_key"]) == 64 and label.endswith(entry["fingerprint"])
    missing = run(ben, "unblock", "nope")
    assert missing.returncode == cli.EXIT_NOT_FOUND
    assert (
        missing.stderr
        == "parley cli: There is nobody blocked with the id 'nope'; see `parley cli blocked`.\n"
    )
    assert run(ben, "unblock").returncode == cli.EXIT_USAGE
    unblocked = run(ben, "unblock", request_id[:8])
    assert ok(unblocked) == [f"{request_id}\t{label}"]
    assert "message request again" in unblocked.stderr
    assert ok(run(ben, "blocked")) == []
    # Back to a request (not a contact): listed there, not in `list`, nothing sent back to Ann.
    [again] = ok(run(ben, "requests"))
    assert again.startswith(f"{request_id}\t{label}\t1 messages\t")
    assert ok(run(ben, "list")) == []
    assert run(ben, "unblock", request_id).returncode == cli.EXIT_NOT_FOUND  # not blocked now
    # Ann's next message is received again (the session was kept in step while blocked).
    ok(run(ann, "send", "Ben", "second try"))
    [line] = ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    assert "\trequest \u201cAnn\u201d (unverified name) \u00b7 " in line
    assert line.endswith("\tsecond try")


def test_succession_and_merge_on_the_command_line(relay_url: str, tmp_path: Path) -> None:
    ann, ben, phone, tablet = (tmp_path / n for n in ("ann", "ben", "phone", "tablet"))
    ok(run(ann, "init", "--name", "Ann", "--relay", relay_url))
    [ben_code] = ok(run(ben, "init", "--name", "Ben", "--relay", relay_url))
    ok(run(ann, "add", ben_code))
    ok(run(ann, "send", "Ben", "hi"))
    ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    [request] = ok(run(ben, "requests"))
    ok(run(ben, "requests", "accept", request.split("\t")[0]))
    # Ann moves to a new phone: the old profile signs for the new identity.
    [phone_code] = ok(run(phone, "init", "--name", "Ann", "--relay", relay_url))
    [statement] = ok(run(ann, "succession", "sign", phone_code))
    assert statement.startswith("parley-succession:") and len(statement) == 18 + 272
    bad = run(tablet, "succession", "adopt", statement)  # no account there yet
    assert bad.returncode == cli.EXIT_NOT_FOUND
    ok(run(phone, "succession", "adopt", statement))
    ok(run(phone, "add", ben_code))
    ok(run(phone, "send", "Ben", "new phone, same Ann"))
    [line] = ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    assert line.split("\t")[1:] == ["Ann", "new phone, same Ann"]  # the contact, not a request
    [listed] = ok(run(ben, "list"))
    assert "\tAnn\tunverified,key-changed\t" in listed
    assert ok(run(ben, "requests")) == []
    # A tablet with no statement (the phone is lost): a request, merged after comparing numbers.
    ok(run(tablet, "init", "--name", "Ann", "--relay", relay_url))
    ok(run(tablet, "add", ben_code))
    ok(run(tablet, "send", "Ben", "it's Ann, trust me"))
    ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    [request] = ok(run(ben, "requests"))
    request_id = request.split("\t")[0]
    refused = run(ben, "merge", request_id, "--into", "Ann")
    assert refused.returncode == cli.EXIT_REJECTED and "Compare safety numbers" in refused.stderr
    assert ok(run(ben, "verify", request_id)) == ok(run(tablet, "safety-number", "Ben"))
    [merged] = ok(run(ben, "merge", request_id, "--into", "Ann"))
    assert merged.endswith("\tAnn")
    assert ok(run(ben, "requests")) == []
    [listed] = ok(run(ben, "list"))
    assert "\tAnn\tverified\t" in listed
