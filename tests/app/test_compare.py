"""`parley compare` end to end: the real command, real wheels, venvs, relay and user processes.

The report is read back as a reviewer would: every number of report.md is recomputed from the
evidence files the run wrote, every matrix cell must link to a record that says the same thing (or
say "not run" with a reason), and report.html is opened in headless Chromium. Failures must be
clear: a damaged wheel and a relay killed mid-run end with the step and its log, and no report.
CI cost: about 40 s (one run at 12 messages, two aborted runs, one Chromium screenshot).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARLEY = Path(sys.executable).parent / "parley"
WHEELHOUSE = ROOT / "build" / "compare-wheelhouse"
SCREENSHOT = ROOT / "build" / "compare-report.png"
LINK = re.compile(r"\(\[evidence\]\((evidence/[^)]+)\)\)")

pytestmark = pytest.mark.timeout(600)


def compare(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [str(PARLEY), "compare", "--out", str(out), "--wheelhouse", str(WHEELHOUSE)]
    return subprocess.run(
        [*command, *extra], capture_output=True, text=True, timeout=540, check=False, cwd=ROOT
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "report"
    done = compare(out, "--messages", "12")
    assert done.returncode == 0, done.stderr
    assert "compare: conversation done" in done.stderr  # the plain progress display (no tty)
    return out


def table(md: str, first_header: str) -> dict[str, list[str]]:
    """The rows of the Markdown tables whose header starts with ``first_header``, by first cell."""
    lines = md.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |")]
    assert starts, first_header
    rows: dict[str, list[str]] = {}
    for start in starts:
        for line in lines[start + 2 :]:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows[cells[0]] = cells[1:]
    return rows


def evidence(out: Path, cell: str) -> dict[str, Any]:
    match = LINK.search(cell)
    assert match, f"no evidence link in {cell!r}"
    path = out / match.group(1)
    assert path.is_file(), path
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_every_matrix_cell_is_a_result_with_its_record(report: Path) -> None:
    md = (report / "report.md").read_text()
    matrix = table(md, "who")
    assert len(matrix) == 9
    for party, cells in matrix.items():
        for cell in cells:
            if cell.startswith("not run:"):
                assert len(cell) > len("not run: ") + 10, f"{party}: a not-run without a reason"
                continue
            outcome = cell.split(":")[0]
            assert outcome in {"opened", "refused"}, f"{party}: {cell!r}"
            assert evidence(report, cell)["outcome"] == outcome
    standard = {party: cells[0] for party, cells in matrix.items()}
    assert standard["sender"].startswith("opened")
    assert standard["recipient"].startswith("opened")
    assert standard["relay operator"].startswith("refused")
    assert standard["whoever steals a device later"].startswith("refused")


def test_numbers_match_the_evidence(report: Path) -> None:
    md = (report / "report.md").read_text()
    cost = table(md, "measure")
    cell = cost["text frame bytes"][0]
    conversation = evidence(report, cell)
    texts = [m["frame_bytes"] for m in conversation["messages"] if m["kind"] == "text"]
    median = float(re.search(r"median ([\d.]+) bytes", cell).group(1))  # type: ignore[union-attr]
    assert abs(median - statistics.median(texts)) <= 0.5
    assert f"n={len(texts)}" in cell
    stored = [m["stored_ms"] for m in conversation["messages"]]
    cell = cost["time until stored by the relay"][0]
    median = float(re.search(r"median ([\d.]+) ms", cell).group(1))  # type: ignore[union-attr]
    assert abs(median - statistics.median(stored)) <= 0.01
    # The recipient row counts the messages the evidence says arrived.
    row = table(md, "who")["recipient"][0]
    record = evidence(report, row)
    arrived = sum(1 for _, _, received in record["messages"] if received)
    assert f"{arrived} of {len(record['messages'])} messages" in row
    # What the relay held for the offline Bob is what its database said, and the stolen device
    # tried exactly those payloads.
    saw = table(md, "")["held while the recipient was offline"][0]
    at_rest = evidence(report, saw)
    sizes = [q["payload_bytes"] for q in at_rest["queue"]]
    assert f"{len(sizes)} messages held for Bob, payload sizes {min(sizes)}-{max(sizes)}" in saw
    assert [len(p) // 2 for p in at_rest["payloads_hex"]] == sizes
    held = [m for m in conversation["messages"] if m["mode"] == "offline"]
    assert len(held) == len(sizes)
    assert {m["id"] for m in held} == {q["message_id"] for q in at_rest["queue"]}
    theft = evidence(report, table(md, "who")["whoever steals a device later"][0])
    assert theft["payloads_tried"] == len(sizes)
    assert f"0 of {len(sizes)} captured past messages opened" in theft["result"]
    # The capture volume is what the capture export the run kept says, record by record.
    for column, variant in enumerate(("standard", "warrant")):
        cell = cost["capture volume"][column]
        if cell.startswith("not run:"):
            continue
        volume = evidence(report, cell)
        export = json.loads((report / volume["capture_file"]).read_text())
        sizes = [r["attestation"]["size"] for r in export["records"]]
        assert all(r["attestation"]["liid"] == volume["liid"] for r in export["records"])
        assert f"{len(sizes)} records" in cell and f"{sum(sizes)} bytes of content" in cell
        # Target-only capture: every record is to or from that build's Bob, the warrant's target.
        target = volume["target"]
        for record in export["records"]:
            assert target in (record["attestation"]["sender"], record["attestation"]["recipient"])
        assert volume["build"] == variant
    # The relay's log is kept with the report.
    assert (report / "logs" / "relay.log").is_file()


def test_report_html_opens_offline_in_chromium(report: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: run scripts/setup.sh"
    page = (report / "report.html").read_text()
    assert "<svg" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the report loads something"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    url = (report / "report.html").as_uri()
    subprocess.run(
        [chromium, *flags, "--window-size=1200,1800", f"--screenshot={SCREENSHOT}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert SCREENSHOT.stat().st_size > 20_000
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert dom.count("<svg") == page.count("<svg") >= 4  # every chart rendered inline
    assert "Who can read what" in dom


def _wheel(tmp: Path) -> Path:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*command, "-w", str(tmp), str(ROOT)], check=True, capture_output=True)
    return next(tmp.glob("parley-*.whl"))


def test_a_damaged_wheel_fails_clearly_and_writes_no_report(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "dist")
    data = bytearray(wheel.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # inside some member's compressed bytes
    damaged = tmp_path / wheel.name
    damaged.write_bytes(bytes(data))
    out = tmp_path / "report"
    done = compare(out, "--standard", str(damaged), "--messages", "12")
    assert done.returncode == 1
    assert "wheels failed" in done.stderr
    assert "damaged" in done.stderr or "not a readable wheel" in done.stderr
    assert "its log:" in done.stderr
    assert not out.exists()
    assert (tmp_path / "report.failed" / "logs").is_dir()
    assert "step 'wheels' failed" in (tmp_path / "report.failed" / "FAILED.txt").read_text()
    assert not list(tmp_path.glob(".report.partial-*"))


def test_a_relay_that_dies_mid_run_fails_clearly(tmp_path: Path) -> None:
    out = tmp_path / "report"
    command = [str(PARLEY), "compare", "--out", str(out), "--wheelhouse", str(WHEELHOUSE)]
    proc = subprocess.Popen(
        [*command, "--messages", "200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 300
        relay_pid = None
        while relay_pid is None and time.monotonic() < deadline and proc.poll() is None:
            for log in tmp_path.glob(".report.partial-*/logs/user-*-alice.log"):
                relay_log = log.parent / "relay.log"
                found = re.search(r"\(pid (\d+)\)", relay_log.read_text())
                relay_pid = int(found.group(1)) if found else None
            time.sleep(0.02)
        assert relay_pid is not None, "the run never started its users"
        os.kill(relay_pid, signal.SIGKILL)  # the relay dies while the users are working
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, stderr
    assert "the relay exited mid-run" in stderr
    assert "relay.log" in stderr
    assert not out.exists()
    assert (tmp_path / "report.failed" / "logs" / "relay.log").is_file()
    assert "the relay exited mid-run" in (tmp_path / "report.failed" / "FAILED.txt").read_text()


def _results(report: Path, rows: dict[str, list[str]]) -> dict[str, str]:
    """Each row's cells must be a result with a matching record, or "not run" with a reason."""
    out: dict[str, str] = {}
    for name, cells in rows.items():
        for cell in cells:
            if cell.startswith("not run:"):
                assert len(cell) > len("not run: ") + 10, f"{name}: a not-run without a reason"
            else:
                outcome = cell.split(":")[0]
                assert outcome in {"opened", "refused", "delivered", "rejected", "shown"}, cell
                assert evidence(report, cell)["outcome"] == outcome
        out[name] = cells[0]
    return out


def test_bypasses_interop_and_opening_are_results_of_this_run(report: Path) -> None:
    md = (report / "report.md").read_text()
    bypass = _results(report, table(md, "attempt"))
    for attack in ("stripped", "random", "copied", "relabelled", "wrong-epoch"):
        cell = bypass[f"{attack} envelope"]
        # An honest warrant recipient never accepts a modified sender's envelope.
        assert cell.startswith(("rejected:", "not run:")), cell
    assert bypass["two colluding modified clients"].startswith(("delivered:", "not run:"))
    for abuse in ("out-of-scope request", "unlogged request", "cheating trustee"):
        assert bypass[abuse].startswith(("refused:", "not run:")), bypass[abuse]
    _results(report, table(md, "direction (mixed-traffic policy)"))
    audit = _results(report, table(md, "audit log"))["verification"]
    if not audit.startswith("not run:"):
        # The entry counts the report gives are the lines of the log listing the run kept.
        record = evidence(report, audit)
        listed = [line.split()[1] for line in record["log_show"].splitlines() if line.strip()]
        assert re.search(rf"ok: {len(listed)} entries", audit), audit
        for kind, count in record["entries_by_kind"].items():
            assert listed.count(kind) == count
            assert f"{count} {kind}" in audit
    # What K trustees opened are records of the capture the run kept, digest by digest.
    cell = table(md, "who")["K trustees with a logged, in-scope warrant"][1]
    if cell.startswith("opened:"):
        opened = evidence(report, cell)["opened"]["messages"]
        export = json.loads((report / "evidence" / "capture-warrant.json").read_text())
        digests = {
            hashlib.sha256(
                json.dumps(r["attestation"], sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
            for r in export["records"]
        }
        assert opened and {m["record"] for m in opened} <= digests
        assert f"{len(opened)} captured messages opened" in cell
