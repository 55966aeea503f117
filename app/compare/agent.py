"""One user of a comparison run: a process of one build's install, driven by JSON lines.

``parley compare`` starts ``<venv>/bin/python -m parley.app.compare.agent --profile DIR`` for each
user, from the venv of that user's build, so every message is encrypted and decrypted by the code
of the wheel under test (a warrant build seals its envelopes, a standard build does not), never by
the comparison's own process. Each request is one JSON object on standard input; each answer one
JSON object on standard output (``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``). The
log goes to standard error.

Requests (``op``): init, open, invite, add, send, recv, offline, online, rotate_spk, relay_record,
history, thief, status, quit. Only the app's public surface and its store are used, so the agent
runs unchanged on either build.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import nacl.pwhash
from parley.app import account
from parley.app.events import ErrorRaised, Event, MessageAdded, MessageStatusChanged
from parley.app.messaging import load_sessions
from parley.app.messenger import Messenger
from parley.app.store import contacts, prekeys
from parley.crypto.errors import CryptoError

# Where the warrant envelope keeps its epoch number (docs/warrant.md: kind 1 byte, key id 8 bytes,
# epoch 4 bytes big-endian): the "wrong epoch" modified client rewrites exactly that label.
EPOCH_FIELD = slice(9, 13)
TAMPER_MODES = ("none", "stripped", "random", "copied", "relabelled", "wrong-epoch")

PASSPHRASE = "parley compare - test account"  # noqa: S105 (throw-away accounts of a test run)
ONLINE_TIMEOUT_S = 20.0
FLUSH_TIMEOUT_S = 30.0


class _Tamper:
    """A modified client's sending hook: the build's own envelope, then altered by ``mode``."""

    def __init__(self, inner: Any, state: dict[str, Any]) -> None:
        self.inner = inner
        self.state = state

    def seal(self, message_key: bytes, header_bytes: bytes, parties: Any) -> bytes:
        mode = self.state["mode"]
        if mode == "relabelled":  # sealed honestly, but for the parties swapped
            return bytes(self.inner.seal(message_key, header_bytes, type(parties)(*parties[::-1])))
        honest = bytes(self.inner.seal(message_key, header_bytes, parties))
        previous, self.state["last"] = self.state.get("last"), honest
        if mode == "stripped":
            return b""
        if mode == "random":
            return os.urandom(len(honest))
        if mode == "copied" and previous:
            return bytes(previous)  # a real envelope, of the message before
        if mode == "wrong-epoch":
            epoch = int.from_bytes(honest[EPOCH_FIELD], "big") + 1
            return (
                honest[: EPOCH_FIELD.start] + epoch.to_bytes(4, "big") + honest[EPOCH_FIELD.stop :]
            )
        return honest

    def check(self, *args: Any) -> None:
        self.inner.check(*args)


class _Permissive:
    """A modified recipient that never checks an envelope (the second colluding client)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def seal(self, *args: Any) -> bytes:
        return bytes(self.inner.seal(*args))

    def check(self, *args: Any) -> None:
        with contextlib.suppress(CryptoError):  # what a modified client does: accept it anyway
            self.inner.check(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _ModifiedHooks:
    """Replaces a pipeline's hook provider (only in this process: the modified program)."""

    def __init__(self, inner: Any, state: dict[str, Any]) -> None:
        self.inner = inner
        self.state = state

    def for_sending(self, now: float) -> Any:
        hook = self.inner.for_sending(now)
        return None if hook is None else _Tamper(hook, self.state)

    def for_receiving(self, arrival: float) -> Any:
        hook = self.inner.for_receiving(arrival)
        return _Permissive(hook) if self.state.get("permissive") else hook


class Agent:
    """The state of one user process: its open messenger and what it has seen."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.messenger: Messenger | None = None
        self.inbox: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.statuses: dict[str, str] = {}
        self.arrived = asyncio.Event()
        self.tamper_state: dict[str, Any] = {"mode": "none", "permissive": False}

    def _on_event(self, event: Event) -> None:
        if isinstance(event, MessageAdded) and event.message.direction == "in":
            m = event.message
            item: dict[str, Any] = {"id": m.id, "sender": m.sender_name, "body": m.body}
            item["received_at"] = m.received_at
            if m.attachment is not None:
                a = m.attachment
                item["picture"] = {"mime": a.mime_type, "width": a.width, "height": a.height}
            self.inbox.append(item)
            self.arrived.set()
        elif isinstance(event, MessageStatusChanged):
            self.statuses[event.message_id] = event.status
        elif isinstance(event, ErrorRaised):
            self.errors.append(event.message)
            self.arrived.set()

    def _m(self) -> Messenger:
        if self.messenger is None:
            raise RuntimeError("the account is not open")
        return self.messenger

    async def _attach(self, messenger: Messenger, online: bool) -> None:
        self.messenger = messenger
        messenger.subscribe(self._on_event)
        if online:
            await messenger.start()
            await messenger.wait_online(ONLINE_TIMEOUT_S)

    async def init(self, req: dict[str, Any]) -> dict[str, Any]:
        messenger = await account.create_account(
            self.profile,
            req["name"],
            req["relay"],
            key_storage="passphrase",
            passphrase=PASSPHRASE,
            # Throw-away accounts: the minimum cost keeps the run short; said in the report.
            argon2_limits=(nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN),
        )
        await self._attach(messenger, online=False)
        await messenger.wait_online(ONLINE_TIMEOUT_S)
        return await self.status({})

    async def open(self, req: dict[str, Any]) -> dict[str, Any]:
        messenger = await account.open_account(self.profile, passphrase=PASSPHRASE)
        await self._attach(messenger, online=bool(req.get("online", True)))
        return await self.status({})

    async def status(self, req: dict[str, Any]) -> dict[str, Any]:
        del req
        m = self._m()
        return {
            "variant": m.build_variant,
            "name": m.display_name,
            "identity": m.identity.public.to_bytes().hex(),
            "invite": (await m.my_invite()).code,
        }

    async def add(self, req: dict[str, Any]) -> dict[str, Any]:
        contact = await self._m().add_contact(req["invite"], req.get("name"))
        return {"contact": contact.id, "name": contact.display_name}

    async def _conversation(self, name: str) -> str:
        m = self._m()
        wanted = next(c for c in await m.contacts() if c.display_name == name)
        return next(c.id for c in await m.conversations() if c.contact_id == wanted.id)

    async def send(self, req: dict[str, Any]) -> dict[str, Any]:
        m = self._m()
        conversation = await self._conversation(req["to"])
        started = time.perf_counter()
        if req.get("picture"):
            message = await m.send_picture(conversation, Path(req["picture"]))
        else:
            message = await m.send_text(conversation, req["text"])
        sealed = time.perf_counter()
        if req.get("wait", True):
            await m.flush(FLUSH_TIMEOUT_S)
        stored = time.perf_counter()
        return {
            "id": message.id,
            "encrypt_ms": (sealed - started) * 1000,
            "stored_ms": (stored - started) * 1000,
        }

    async def recv(self, req: dict[str, Any]) -> dict[str, Any]:
        """Wait until ``count`` new messages (or as many errors) arrived, or ``timeout``."""
        count, timeout = int(req["count"]), float(req.get("timeout", 20.0))
        start_inbox, start_errors = int(req.get("since", 0)), int(req.get("errors_since", 0))
        deadline = asyncio.get_running_loop().time() + timeout
        while (len(self.inbox) - start_inbox) + (len(self.errors) - start_errors) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self.arrived.wait()
        if self.messenger is not None:
            await self.messenger.flush(FLUSH_TIMEOUT_S)  # delivery receipts
        return {"messages": self.inbox[start_inbox:], "errors": self.errors[start_errors:]}

    async def offline(self, req: dict[str, Any]) -> dict[str, Any]:
        del req
        if self.messenger is not None:
            await self.messenger.close()
            self.messenger = None
        return {}

    async def online(self, req: dict[str, Any]) -> dict[str, Any]:
        return await self.open(req | {"online": True})

    async def rotate_spk(self, req: dict[str, Any]) -> dict[str, Any]:
        """Rotate the signed prekey now (the app does it weekly) and publish the new one."""
        del req
        m = self._m()
        before = prekeys.current_signed(m.store.db).key_id
        with m.store.transaction() as db:
            account.rotate_signed_prekey(db, m.identity, time.time())
        await m.publish_prekeys(timeout=ONLINE_TIMEOUT_S)
        return {"before": before, "after": prekeys.current_signed(m.store.db).key_id}

    async def relay_record(self, req: dict[str, Any]) -> dict[str, Any]:
        record = await self._m().relay_record(req["id"])
        return {"frame_hex": record.frame_hex, "metadata": [list(p) for p in record.metadata]}

    async def history(self, req: dict[str, Any]) -> dict[str, Any]:
        m = self._m()
        conversation = await self._conversation(req["peer"])
        rows = await m.load_messages(conversation, limit=int(req.get("limit", 1000)))
        return {"messages": [{"id": r.id, "dir": r.direction, "body": r.body} for r in rows]}

    async def thief(self, req: dict[str, Any]) -> dict[str, Any]:
        """A stolen, unlocked device tries to decrypt captured past payloads from ``sender``."""
        m = self._m()
        contact = contacts.find_by_identity_key(m.store.db, bytes.fromhex(req["sender"]))
        if contact is None:
            return {"results": [{"opened": False, "reason": "no such contact"}]}
        results = []
        for payload in req["payloads"]:
            result: dict[str, Any] = {"opened": False, "reason": "no session could decrypt it"}
            for session in load_sessions(m.store.db, contact.id):
                try:
                    _, plaintext = session.decrypt(bytes.fromhex(payload))
                except CryptoError as exc:
                    result["reason"] = f"{type(exc).__name__}: {exc}"
                    continue
                result = {"opened": True, "bytes": len(plaintext)}
                break
            results.append(result)
        return {"results": results}

    async def modify(self, req: dict[str, Any]) -> dict[str, Any]:
        """Become a modified client: alter the envelopes it sends, or stop checking received ones.

        Needs a build whose pipeline has message-key hooks (``pipeline.hooks``); the change lives
        only in this process, as a patched program would.
        """
        mode = str(req.get("mode", "none"))
        if mode not in TAMPER_MODES:
            raise ValueError(f"unknown mode {mode!r}")
        pipeline = self._m().pipeline
        current = getattr(pipeline, "hooks", None)
        if current is None:
            raise RuntimeError("this build's pipeline has no message-key hooks to modify")
        if not isinstance(current, _ModifiedHooks):
            pipeline.hooks = _ModifiedHooks(current, self.tamper_state)
        self.tamper_state["mode"] = mode
        self.tamper_state["permissive"] = bool(req.get("permissive", False))
        return {"mode": mode, "permissive": self.tamper_state["permissive"]}

    async def quit(self, req: dict[str, Any]) -> dict[str, Any]:
        return await self.offline(req)


async def serve(agent: Agent) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        request: dict[str, Any] = json.loads(line)
        op = str(request.get("op"))
        handler = getattr(agent, op.replace("-", "_"), None)
        try:
            if handler is None or op.startswith("_"):
                raise ValueError(f"unknown op {op!r}")
            answer: dict[str, Any] = {"ok": True, **await handler(request)}
        except Exception as exc:
            logging.getLogger("parley.compare.agent").exception("op %s failed", op)
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        if op == "quit":
            return
    await agent.offline({})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parley.app.compare.agent")
    parser.add_argument("--profile", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    asyncio.run(serve(Agent(args.profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
