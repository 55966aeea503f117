"""``parley cli`` under hostile input and faults: every failure has its exit code and one sentence.

Real subprocesses against a real ``parley relay``; the harness (cli_harness.run) fails any run
whose stderr holds a traceback, SQLCipher's log lines or a message without a reason.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from parley.app import cli

from tests.app.cli_harness import ok, relay_process, run

HOSTILE = "\x1b[2J\x1b]0;pwned\x07evil\rforged line\ttab field\x9b31m\u202edone\x08"


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with relay_process(tmp_path_factory.mktemp("faults-relay")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def pair(relay: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Ann and Ben, who know each other (Ann added Ben; Ben accepts her first message's request)."""
    root = tmp_path_factory.mktemp("faults-pair")
    ann, ben = root / "ann", root / "ben"
    ok(run(ann, "init", "--name", "Ann", "--relay", relay))
    [ben_code] = ok(run(ben, "init", "--name", "Ben", "--relay", relay))
    ok(run(ann, "add", ben_code))
    ok(run(ann, "send", "Ben", "hello Ben"))
    ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    [request] = ok(run(ben, "requests"))
    ok(run(ben, "requests", "accept", request.split("\t")[0]))
    return ann, ben


def test_received_text_cannot_drive_the_terminal(pair: tuple[Path, Path]) -> None:
    ann, ben = pair
    ok(run(ann, "send", "Ben", HOSTILE))
    [line] = ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    fields = line.split("\t")
    assert len(fields) == 3, line  # the tab did not forge a field
    assert fields[1] == "Ann"
    assert fields[2].isprintable(), repr(fields[2])  # no ESC, CR, BEL, CSI, bidi override
    assert "\\x1b[2J" in fields[2] and "\\rforged line\\ttab field" in fields[2]
    [hit] = ok(run(ben, "search", "forged"))
    assert len(hit.split("\t")) == 4 and all(f.isprintable() for f in hit.split("\t")), hit
    # JSON output stays exact: json.loads gives back every byte that was sent.
    [found] = ok(run(ben, "search", "forged", "--json"))
    assert json.loads(found)["body"] == HOSTILE


def test_messages_received_by_online_commands_reach_the_next_recv(
    pair: tuple[Path, Path],
) -> None:
    ann, ben = pair
    ok(run(ann, "send", "Ben", "arrives while Ben sends"))
    ok(run(ben, "send", "Ann", "Ben is online"))  # Ben's send commits Ann's message
    lines = ok(run(ben, "recv", "--timeout", "1"))
    assert [line.split("\t")[2] for line in lines] == ["arrives while Ben sends"]
    assert ok(run(ben, "recv", "--timeout", "0.5")) == []  # printed once only


def test_recv_count_waits_for_its_delivery_receipts(pair: tuple[Path, Path]) -> None:
    ann, ben = pair
    ok(run(ann, "recv", "--timeout", "1"))  # Ann has seen everything so far
    [message_id] = ok(run(ann, "send", "Ben", "did you get this"))
    ok(run(ben, "recv", "--count", "1", "--timeout", "30"))
    # Ann's next online command reads the receipt Ben's recv sent before it exited.
    ok(run(ann, "recv", "--timeout", "2"))
    [found] = ok(run(ann, "search", "--json", "did you get this"))
    assert json.loads(found)["id"] == message_id
    assert json.loads(found)["status"] == "delivered"


def test_empty_and_ambiguous_contact_names_are_refused(
    relay: str, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    ann, ben = pair
    empty = run(ann, "send", "", "to whom?")
    assert empty.returncode == cli.EXIT_USAGE and "empty" in empty.stderr
    assert run(ann, "send", "  ", "to whom?").returncode == cli.EXIT_USAGE
    zed, twin = tmp_path / "zed", tmp_path / "twin"
    ok(run(zed, "init", "--name", "Zed", "--relay", relay))
    [twin_code] = ok(run(twin, "init", "--name", "Ben", "--relay", relay))
    ok(run(zed, "add", ok(run(ben, "invite"))[0], "--name", "Ben"))
    ok(run(zed, "add", twin_code, "--name", "Ben"))
    both = run(zed, "send", "Ben", "which Ben?")
    assert both.returncode == cli.EXIT_NOT_FOUND and "more than one" in both.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e400", "soon"])
def test_bad_timeouts_are_refused(pair: tuple[Path, Path], value: str) -> None:
    _, ben = pair
    result = run(ben, "recv", "--timeout", value, timeout=20)
    assert result.returncode == cli.EXIT_USAGE and "timeout" in result.stderr


def test_non_utf8_text_is_refused(pair: tuple[Path, Path]) -> None:
    ann, _ = pair
    result = run(ann, "send", "Ben", b"caf\xe9")
    assert result.returncode == cli.EXIT_USAGE and "UTF-8" in result.stderr
    assert run(ann, "send", b"B\xe9n", "hi").returncode == cli.EXIT_USAGE


def test_a_picture_must_be_a_regular_file(pair: tuple[Path, Path], tmp_path: Path) -> None:
    ann, _ = pair
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        result = run(ann, "send", "Ben", "--picture", path, timeout=40)
        assert result.returncode == cli.EXIT_REJECTED and "not a regular file" in result.stderr


def test_recv_timeout_is_honoured_when_the_relay_is_down(tmp_path: Path) -> None:
    with relay_process(tmp_path / "relay") as (url, _):
        ok(run(tmp_path / "cat", "init", "--name", "Cat", "--relay", url))
    started = time.monotonic()
    result = run(tmp_path / "cat", "recv", "--timeout", "3")
    elapsed = time.monotonic() - started
    assert result.returncode == cli.EXIT_NETWORK
    assert "connection refused" in result.stderr
    # 3 s plus a process start; it took 21 s when the 20 s login wait ignored --timeout.
    assert elapsed < 15, elapsed


@contextlib.contextmanager
def _http_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_network_errors_say_why(tmp_path: Path) -> None:
    def init(url: str) -> str:
        result = run(tmp_path / "dee", "init", "--name", "Dee", "--relay", url, "--timeout", "2")
        assert result.returncode == cli.EXIT_NETWORK, result.stderr
        assert not (tmp_path / "dee").exists()
        [line] = result.stderr.splitlines()
        assert line.count(url) == 1, line  # said once, not "reach X: could not reach X"
        return line

    refused = init(f"ws://127.0.0.1:{_free_port()}")
    with _http_server() as port:
        web = init(f"ws://127.0.0.1:{port}")
    with _silent_server() as port:
        silent = init(f"ws://127.0.0.1:{port}")
    assert "connection refused" in refused
    assert "not a Parley relay" in web
    assert "no answer within" in silent
    bad_port = run(tmp_path / "dee", "init", "--name", "Dee", "--relay", "ws://127.0.0.1:99999")
    assert bad_port.returncode == cli.EXIT_REJECTED and "65535" in bad_port.stderr


def test_damaged_stores_exit_8_and_are_never_overwritten(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    ann, _ = pair
    for n in range(3):  # pages that opening never reads: the search index, long bodies
        ok(run(ann, "send", "Ben", f"filler {n} " + "lorem ipsum dolor " * 800))
    # A page damaged after opening: search reads it, its HMAC fails.
    flipped = tmp_path / "flipped"
    shutil.copytree(ann, flipped)
    size = (flipped / "store.db").stat().st_size
    with (flipped / "store.db").open("r+b") as fh:
        fh.seek(size - 4096 + 100)
        fh.write(b"\xff" * 64)
    damaged = run(flipped, "search", "lorem")
    assert damaged.returncode == cli.EXIT_STORAGE, damaged.stderr
    assert "damaged" in damaged.stderr
    # A database truncated to 0 bytes is damaged, and stays 0 bytes for whoever restores it.
    empty = tmp_path / "empty"
    shutil.copytree(ann, empty)
    (empty / "store.db").write_bytes(b"")
    for command in (["list"], ["search", "x"]):
        result = run(empty, *command)
        assert result.returncode == cli.EXIT_STORAGE and "0 bytes" in result.stderr
    assert (empty / "store.db").stat().st_size == 0
    assert not (empty / "store.db-wal").exists()
    # An odd number of hex digits in the key header.
    odd = tmp_path / "odd"
    shutil.copytree(ann, odd)
    header = json.loads((odd / "store.header").read_text())
    header["salt"] = header["salt"][1:]
    (odd / "store.header").write_text(json.dumps(header))
    result = run(odd, "list")
    assert result.returncode == cli.EXIT_STORAGE and "salt" in result.stderr


def _mount_small_disk(where: Path) -> bool:
    """A 4 MiB tmpfs at ``where`` (needs root); False where mounting is not allowed."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
    return filler


def test_a_full_disk_has_its_own_exit_code_and_loses_nothing(
    relay: str, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    ann, _ = pair
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount_small_disk(disk):
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    try:
        eve = disk / "eve"
        [eve_code] = ok(run(eve, "init", "--name", "Eve", "--relay", relay))
        ok(run(eve, "add", ok(run(ann, "invite"))[0]))
        filler = _fill(disk)
        full = run(eve, "send", "Ann", "written on a full disk")
        assert full.returncode == cli.EXIT_DISK_FULL and "full" in full.stderr
        ok(run(ann, "add", eve_code, "--name", "Eve"))
        ok(run(ann, "send", "Eve", "kept by the relay meanwhile"))
        waiting = run(eve, "recv", "--timeout", "3")
        assert waiting.returncode == cli.EXIT_DISK_FULL and "full" in waiting.stderr
        filler.unlink()
        lines = ok(run(eve, "recv", "--count", "1", "--timeout", "30"))
        assert [line.split("\t")[2] for line in lines] == ["kept by the relay meanwhile"]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_relay_data_is_private(tmp_path: Path) -> None:
    data = tmp_path / "relay-data"
    with relay_process(data):
        pass
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = list(data.iterdir())
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
