"""``parley cli`` end to end: real subprocesses against a real `parley relay` subprocess.

Each command is a fresh process, so this is exactly what a script sees: output lines and the
documented exit codes.
"""

from __future__ import annotations

import json
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
    assert (first["id"], first["sender"], first["body"]) == (
        message_id,
        "Ann",
        "the parcel is at the pharmacy",
    )
    assert second["picture"]["width"] == 20 and second["picture"]["mime_type"] == "image/png"

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
