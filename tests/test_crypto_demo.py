"""`parley crypto-demo`: runs through the real dispatcher, prints the conversation, reproducibly."""

from __future__ import annotations

import pytest
from parley.app import crypto_demo

from parley.__main__ import main as parley_main


def test_demo_through_the_parley_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert parley_main(["crypto-demo", "--seed", "test"]) == 0
    out = capsys.readouterr().out
    assert "Bob reads: 'Are you there?'" in out
    assert "Alice reads: 'Hello Alice, yes.'" in out
    assert "A replay of message 1 is refused" in out
    assert "initial (carries the X3DH header)" in out
    assert out.rstrip().endswith("Done: every message decrypted exactly once, on both sides.")


def test_seeded_output_is_reproducible_and_differs_by_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outputs = []
    for seed in ("one", "one", "two"):
        assert crypto_demo.main(["--seed", seed]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]  # the identity fingerprints differ


def test_unseeded_run_uses_fresh_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert crypto_demo.main([]) == 0
    first = capsys.readouterr().out
    assert crypto_demo.main([]) == 0
    assert capsys.readouterr().out.splitlines()[0] != first.splitlines()[0]


def test_bad_option_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        crypto_demo.main(["--nonsense"])
    assert exit_info.value.code == 2
    assert "usage: parley crypto-demo" in capsys.readouterr().err
