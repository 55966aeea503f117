"""``parley cli`` across builds: a standard-build recipient is told at once that its contact runs
a warrant build (real subprocesses, a real relay subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from parley import variant
from tests.warrant_build import WarrantBuild

from .test_cli import relay_url  # noqa: F401

PASSPHRASE = "warrant cli passphrase"


def run(profile: Path, *args: str, config: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != variant.CONFIG_ENV}
    env["PARLEY_PASSPHRASE"] = PASSPHRASE
    if config is not None:
        env[variant.CONFIG_ENV] = str(config)
    done = subprocess.run(
        [sys.executable, "-m", "parley", "cli", "--profile", str(profile), *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_a_standard_recipient_is_told_about_a_warrant_sender(
    warrant_build: WarrantBuild,
    relay_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    ann, ben = tmp_path / "ann", tmp_path / "ben"
    warrant = warrant_build.config_file
    run(ann, "init", "--name", "Ann", "--relay", relay_url, config=warrant)
    run(ben, "init", "--name", "Ben", "--relay", relay_url, config=None)
    code = run(ben, "invite", config=None).stdout.splitlines()[0]
    run(ann, "add", code, config=warrant)
    run(ann, "send", "Ben", "the warrant build wrote this", config=warrant)
    done = run(ben, "recv", "--count", "1", "--timeout", "30", config=None)
    assert done.stdout.rstrip().endswith("the warrant build wrote this")
    assert f"Ann uses the warrant build of Parley (authority {warrant_build.key_id})" in done.stderr
    assert "docs/warrant.md" in done.stderr
    # Ann is a stranger to Ben: her first message is a message request until he accepts it.
    [request] = run(ben, "requests", config=None).stdout.splitlines()
    run(ben, "requests", "accept", request.split("\t")[0], config=None)
    [listed] = run(ben, "list", config=None).stdout.splitlines()
    assert "\tAnn\tunverified,warrant-build\t" in listed
    [as_json] = run(ben, "list", "--json", config=None).stdout.splitlines()
    assert f'"authority_key_id": "{warrant_build.key_id}"' in as_json
    assert '"build_variant": "warrant"' in as_json
