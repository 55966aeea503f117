"""``parley compare``: run both builds side by side and write a report reviewers can cite.

    parley compare --out DIR [--standard WHEEL --warrant WHEEL [--authority DIR]] [--messages N]

The run writes into a temporary folder next to DIR and renames it to DIR only when every step has
passed, so DIR never holds half a report. When a step fails, the command prints the step and its
log, keeps the logs in ``DIR.failed/`` and exits 1. See docs/compare.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from parley.app.compare import report
from parley.app.compare.progress import Progress
from parley.app.compare.run import Options, Runner
from parley.app.compare.steps import StepFailed, tail

import parley

DEFAULT_MESSAGES = 40
MIN_MESSAGES = 12


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="parley compare",
        description="Build (or take) both wheels, run the same conversation, warrant and attacks "
        "on each as separate processes, and write report.html and report.md.",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the report (replaced)")
    p.add_argument("--standard", type=Path, help="the standard build's wheel (default: build it)")
    p.add_argument("--warrant", type=Path, help="the warrant build's wheel (default: build it)")
    p.add_argument("--authority", type=Path, help="the authority folder the warrant wheel uses")
    p.add_argument(
        "--messages",
        type=int,
        default=DEFAULT_MESSAGES,
        help=f"messages per build (default {DEFAULT_MESSAGES}, at least {MIN_MESSAGES})",
    )
    p.add_argument("--wheelhouse", type=Path, help="dependency wheels (default: a user cache)")
    return p


def source_checkout() -> Path | None:
    """The repository this program runs from, when it runs from one (an editable install)."""
    root = Path(parley.__file__).resolve().parent.parent
    return root if (root / "packaging" / "build.sh").exists() else None


def _cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    return base / "parley" / f"compare-wheelhouse-{tag}"


def _check(args: argparse.Namespace) -> str | None:
    if args.messages < MIN_MESSAGES:
        return f"--messages must be at least {MIN_MESSAGES} (the script needs that many)"
    for name in ("standard", "warrant"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            return f"--{name} {path}: no such file"
    if args.authority is not None and not args.authority.is_dir():
        return f"--authority {args.authority}: no such folder"
    return None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    problem = _check(args)
    if problem:
        print(f"parley compare: {problem}", file=sys.stderr)
        return 2
    out: Path = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    work = Path(tempfile.mkdtemp(prefix="parley-compare-"))
    options = Options(
        out=partial,
        work=work,
        messages=args.messages,
        standard=args.standard.resolve() if args.standard else None,
        warrant=args.warrant.resolve() if args.warrant else None,
        authority=args.authority.resolve() if args.authority else None,
        wheelhouse=(args.wheelhouse or _cache()).resolve(),
        repo=source_checkout(),
    )
    progress = Progress()
    try:
        facts = Runner(options, progress).run()
        progress.phase("report", 1)
        report.write(facts, partial)
        progress.end()
    except StepFailed as failure:
        progress.end(ok=False)
        return _failed(failure, partial, out)
    except Exception as exc:  # a bug here must not leave half a report either
        progress.end(ok=False)
        log = partial / "logs" / "compare.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc(), encoding="utf-8")
        return _failed(StepFailed("compare", log, f"internal error ({exc!r})"), partial, out)
    except KeyboardInterrupt:
        progress.end(ok=False)
        shutil.rmtree(partial, ignore_errors=True)
        print("parley compare: interrupted; no report written", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    print(f"parley compare: report written to {out / 'report.html'} and report.md", file=sys.stderr)
    return 0


def _failed(failure: StepFailed, partial: Path, out: Path) -> int:
    """Keep only the logs, in DIR.failed/, and say which step failed and where its log is."""
    failed = out.with_name(out.name + ".failed")
    if failed.exists():
        shutil.rmtree(failed)
    for child in partial.iterdir():
        if child.name != "logs":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    partial.rename(failed)
    log = (
        failed / failure.log.relative_to(partial)
        if failure.log.is_relative_to(partial)
        else failure.log
    )
    (failed / "FAILED.txt").write_text(
        f"parley compare stopped: step '{failure.step}' failed: {failure.reason}\n"
        f"its log: {log}\nno report was written.\n\n{tail(log, 40)}\n",
        encoding="utf-8",
    )
    print(f"parley compare: {failure.step} failed: {failure.reason}", file=sys.stderr)
    print(f"parley compare: its log: {log}", file=sys.stderr)
    excerpt = tail(log)
    if excerpt:
        print("parley compare: last lines of the log:\n" + excerpt, file=sys.stderr)
    print(f"parley compare: no report was written ({out} is unchanged)", file=sys.stderr)
    return 1
