"""The relay name a client signs is the normalised URL (docs/protocol.md s7), checked through
``parley cli`` and ``parley relay`` subprocesses."""

from __future__ import annotations

from pathlib import Path

from parley.app import cli
from parley.net import wire

from tests.app.cli_harness import ok, relay_process, run


def test_a_trailing_slash_a_path_or_capitals_name_the_same_relay(tmp_path: Path) -> None:
    with relay_process(tmp_path / "relay") as (url, _):
        port = url.rsplit(":", 1)[1]
        for n, variant in enumerate(
            (f"{url}/", f"{url}/parley/relay", f"ws://127.0.0.1:{port}/?x=1")
        ):
            # Each logged in and published (it was refused as bad_signature before).
            ok(run(tmp_path / f"p{n}", "init", "--name", f"P{n}", "--relay", variant))


def test_a_challenge_for_another_relays_name_is_refused(tmp_path: Path) -> None:
    other = "wss://another-relay.example"
    with relay_process(tmp_path / "relay", "--public-url", other) as (url, _):
        result = run(tmp_path / "p", "init", "--name", "P", "--relay", url, "--timeout", "5")
    assert result.returncode == cli.EXIT_NETWORK
    assert "another-relay.example" in result.stderr and "refus" in result.stderr
    assert not (tmp_path / "p").exists()


def test_the_normalisation_rules() -> None:
    assert wire.relay_name("ws://Relay.Example:80/a/b/?q#f") == "ws://relay.example"
    assert wire.relay_name("wss://relay.example:443/") == "wss://relay.example"
    assert wire.relay_name("wss://user@relay.example:8443") == "wss://relay.example:8443"
    assert wire.relay_name("ws://[::1]:9000/") == "ws://[::1]:9000"
    assert wire.relay_name("my relay") == "my relay"  # an operator's free-form name, exact
