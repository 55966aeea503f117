"""The warrant steps of a comparison run, as separate processes of the warrant tools.

Everything here runs ``parley warrant ...`` (the authority, the relay operator's HI1 commands, the
trustees, the agency and the audit log; docs/warrant.md) as programs, never by importing the
warrant modules, so that this package stays importable in the standard wheel, which leaves those
modules out. The thief who holds all shares runs a few lines of Python in the warrant install's
interpreter (the arithmetic of app/warrant/direct_open.py, without the procedure). Each step first
checks that the tool it needs exists; when it does not, the step returns a :class:`NotRun` with
the reason, and the report shows that reason in each cell it would have filled.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parley.app.compare.steps import NotRun, StepFailed, run_logged

PROBE_TIMEOUT_S = 60.0
TOOL_TIMEOUT_S = 120.0
TRUSTEES, THRESHOLD = 5, 3  # the design note's 3-of-5
EPOCHS, EPOCH_DAYS = 2, 1.0
ACTIVATION_TIMEOUT_S = 20.0
EXIT_REFUSED = 6


def _help(command: list[str], cwd: Path) -> str | None:
    """The help text of a command, or None when the command does not exist there."""
    try:
        done = subprocess.run(  # noqa: S603 (our own programs)
            [*command, "--help"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            cwd=cwd,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout + done.stderr if done.returncode == 0 else None


@dataclass(frozen=True, slots=True)
class Tools:
    """Where the warrant tools are, or why they are not."""

    warrant: list[str] | None  # the `parley warrant` command line prefix of the checkout
    missing: NotRun | None


def probe(parley: list[str], cwd: Path) -> Tools:
    """Find `parley warrant` (run from ``parley``, the checkout's own interpreter)."""
    if _help([*parley, "warrant"], cwd) is None:
        reason = "the `parley warrant` tools are not in this checkout (issue 9/10 not landed)"
        return Tools(None, NotRun(reason))
    return Tools([*parley, "warrant"], None)


def relay_has_capture(program: Path, cwd: Path) -> bool:
    return "--lawful-intercept" in (_help([str(program), "relay"], cwd) or "")


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).isoformat()


@dataclass
class ToolResult:
    """One tool run: did it succeed, or refuse, and with what sentence; how long it took."""

    ok: bool
    sentence: str
    seconds: float
    stdout: str = ""


@dataclass
class Flow:
    """One run's authority, audit log and warrant tools; every call is logged to ``log``."""

    tool: list[str]  # `parley warrant` of the install that runs the procedure
    authority: Path
    audit: Path
    work: Path
    log: Path
    cwd: Path
    warrants: dict[str, Path] = field(default_factory=dict)

    def run(self, step: str, *args: str | Path, refusable: bool = False) -> ToolResult:
        """Run one `parley warrant` command; a refusal (exit 6) is a result when ``refusable``."""
        started = time.monotonic()
        codes = (0, EXIT_REFUSED) if refusable else (0,)
        done = run_logged(
            [*self.tool, *map(str, args)],
            step,
            self.log,
            timeout=TOOL_TIMEOUT_S,
            cwd=self.cwd,
            ok_codes=codes,
        )
        took = time.monotonic() - started
        lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
        sentence = lines[-1].removeprefix("parley warrant: ") if lines else ""
        return ToolResult(done.returncode == 0, sentence, took, done.stdout)

    def common(self) -> list[str | Path]:
        return ["--log", self.audit, "--authority", self.authority]

    def issue(self, step: str, liid: str, target: str, start: float, end: float) -> Path:
        out = self.work / f"warrant-{liid}.json"
        self.run(
            step, "issue", "--authority", self.authority, "--log", self.audit, "--liid", liid,
            "--target", target, "--start", str(int(start)), "--end", str(int(end)), "--out", out,
        )  # fmt: skip
        self.warrants[liid] = out
        return out

    def activate(self, step: str, relay_data: Path, warrant: Path, liid: str) -> None:
        self.run(step, "relay", "activate", "--relay-data", relay_data, *self.common(),
                 "--warrant", warrant)  # fmt: skip
        status = relay_data / "lawful-intercept" / "status.json"
        deadline = time.monotonic() + ACTIVATION_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                warrants = json.loads(status.read_text(encoding="utf-8"))["warrants"]
            except (OSError, ValueError, KeyError):
                warrants = []
            if any(w.get("liid") == liid and w.get("state") == "active" for w in warrants):
                return
            time.sleep(0.1)
        raise StepFailed(step, self.log, f"the relay did not activate {liid} in time")

    def export(self, step: str, relay_data: Path, liid: str) -> Path:
        out = self.work / f"capture-{liid}.json"
        self.run(step, "capture", "export", "--relay-data", relay_data, "--liid", liid,
                 "--out", out)  # fmt: skip
        return out

    def request(
        self, step: str, warrant: Path, capture: Path, out: Path, records: list[int] | None = None
    ) -> ToolResult:
        args: list[str | Path] = ["request", *self.common(), "--warrant", warrant]
        args += ["--capture", capture, "--out", out]
        for n in records or []:
            args += ["--record", str(n)]
        return self.run(step, *args, refusable=True)

    def share(self, step: str, trustee: int, request: Path, out: Path) -> ToolResult:
        share = self.authority / f"trustee-{trustee}.json"
        return self.run(step, "share", *self.common(), "--trustee", share, "--request", request,
                        "--out", out, refusable=True)  # fmt: skip

    def open(self, step: str, request: Path, answers: list[Path]) -> ToolResult:
        args: list[str | Path] = ["open", *self.common(), "--request", request, "--json"]
        for answer in answers:
            args += ["--answer", answer]
        return self.run(step, *args, refusable=True)


def init_authority(tools: Tools, out: Path, step: str, log: Path, cwd: Path) -> Path:
    """A fresh authority (3 of 5 trustees, two one-day epochs from an hour ago)."""
    assert tools.warrant is not None
    command = [*tools.warrant, "authority", "init", "--trustees", str(TRUSTEES)]
    command += ["--threshold", str(THRESHOLD), "--out", str(out), "--epochs", str(EPOCHS)]
    command += ["--epoch-days", str(EPOCH_DAYS), "--start", iso(time.time() - 3600)]
    run_logged(command, step, log, timeout=TOOL_TIMEOUT_S, cwd=cwd)
    return out


# The thief who holds trustee share files runs this in the warrant install's interpreter: the
# arithmetic of an opening without any of the procedure (no warrant, request, log or proof).
THIEF = """
import json, sys
from pathlib import Path
from parley.app.warrant.authority import load_authority, load_trustee
from parley.app.warrant.direct_open import open_message
from parley.app.warrant.errors import WarrantError
from parley.crypto import warrant_envelope
job = json.loads(sys.stdin.read())
auth = load_authority(Path(job["authority"]))
trustees = [load_trustee(Path(p)) for p in job["trustees"]]
out = []
for rec in job["records"]:
    a = rec["attestation"]
    try:
        env, _ = warrant_envelope.captured_binding(
            bytes.fromhex(rec["cc"]), bytes.fromhex(a["sender"]), bytes.fromhex(a["recipient"]))
        epoch = warrant_envelope.parse(env).epoch
    except Exception:
        epoch = None
    try:
        open_message(auth, trustees, bytes.fromhex(rec["cc"]), bytes.fromhex(a["sender"]),
                     bytes.fromhex(a["recipient"]))
        out.append({"message_id": a["message_id"], "epoch": epoch, "opened": True})
    except WarrantError as exc:
        out.append({"message_id": a["message_id"], "epoch": epoch, "opened": False,
                    "reason": str(exc)})
print(json.dumps(out))
"""


def thief_open(
    python: Path,
    *,
    authority: Path,
    trustees: list[Path],
    records: list[dict[str, Any]],
    step: str,
    log: Path,
    cwd: Path,
) -> list[dict[str, Any]]:
    """Try to open every record with the given share files alone; one result per record."""
    job = {"authority": str(authority), "trustees": [str(t) for t in trustees], "records": records}
    done = run_logged(
        [str(python), "-c", THIEF],
        step,
        log,
        timeout=TOOL_TIMEOUT_S,
        cwd=cwd,
        stdin=json.dumps(job),
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def epoch_only(trustee_file: Path, epoch: int, out: Path) -> Path:
    """A copy of a trustee's share file holding only one epoch's share (one stolen epoch key)."""
    data = json.loads(trustee_file.read_text(encoding="utf-8"))
    data["shares"] = [s for s in data["shares"] if int(s["epoch"]) == epoch]
    out.write_text(json.dumps(data), encoding="utf-8")
    out.chmod(0o600)
    return out


def python_of(program: Path) -> Path:
    return program.parent / ("python.exe" if sys.platform == "win32" else "python")
