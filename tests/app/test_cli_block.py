"""``parley cli block CONTACT``: blocking an accepted contact from the command line, as a user
does it: real `parley cli` processes against a real `parley relay` process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from parley.app import cli

from tests.app.cli_harness import ok, relay_process, run


@pytest.fixture(scope="module")
def relay_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with relay_process(tmp_path_factory.mktemp("cli-block-relay")) as (url, _):
        yield url


def _contacts(ann: Path, ben: Path, relay_url: str) -> str:
    """Ann and Ben on the relay; Ann writes first and Ben accepts her: Ann is Ben's contact.
    Returns Ann's contact id in Ben's profile."""
    ok(run(ann, "init", "--name", "Ann", "--relay", relay_url))
    [ben_code] = ok(run(ben, "init", "--name", "Ben", "--relay", relay_url))
    ok(run(ann, "add", ben_code))
    ok(run(ann, "send", "Ben", "hello"))
    ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    [request] = ok(run(ben, "requests"))
    [accepted] = ok(run(ben, "requests", "accept", request.split("\t")[0]))
    contact_id, name = accepted.split("\t")
    assert name == "Ann"
    return contact_id


def test_block_a_contact_then_unblock_it(relay_url: str, tmp_path: Path) -> None:
    ann, ben = tmp_path / "ann", tmp_path / "ben"
    ann_id = _contacts(ann, ben, relay_url)

    blocked = run(ben, "block", "ann")  # named as `send` or `safety-number` name her
    [line] = ok(blocked)
    assert blocked.stderr == ""
    [entry] = (json.loads(x) for x in ok(run(ben, "blocked", "--json")))
    assert entry["contact_id"] == ann_id and entry["unblocks_to"] == "accepted"
    assert entry["label"].startswith("Ann \u00b7 ") and entry["dropped"] == 0
    # One line: who, and the exact command (with the id `blocked` shows) that undoes it.
    assert line == f"Blocked {entry['label']}; undo with `parley cli unblock {ann_id}`."
    assert ok(run(ben, "list")) == []
    listed = f"{ann_id}\t{entry['label']}\tunblocks to contact\t0 dropped"
    assert ok(run(ben, "blocked")) == [listed]

    # Blocking her again, by name or id, is an error that changes nothing.
    for name in ("Ann", ann_id):
        again = run(ben, "block", name)
        assert again.returncode == cli.EXIT_REJECTED, again.stderr
        assert again.stdout == ""
        assert again.stderr == (
            f"parley cli: {entry['label']} is already blocked; "
            f"`parley cli unblock {ann_id}` unblocks it.\n"
        )
    assert [json.loads(x) for x in ok(run(ben, "blocked", "--json"))] == [entry]

    # What she sends while blocked is taken from the relay and never shown.
    ok(run(ann, "send", "Ben", "are you ignoring me?"))
    assert ok(run(ben, "recv", "--timeout", "3")) == []
    assert json.loads(ok(run(ben, "blocked", "--json"))[0])["dropped"] == 1

    unblocked = run(ben, "unblock", ann_id)
    assert ok(unblocked) == [f"{ann_id}\t{entry['label']}"]
    assert "Ann is a contact again." in unblocked.stderr
    assert ok(run(ben, "blocked")) == []
    [listed] = ok(run(ben, "list"))
    assert listed.startswith(f"{ann_id}\tAnn\t")
    ok(run(ann, "send", "Ben", "back again"))
    [got] = ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    assert got.split("\t")[1:] == ["Ann", "back again"]  # from the contact, not a request


def test_block_json_and_what_it_refuses(relay_url: str, tmp_path: Path) -> None:
    ann, ben, cat, dee = (tmp_path / n for n in ("ann", "ben", "cat", "dee"))
    ann_id = _contacts(ann, ben, relay_url)
    # Dee is a second contact Ben calls "Ann"; Cat a stranger whose message is a request.
    [dee_code] = ok(run(dee, "init", "--name", "Dee", "--relay", relay_url))
    [dee_line] = ok(run(ben, "add", dee_code, "--name", "Ann"))
    dee_id = dee_line.split("\t")[0]
    [ben_code] = ok(run(ben, "invite"))[:1]
    ok(run(cat, "init", "--name", "Cat", "--relay", relay_url))
    ok(run(cat, "add", ben_code))
    ok(run(cat, "send", "Ben", "hi, it's Cat"))
    ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    [request] = ok(run(ben, "requests", "--json"))
    cat_id = json.loads(request)["request_id"]
    cat_label = ok(run(ben, "requests"))[0].split("\t")[1]

    def refused(name: str, code: int, stderr: str) -> None:
        result = run(ben, "block", name)
        assert result.returncode == code, result.stderr
        assert (result.stdout, result.stderr) == ("", f"parley cli: {stderr}\n")
        assert ok(run(ben, "blocked")) == []  # nothing was blocked

    see_list = "; see `parley cli list`."
    refused("Nobody", cli.EXIT_NOT_FOUND, f"There is no contact called 'Nobody'{see_list}")
    refused("Ann", cli.EXIT_NOT_FOUND, f"There is more than one contact called 'Ann'{see_list}")
    # A message request is blocked with `requests block`, named by id or by its claimed name.
    for name in (cat_id, cat_id[:8], "Cat"):
        refused(
            name,
            cli.EXIT_REJECTED,
            f"{cat_label} is a message request, not a contact; "
            f"`parley cli requests block {cat_id}` blocks it.",
        )
    assert len(ok(run(ben, "requests"))) == 1  # still a request
    assert run(ben, "block").returncode == cli.EXIT_USAGE
    assert run(ben, "block", " ").returncode == cli.EXIT_USAGE

    # --json: one object, with the field names (and values) of its `blocked --json` entry.
    result = run(ben, "block", ann_id[:8], "--json")
    [printed] = ok(result)
    [listed] = ok(run(ben, "blocked", "--json"))
    assert json.loads(printed) == json.loads(listed)
    assert json.loads(printed)["contact_id"] == ann_id
    assert set(json.loads(printed)) == {
        "contact_id", "label", "fingerprint", "identity_key", "unblocks_to", "dropped"
    }  # fmt: skip
    # Dee, the other "Ann", is still a contact; the blocked one is named by id only now.
    [left] = ok(run(ben, "list"))
    assert left.startswith(f"{dee_id}\tAnn\t")
    again = run(ben, "block", ann_id, "--json")
    assert again.returncode == cli.EXIT_REJECTED and "already blocked" in again.stderr
