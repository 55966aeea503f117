"""The desktop app's responsiveness: cold start, opening a huge conversation, a long catch-up.

Figures, printed as one JSON line last (goals from the quality bar in brackets):

- ``cold_start_s``: from starting a fresh Python process to a usable main window (shown, its
  conversation list loaded) for an existing profile, measured around a subprocess [<= 2 s].
- ``open_100k_ms``: open a conversation of ``BIG`` messages and paint its newest page: from the
  click to the first paint that shows the newest message [<= 50 ms].
- ``max_gui_stall_ms``: the longest the GUI thread went without running a 1 ms QTimer heartbeat
  while the window caught up on ``BACKLOG`` queued messages with the conversation open [<= 50 ms].
- ``catch_up_msgs_per_s``: how fast that backlog arrived in the window [>= 1000].
- ``add_contact_to_first_message_ms``: a new user's first act, through real clicks and keys: from
  the click on "Add contact" (a contact's invite on the clipboard) through pasting it, "Add
  contact", the new conversation opening with the keyboard in its composer, typing a greeting and
  Return, until the relay has accepted the message [<= 500 ms]. Both people are fresh accounts on
  an embedded relay in this process (the invite's keys must be fetched: the X3DH is included).

Everything is the real core and a real relay on 127.0.0.1; Qt runs offscreen. The relay and the
backlog's sender (Alice) run in a child process, "the other side of the network": a real user's
app holds neither a relay nor the sender's core, and inside the measured process their heaps made
every garbage collection of the window's process longer (and their CPU took the window's GIL).
The relay's rate limit and quota are lifted for the bench's pair, as bench/catchup.py does: the
defaults (100 sends/s, 5,000 queued messages) are for strangers, and a sender throttled by them
retries out of order. The backlog is sent message by message through Alice's core and the relay;
the big conversation is written straight into the encrypted store in one transaction
(``messages.add_many``), because sending 100k messages would measure the sender, not the window.
Accounts use a passphrase with Argon2id at its minimum cost (the key derivation is the store's
figure, not the window's).
PARLEY_BENCH_QUICK=1 shrinks the counts so that tests/test_bench_ui.py can check the output's shape.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import emit

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
BIG = 2_000 if QUICK else 100_000
BACKLOG = 200 if QUICK else 10_000
SEND_CHUNK = 256
WAIT_S = 600.0
READY = "PARLEY-WINDOW-READY"
RELAY_READY = "PARLEY-BACKLOG-QUEUED"
PASSPHRASE = "bench passphrase, not a secret"


def pump_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/ui.py: timed out waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.001)


async def send_backlog(messenger: Any, conversation_id: str, count: int, prefix: str) -> None:
    """Send ``count`` texts in order, waiting in chunks until the relay has stored them."""
    for first in range(0, count, SEND_CHUNK):
        for number in range(first, min(count, first + SEND_CHUNK)):
            await messenger.send_text(conversation_id, f"{prefix} {number}")
        await messenger.flush(WAIT_S)


async def introduce(base: Path, relay_url: str) -> None:
    """Alice and Bob; Alice adds Bob's invite and greets him; both closed again."""
    import nacl.pwhash
    from parley.app.account import create_account

    fast = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
    alice = await create_account(
        base / "alice", "Alice", relay_url, key_storage="passphrase", passphrase=PASSPHRASE,
        argon2_limits=fast,
    )  # fmt: skip
    bob = await create_account(
        base / "bob", "Bob", relay_url, key_storage="passphrase", passphrase=PASSPHRASE,
        argon2_limits=fast,
    )  # fmt: skip
    contact = await alice.add_contact((await bob.my_invite()).code)
    conversation = next(c for c in await alice.conversations() if c.contact_id == contact.id)
    await alice.send_text(conversation.id, "hello")
    for _ in range(3000):
        pending = await bob.requests()  # Alice is a stranger to Bob until he accepts her
        if pending:
            await bob.accept_request(pending[0].contact_id)
            break
        await asyncio.sleep(0.01)
    await alice.close()
    await bob.close()


async def other_side(base: Path) -> None:
    """The child process: the relay, Alice and Bob introduced, BACKLOG messages queued for Bob.

    Prints ``RELAY_READY`` once the relay holds the whole backlog (Bob's profile is closed), then
    keeps the relay up until the parent closes this process's stdin.
    """
    from parley.app.account import open_account
    from parley.net.relay.limits import RelayConfig
    from parley.net.relay.server import serve_relay

    config = RelayConfig(
        rate_per_second=0, quota_messages=BACKLOG + 100, quota_bytes=BACKLOG * 4096 + (1 << 20)
    )
    async with serve_relay("127.0.0.1", 0, base / "relay", config) as relay:
        await introduce(base, relay.url)
        alice = await open_account(base / "alice", passphrase=PASSPHRASE)
        await alice.start()
        conversation_id = str((await alice.conversations())[0].id)
        await send_backlog(alice, conversation_id, BACKLOG, "backlog")
        await alice.close()
        print(RELAY_READY, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def start_other_side(base: Path) -> subprocess.Popen[str]:
    """Start the child of ``other_side`` and wait until the backlog is queued on its relay."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--other-side", str(base)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if child.stdout is None:
        raise SystemExit("bench/ui.py: no pipe to the relay's process")
    for line in child.stdout:
        if line.strip() == RELAY_READY:
            return child
    child.wait()
    raise SystemExit(f"bench/ui.py: the relay's process failed ({child.returncode})")


def stop_other_side(child: subprocess.Popen[str]) -> None:
    """Close the child's stdin (its signal to stop the relay) and wait for it."""
    if child.stdin is not None:
        child.stdin.close()
    try:
        child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def seed_conversation(profile: Path, conversation_id: str, count: int) -> None:
    """Write ``count`` messages into the closed profile's store in one transaction."""
    from parley.app.store import conversations, messages
    from parley.app.store.keysource import PassphraseSource
    from parley.app.store.profile import Store

    store = Store.open(profile, PassphraseSource(PASSPHRASE))
    now = time.time() - count
    batch = [
        messages.NewMessage(
            id=os.urandom(messages.MESSAGE_ID_BYTES),
            conversation_id=conversation_id,
            direction="in" if n % 3 else "out",
            sender="Bob" if n % 3 else "Alice",
            body=f"big {n}" + " with some more words to wrap" * (n % 4),
            sent_at=now + n,
            received_at=now + n,
            status="read",
        )
        for n in range(count)
    ]
    with store.transaction() as db:
        messages.add_many(db, batch)
        conversations.touch(db, conversation_id, now + count)
    store.close()


def open_messenger(runtime: Any, profile: Path) -> Any:
    from parley.app.account import open_account

    return runtime.submit(open_account(profile, passphrase=PASSPHRASE)).result(timeout=WAIT_S)


def first_conversation(runtime: Any, messenger: Any) -> str:
    conversations = runtime.submit(messenger.conversations()).result(timeout=WAIT_S)
    return str(conversations[0].id)


def measure_catch_up(runtime: Any, bob_profile: Path) -> tuple[float, float]:
    """Bob's window opens while the relay holds BACKLOG messages for him, and catches up."""
    from parley.ui.session import AccountSession
    from PySide6.QtCore import QTimer

    session = AccountSession(runtime, bob_profile)
    bob = open_messenger(runtime, bob_profile)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(beat)
    session.adopt(bob)
    window = session.window
    assert window is not None
    pump_until(lambda: window.conversations.rowCount() > 0, "Bob's conversation list")
    window.list.setCurrentIndex(window.conversations.index(0))
    started = time.perf_counter()
    last[0] = started
    heartbeat.start()
    final = f"backlog {BACKLOG - 1}"

    def caught_up() -> bool:
        conversation = window.conversations.conversation_at(0)
        return conversation is not None and conversation.last_message_preview == final

    pump_until(caught_up, "the catch-up")
    elapsed = time.perf_counter() - started
    heartbeat.stop()
    window.closed.disconnect()
    window.close()
    session.close()
    stall_ms = max(gaps, default=0.0) * 1000
    return stall_ms, BACKLOG / elapsed


def measure_open_big(runtime: Any, profile: Path) -> float:
    """Open a conversation of BIG messages; time until its newest message has been painted."""
    from parley.ui.bridge import CoreBridge
    from parley.ui.main_window import MainWindow
    from PySide6.QtCore import QEvent, QObject

    messenger = open_messenger(runtime, profile)
    conversation_id = first_conversation(runtime, messenger)
    runtime.submit(messenger.close()).result(timeout=WAIT_S)
    seed_conversation(profile, conversation_id, BIG)
    messenger = open_messenger(runtime, profile)
    window = MainWindow(CoreBridge(runtime, messenger))
    window.show()
    pump_until(lambda: window.conversations.rowCount() > 0, "the conversation list")
    painted = [0.0]

    class PaintWatch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint and window.pane.model.rowCount() > 0:
                painted[0] = time.perf_counter()
            return False

    watch = PaintWatch()
    window.pane.view.viewport().installEventFilter(watch)
    started = time.perf_counter()
    window.list.setCurrentIndex(window.conversations.index(0))
    pump_until(lambda: painted[0] > 0, "the first paint")
    elapsed_ms = (painted[0] - started) * 1000
    newest = window.pane.model.message_at(window.pane.model.rowCount() - 1)
    if newest is None or not newest.body.startswith(f"big {BIG - 1}"):
        raise SystemExit("bench/ui.py: the newest message was not the one painted")
    window.close()
    runtime.submit(messenger.close()).result(timeout=WAIT_S)
    return elapsed_ms


def measure_add_contact(runtime: Any, base: Path) -> float:
    """Dana adds Eve from the invite Eve copied, and writes to her: all by clicks and keys."""
    import nacl.pwhash
    from parley.app.account import create_account
    from parley.ui.embedded_relay import EmbeddedRelay
    from parley.ui.invite_dialogs import AddContactDialog, InviteDialog
    from parley.ui.session import AccountSession
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    relay = EmbeddedRelay(runtime, base / "first-relay")
    relay.start_ephemeral()
    fast = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
    sessions = []
    for name in ("Dana", "Eve"):
        messenger = runtime.submit(
            create_account(
                base / name.lower(), name, relay.url or "", key_storage="passphrase",
                passphrase=PASSPHRASE, argon2_limits=fast,
            )
        ).result(timeout=WAIT_S)  # fmt: skip
        session = AccountSession(runtime, base / name.lower())
        session.adopt(messenger, online=True)
        sessions.append(session)
    dana, eve = (s.window for s in sessions)
    assert dana is not None and eve is not None

    def click(widget: Any) -> None:
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton)

    def shown(kind: type[Any]) -> Any:
        found: list[Any] = []

        def visible() -> bool:
            found[:] = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind)
                        and w.isVisible()]  # fmt: skip
            return bool(found)

        pump_until(visible, kind.__name__)
        return found[-1]

    click(eve.invite_button)
    invite = shown(InviteDialog)
    pump_until(invite.copy.isEnabled, "Eve's invite")
    click(invite.copy)
    QTest.keyClick(invite, Qt.Key.Key_Escape)
    assert QGuiApplication.clipboard().text()

    started = time.perf_counter()
    click(dana.add_button)
    add = shown(AddContactDialog)
    click(add.invite)
    QTest.keyClick(add.invite, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    click(add.add)
    pump_until(lambda: dana.focusWidget() is dana.pane.composer.edit
               and dana.pane.conversation is not None, "the new conversation")  # fmt: skip
    QTest.keyClicks(dana.pane.composer.edit, "Hello Eve")
    QTest.keyClick(dana.pane.composer.edit, Qt.Key.Key_Return)

    def accepted() -> bool:
        model = dana.pane.model
        last = model.message_at(model.rowCount() - 1)
        return (
            last is not None
            and last.body == "Hello Eve"
            and last.status in ("sent", "delivered", "read")
        )

    pump_until(accepted, "the first message accepted by the relay")
    elapsed_ms = (time.perf_counter() - started) * 1000
    QGuiApplication.clipboard().clear()
    for session in sessions:
        if session.window is not None:
            session.window.closed.disconnect()
            session.window.close()
        session.close()
    relay.stop()
    return elapsed_ms


def measure_cold_start(profile: Path) -> float:
    """A fresh interpreter opens the profile; timed until the child says its window is usable."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--cold-start-child", str(profile)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == READY:
            elapsed = time.perf_counter() - started
            break
    else:
        child.wait()
        raise SystemExit(f"bench/ui.py: the cold-start child failed ({child.returncode})")
    child.wait(timeout=WAIT_S)
    return elapsed


def cold_start_child(profile: Path) -> int:
    """Runs in the subprocess: what `parley --profile` does, until the window is usable."""
    from parley.app.runtime import CoreRuntime
    from parley.ui.app_setup import make_application
    from parley.ui.onboarding import UnlockDialog
    from parley.ui.session import AccountSession

    make_application()
    runtime = CoreRuntime()
    runtime.start()
    session = AccountSession(runtime, profile)
    session.start()
    pump_until(lambda: isinstance(session.dialog, UnlockDialog), "the unlock dialog", timeout=120)
    dialog = session.dialog
    assert isinstance(dialog, UnlockDialog)
    dialog.passphrase.setText(PASSPHRASE)
    dialog.unlock.click()
    pump_until(lambda: session.window is not None, "the window", timeout=120)
    window = session.window
    assert window is not None
    pump_until(lambda: window.conversations.rowCount() > 0, "the list", timeout=120)
    print(READY, flush=True)
    window.closed.disconnect()
    window.close()
    session.close()
    runtime.stop()
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--cold-start-child"]:
        return cold_start_child(Path(sys.argv[2]))
    if sys.argv[1:2] == ["--other-side"]:
        asyncio.run(other_side(Path(sys.argv[2])))
        return 0
    from parley.app.runtime import CoreRuntime
    from parley.ui.app_setup import make_application

    make_application()
    base = Path(tempfile.mkdtemp(prefix="parley-bench-ui-"))
    runtime = CoreRuntime()
    runtime.start()
    try:
        other = start_other_side(base)
        try:
            stall_ms, rate = measure_catch_up(runtime, base / "bob")
        finally:
            stop_other_side(other)
        open_ms = measure_open_big(runtime, base / "alice")
        cold_s = measure_cold_start(base / "bob")
        first_message_ms = measure_add_contact(runtime, base)
    finally:
        runtime.stop()
        shutil.rmtree(base, ignore_errors=True)
    emit(
        {
            "cold_start_s": round(cold_s, 3),
            "open_100k_ms": round(open_ms, 2),
            "open_messages": BIG,
            "max_gui_stall_ms": round(stall_ms, 2),
            "catch_up_messages": BACKLOG,
            "catch_up_msgs_per_s": round(rate, 1),
            "add_contact_to_first_message_ms": round(first_message_ms, 1),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
