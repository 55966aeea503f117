"""Replies and reactions on the command line: real `parley cli` processes and a real relay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from parley.app import cli
from PIL import Image

from tests.app.cli_harness import ok, relay_process, run

THUMBS = "\U0001f44d"


@pytest.fixture(scope="module")
def relay_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with relay_process(tmp_path_factory.mktemp("cli-replies-relay")) as (url, _):
        yield url


def test_reply_and_react_from_the_command_line(relay_url: str, tmp_path: Path) -> None:
    ann, ben = tmp_path / "ann", tmp_path / "ben"
    ok(run(ann, "init", "--name", "Ann", "--relay", relay_url))
    ok(run(ben, "init", "--name", "Ben", "--relay", relay_url))
    ok(run(ann, "add", ok(run(ben, "invite"))[0]))
    # A message whose text would drive a terminal, quoted back: escaped in the plain output.
    [asked] = ok(run(ann, "send", "Ben", "lunch \x1b[31mat noon?"))
    [got] = ok(run(ben, "recv", "--count", "1", "--timeout", "30", "--json"))
    assert json.loads(got)["id"] == asked
    [request] = ok(run(ben, "requests"))
    ok(run(ben, "requests", "accept", request.split("\t")[0]))
    [answer] = ok(run(ben, "send", "Ann", "yes, see you", "--reply-to", asked))
    picture = tmp_path / "place.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    ok(run(ben, "send", "Ann", "--picture", str(picture), "--reply-to", asked))
    line, shot = ok(run(ann, "recv", "--count", "2", "--timeout", "30"))
    assert line.endswith('\tBen\t[reply to You: "lunch \\x1b[31mat noon?"] yes, see you')
    assert shot.endswith('\tBen\t[reply to You: "lunch \\x1b[31mat noon?"] [picture place.png]')
    assert "\x1b" not in line + shot
    # Ann reacts; Ben's next recv prints it as a line of its own (not counted as a message).
    assert ok(run(ann, "react", answer, THUMBS)) == [f"{answer}\t{THUMBS} 1 (yours)"]
    [reaction] = ok(run(ben, "recv", "--timeout", "3"))
    assert reaction.endswith(f'\tAnn\t[reaction {THUMBS} to "yes, see you"]')
    assert ok(run(ann, "react", answer, "--remove")) == [answer]
    [removed] = ok(run(ben, "recv", "--timeout", "3", "--json"))
    assert json.loads(removed) | {"conversation_id": ""} == {
        "reaction": None,
        "by": "Ann",
        "message_id": answer,
        "conversation_id": "",
        "reactions": [],
    }
    # Mistakes are one sentence and a documented exit code.
    assert run(ann, "react", answer, "lol").returncode == cli.EXIT_REJECTED
    assert run(ann, "react", answer).returncode == cli.EXIT_USAGE
    assert run(ann, "react", "00" * 16, THUMBS).returncode == cli.EXIT_NOT_FOUND
    assert run(ann, "send", "Ben", "x", "--reply-to", "nothex").returncode == cli.EXIT_NOT_FOUND
