"""``parley cli``: the messenger without windows, for scripts and tests.

Usage: ``parley cli --profile DIR COMMAND ...`` (``--profile`` defaults to the platform's profile
folder). Commands: init, invite, add, send (a TEXT, or ``--picture FILE`` with an optional
``--caption TEXT``; ``--reply-to MESSAGE-ID`` quotes a message), react
(``react MESSAGE-ID EMOJI``, ``react MESSAGE-ID --remove``), recv, list, search, safety-number,
verify, accept-key, key-storage, requests (``requests accept|delete|block ID``), block
(``block CONTACT``), blocked, unblock (``unblock ID``), merge, succession (``succession sign
NEW-INVITE-OR-KEY`` on the old profile, ``succession adopt STATEMENT`` on the new one).

Message requests: a first message from someone who is not a contact is a request. ``recv`` prints
its messages with ``request`` in the sender column (the claimed name in quotes, marked unverified,
and the identity's fingerprint; ``"request": true`` in JSON); nothing, not even a delivery receipt,
goes back until ``requests accept ID``. A message that cannot be shown is reported on standard
error as "a message from X could not be shown: REASON".

Blocking: ``block CONTACT`` blocks an accepted contact (named as ``send`` and ``safety-number``
name one: its id, a prefix of the id, or its name), as the app's Message > Block contact… does:
they are not told, nothing they send is shown, their conversation leaves ``list``. It prints one
line, ``Blocked LABEL; undo with `parley cli unblock ID`.`` (``--json``: the object ``blocked
--json`` prints for it). A message request is blocked with ``requests block ID`` instead; naming
one, or someone already blocked, is refused (exit code 6) and blocks nothing. ``blocked`` lists
the blocked identities (id, the name you knew them by or their claimed name with the
fingerprint, what unblocking gives back, how many deliveries were dropped); ``unblock ID`` (an
id or a unique prefix, as ``requests`` takes) puts one back where it was blocked from: a request
is a request again, a contact the contact it was (same key, same verification). What it sent
while blocked was dropped unread and stays gone.

A passphrase is read from ``PARLEY_PASSPHRASE`` or, with
``--passphrase-stdin``, from the first line of standard input; it is never a command-line argument
(other users can read those in the process list).

Exit codes (stable; scripts may rely on them):

====  ==========================================================================
0     success
1     an unexpected internal error (a bug: the message says what failed)
2     usage: unknown command, missing or bad arguments
3     locked: wrong passphrase, no passphrase given, or the keyring lacks the key
4     not found: no account in the profile, or no such contact
5     network: the relay cannot be reached, or refused the request
6     rejected input: a bad invite, a file that is not a picture, an existing profile,
      ``block`` of a message request or of someone already blocked
7     blocked: the contact's verified safety number changed (run accept-key)
8     storage: the encrypted store is damaged
9     timeout: ``recv --count N`` received fewer than N messages in time
10    disk full: nothing was saved (and nothing lost); free some space, run it again
====  ==========================================================================

Messages for people go to standard error, one sentence each and never a traceback; results go to
standard output, one per line (``--json`` makes ``recv``, ``list`` and ``search`` print one JSON
object per line). Plain output shows other people's text (names, messages, file names) with
control characters escaped (app/terminal.py), so a contact cannot drive the terminal or forge a
line or a field; ``--json`` output is exact. Log records of the layers below are not shown unless
``PARLEY_LOG`` names a level (``debug``, ``info``, ``warning``), for developers.

Replies and reactions: a reply's line starts with what it quotes, ``[reply to AUTHOR: "TEXT"]``
(``AUTHOR (not in your history)`` when this device lacks the original, so the text is only the
sender's claim; docs/protocol.md 8.4); ``--json`` adds ``"reply"`` and ``"reactions"``. While
``recv`` runs, a contact's reaction prints a line ``[reaction EMOJI to "TEXT"]`` (or ``[reaction
removed from "TEXT"]``; in JSON an object with ``"reaction"``); reactions are not messages and
are not counted by ``--count``. Message ids are in ``--json`` output and printed by ``send``.

``recv`` first prints the received messages that no ``recv`` has printed yet (those that arrived
while ``send`` or ``add`` were online, or while a ``recv`` was interrupted), then waits for new
ones. It remembers the newest one it printed in the profile (setting ``cli.recv_seen_seq``).
With ``--count N`` it waits (at most 30 s) for the delivery receipts of what it received to
reach the relay before it exits, so the senders see "delivered".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

from parley.app import account
from parley.app import invite as invite_format
from parley.app.contacts import message_views
from parley.app.content import excerpt
from parley.app.errors import (
    AccountLocked,
    AppError,
    AttachmentRejected,
    ContactExists,
    ContactNotFound,
    ContentError,
    DiskFull,
    InvalidInvite,
    NetworkError,
    NotBlocked,
    ProfileExists,
    ProfileMissing,
    SendBlocked,
    StorageError,
    from_store,
)
from parley.app.events import (
    BlockedView,
    ContactBuildChanged,
    ContactView,
    ErrorRaised,
    Event,
    MessageAdded,
    MessageRefused,
    MessageView,
    ReactionChanged,
    ReactionView,
    RequestView,
)
from parley.app.messenger import Messenger
from parley.app.runtime import CoreRuntime
from parley.app.store import messages as message_repo
from parley.app.store import settings as settings_repo
from parley.app.store.errors import StoreError
from parley.app.terminal import printable

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_NOT_FOUND = 4
EXIT_NETWORK = 5
EXIT_REJECTED = 6
EXIT_BLOCKED = 7
EXIT_STORAGE = 8
EXIT_TIMEOUT = 9
EXIT_DISK_FULL = 10

_EXIT_OF: list[tuple[type[AppError], int]] = [
    (AccountLocked, EXIT_LOCKED),
    (ProfileMissing, EXIT_NOT_FOUND),
    (ContactNotFound, EXIT_NOT_FOUND),
    (NetworkError, EXIT_NETWORK),
    (InvalidInvite, EXIT_REJECTED),
    (AttachmentRejected, EXIT_REJECTED),
    (ContactExists, EXIT_REJECTED),
    (NotBlocked, EXIT_REJECTED),
    (ProfileExists, EXIT_REJECTED),
    (ContentError, EXIT_REJECTED),
    (SendBlocked, EXIT_BLOCKED),
    (DiskFull, EXIT_DISK_FULL),
    (StorageError, EXIT_STORAGE),
]
ONLINE_TIMEOUT_S = 20.0
SEND_TIMEOUT_S = 30.0
RECEIPT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 7 * 24 * 3600.0
PASSPHRASE_ENV = "PARLEY_PASSPHRASE"  # noqa: S105 (the name of a variable)
LOG_ENV = "PARLEY_LOG"
SEEN_SETTING = "cli.recv_seen_seq"
# Arguments that are text (sent, stored or matched), which must be UTF-8; paths may be anything.
TEXT_ARGUMENTS = (
    "name",
    "relay",
    "invite",
    "contact",
    "text",
    "caption",
    "query",
    "emoji",
    "blocked_id",
)


class CliFailure(Exception):
    """A failure of the command line itself, with its exit code."""

    code = EXIT_INTERNAL


class UsageError(CliFailure):
    """Bad command-line use (exit code 2)."""

    code = EXIT_USAGE


class NotBlockable(CliFailure):
    """``block`` was given a request or an identity already blocked (exit code 6)."""

    code = EXIT_REJECTED


class RecvTimeout(CliFailure):
    """``recv`` got fewer messages than asked for (exit code 9)."""

    code = EXIT_TIMEOUT


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("--count must be 1 or more")
    return value


def _seconds(text: str) -> float:
    """A timeout argument: a finite number of seconds from 0 to a week (not nan, inf, -1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(
            f"a timeout is a number of seconds from 0 to {MAX_TIMEOUT_S:g}, not {text}"
        )
    return value


def _check_text_arguments(args: argparse.Namespace) -> None:
    """Refuse text that is not UTF-8 (Python hands undecodable bytes over as surrogates)."""
    for name in TEXT_ARGUMENTS:
        value = getattr(args, name, None)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError(f"the {name} given is not valid UTF-8 text") from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="parley cli", description="Parley without windows.")
    parser.add_argument("--profile", type=Path, help="the profile folder (default: per platform)")
    parser.add_argument(
        "--passphrase-stdin", action="store_true", help="read the passphrase from standard input"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    init = commands.add_parser("init", help="create an account and publish its keys")
    init.add_argument("--name", required=True, help="your display name")
    init.add_argument("--relay", required=True, help="the relay URL, ws://host:port")
    init.add_argument("--keyring", action="store_true", help="keep the key in the system keyring")
    init.add_argument(
        "--timeout", type=_seconds, default=20.0, help="seconds to wait for the relay (default 20)"
    )
    commands.add_parser("invite", help="print my invite code and link")
    add = commands.add_parser("add", help="add a contact from an invite code or link")
    add.add_argument("invite")
    add.add_argument("--name", help="what to call the contact (default: their chosen name)")
    send = commands.add_parser("send", help="send a text or a picture")
    send.add_argument("contact", help="contact name or id")
    send.add_argument("text", nargs="?", help="the message text")
    send.add_argument("--picture", type=Path, help="a picture file to send instead of text")
    send.add_argument("--caption", help="the picture's caption (only with --picture)")
    send.add_argument("--reply-to", metavar="MESSAGE-ID", help="quote this message (its id)")
    react = commands.add_parser("react", help="put an emoji on a message, or take yours back")
    react.add_argument("message", metavar="MESSAGE-ID", help="the message's id")
    react.add_argument("emoji", nargs="?", help="one emoji (replaces your earlier reaction)")
    react.add_argument("--remove", action="store_true", help="take your reaction back")
    recv = commands.add_parser("recv", help="wait for messages and print them")
    recv.add_argument("--timeout", type=_seconds, default=10.0, help="seconds to wait (default 10)")
    recv.add_argument("--count", type=_count, help="stop after this many messages")
    recv.add_argument("--json", action="store_true", help="one JSON object per line")
    listing = commands.add_parser("list", help="list contacts and their conversations")
    listing.add_argument("--json", action="store_true")
    search = commands.add_parser("search", help="search all messages, newest first")
    search.add_argument("query")
    search.add_argument("--json", action="store_true")
    for name, text in (
        ("safety-number", "print the safety number shared with a contact"),
        ("verify", "mark a contact verified (after comparing safety numbers)"),
        ("accept-key", "accept a contact's changed identity key"),
    ):
        commands.add_parser(name, help=text).add_argument("contact")
    commands.add_parser("key-storage", help="say where the database key is kept")
    requests = commands.add_parser("requests", help="list message requests, or act on one")
    requests.add_argument("action", nargs="?", choices=("accept", "delete", "block"))
    requests.add_argument("request", nargs="?", help="the request's id (or a prefix of it)")
    requests.add_argument("--name", help="with accept: what to call the new contact")
    requests.add_argument("--json", action="store_true")
    _blocking_parsers(commands)
    merge = commands.add_parser(
        "merge", help="merge a verified request or contact (a new key) into an existing contact"
    )
    merge.add_argument("source", help="the request or contact with the new identity key")
    merge.add_argument("--into", required=True, help="the existing contact it replaces")
    succession = commands.add_parser("succession", help="move contacts to a new identity key")
    succession.add_argument("action", choices=("sign", "adopt"))
    succession.add_argument(
        "value", help="sign: the NEW account's invite or identity key; adopt: the statement"
    )
    return parser


def _blocking_parsers(commands: argparse._SubParsersAction[_Parser]) -> None:
    """block CONTACT, blocked, unblock ID."""
    block = commands.add_parser(
        "block",
        help="block a contact (a request: requests block ID); undo with unblock ID",
        description="Block a contact: they are not told, and nothing they send is shown until "
        "`parley cli unblock ID` (the id `parley cli blocked` lists). A message request is "
        "blocked with `parley cli requests block ID`.",
    )
    block.add_argument("contact", help="contact name or id (or a prefix of the id)")
    block.add_argument("--json", action="store_true", help="print the blocked entry as JSON")
    blocked = commands.add_parser("blocked", help="list the identities you blocked")
    blocked.add_argument("--json", action="store_true")
    unblock = commands.add_parser(
        "unblock", help="unblock an identity: back to a request, or the contact it was"
    )
    unblock.add_argument("blocked_id", metavar="ID", help="its id (or a prefix of it)")


def _passphrase(args: argparse.Namespace, stdin: TextIO) -> str | None:
    if args.passphrase_stdin:
        line = stdin.readline().rstrip("\r\n")
        if not line:
            raise UsageError("--passphrase-stdin was given but standard input was empty")
        return line
    return os.environ.get(PASSPHRASE_ENV) or None


def _message_json(message: MessageView) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "sender": message.sender_name,
        "body": message.body,
        "sent_at": message.sent_at,
        "status": message.status,
    }
    if message.reply is not None:
        q = message.reply
        data["reply"] = {
            "message_id": q.message_id,
            "author": q.author,
            "text": q.text,
            "found": q.found,
            "picture": q.picture,
        }
    if message.reactions:
        data["reactions"] = [
            {"emoji": r.emoji, "count": r.count, "mine": r.mine} for r in message.reactions
        ]
    if message.attachment is not None:
        a = message.attachment
        data["picture"] = {
            "id": a.id,
            "mime_type": a.mime_type,
            "width": a.width,
            "height": a.height,
            "file_name": a.file_name,
        }
    return data


def _request_json(request: RequestView) -> dict[str, Any]:
    return {
        "request_id": request.contact_id,
        "conversation_id": request.conversation_id,
        "claimed_name": request.claimed_name,
        "fingerprint": request.fingerprint,
        "identity_key": request.identity_key_hex,
        "messages": request.message_count,
        "preview": request.preview,
        "claims_to_replace": (
            None if request.claims_to_replace is None else request.claims_to_replace.id
        ),
    }


def _blocked_json(blocked: BlockedView) -> dict[str, Any]:
    return {
        "contact_id": blocked.contact_id,
        "label": blocked.label,
        "fingerprint": blocked.fingerprint,
        "identity_key": blocked.identity_key_hex,
        "unblocks_to": blocked.was,
        "dropped": blocked.dropped,
    }


_WithId = TypeVar("_WithId", RequestView, BlockedView)


def _one_by_id_prefix(
    everyone: list[_WithId], prefix: str, none_or_many: tuple[str, str], rest: str
) -> _WithId:
    """The one entry whose id starts with ``prefix`` (any case), as ``requests`` and ``unblock``
    take an id; else ContactNotFound: "There is " + the first or second of ``none_or_many`` +
    ``rest``."""
    found = [e for e in everyone if prefix and e.contact_id.startswith(prefix.lower())]
    if len(found) != 1:
        raise ContactNotFound(f"There is {none_or_many[0] if not found else none_or_many[1]}{rest}")
    return found[0]


def _named(everyone: list[ContactView], wanted: str) -> list[ContactView]:
    """Those of ``everyone`` that ``wanted`` names: its exact id or name if any has it, else
    the name in any case or a prefix of the id (the one rule every CONTACT argument follows)."""
    exact = [c for c in everyone if wanted in (c.id, c.display_name)]
    return exact or [
        c
        for c in everyone
        if c.display_name.casefold() == wanted.casefold() or c.id.startswith(wanted.lower())
    ]


def _message_line(message: MessageView, request: RequestView | None = None) -> str:
    """One tab-separated line; every field a peer chose is made printable (app/terminal.py)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(message.sent_at))
    body = printable(message.body)
    if message.attachment is not None:
        body = f"[picture {printable(message.attachment.file_name)}] {body}".rstrip()
    if message.reply is not None:
        q = message.reply
        author = q.author if q.found else f"{q.author} (not in your history)"
        text = "[picture]" if q.picture and not q.text else q.text
        body = f'[reply to {printable(author)}: "{printable(text)}"] {body}'.rstrip()
    sender = message.sender_name if request is None else f"request {request.label}"
    return f"{stamp}\t{printable(sender)}\t{body}"


def _reactions_text(reactions: tuple[ReactionView, ...]) -> str:
    """``❤️ 2 (yours), 👍 1``: each emoji, how many chose it, and whether you did."""
    return ", ".join(
        f"{printable(r.emoji)} {r.count}{' (yours)' if r.mine else ''}" for r in reactions
    )


def _reaction_line(event: ReactionChanged) -> str:
    """One line for a contact's reaction, fields made printable like a message's."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
    message = event.message
    shown = "[picture]" if message.attachment is not None and not message.body else message.body
    what = f'"{printable(excerpt(shown))}"'
    if event.emoji is None:
        change = f"[reaction removed from {what}]"
    else:
        change = f"[reaction {printable(event.emoji)} to {what}]"
    return f"{stamp}\t{printable(event.by)}\t{change}"


def _reaction_json(event: ReactionChanged) -> dict[str, Any]:
    return {
        "reaction": event.emoji,
        "by": event.by,
        "message_id": event.message.id,
        "conversation_id": event.message.conversation_id,
        "reactions": _message_json(event.message).get("reactions", []),
    }


class Cli:
    """One command's run; ``out`` receives results, ``err`` messages for people."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.stdin = stdin
        self.profile: Path = args.profile or account.default_profile_dir()

    def print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def run(self) -> int:
        if self.args.command == "init":
            return await self.init()
        messenger = await account.open_account(self.profile, passphrase=self._maybe_passphrase())
        try:
            return await self.dispatch(messenger)
        finally:
            await messenger.close()

    def _maybe_passphrase(self) -> str | None:
        if account.profile_state(self.profile) != "passphrase":
            return None
        return _passphrase(self.args, self.stdin)

    async def init(self) -> int:
        kind: account.KeyStorage = "keyring" if self.args.keyring else "passphrase"
        passphrase = None if self.args.keyring else _passphrase(self.args, self.stdin)
        if kind == "passphrase" and passphrase is None:
            raise UsageError(f"give a passphrase with --passphrase-stdin or {PASSPHRASE_ENV}")
        messenger = await account.create_account(
            self.profile,
            self.args.name,
            self.args.relay,
            key_storage=kind,
            passphrase=passphrase,
            publish_timeout=self.args.timeout,
        )
        try:
            invite = await messenger.my_invite()
            print(f"Created {messenger.display_name}'s account in {self.profile}.", file=self.err)
            self.print(invite.code)
        finally:
            await messenger.close()
        return EXIT_OK

    async def dispatch(self, messenger: Messenger) -> int:
        command = self.args.command
        if command == "invite":
            invite = await messenger.my_invite()
            self.print(invite.code)
            self.print(invite.link)
        elif command == "list":
            await self.listing(messenger)
        elif command == "search":
            for hit in await messenger.search(self.args.query):
                if self.args.json:
                    self.print(json.dumps(_message_json(hit.message) | {"snippet": hit.snippet}))
                else:
                    title = printable(hit.conversation_title)
                    self.print(f"{title}\t{_message_line(hit.message)}")
        elif command == "key-storage":
            info = await messenger.key_storage()
            self.print(f"{info.kind}\t{info.backend}\t{info.description}")
        elif command in ("requests", "merge", "succession", "block", "blocked", "unblock"):
            await self.strangers(messenger)
        elif command in ("safety-number", "verify", "accept-key"):
            contact = await self.contact(messenger, self.args.contact, requests=True)
            if command == "verify":
                await messenger.set_verified(contact.id, True)
            elif command == "accept-key":
                await messenger.accept_key_change(contact.id)
            number = await messenger.safety_number(contact.id)
            digits = number.digits
            self.print(" ".join(digits[i : i + 5] for i in range(0, len(digits), 5)))
        else:
            return await self.online(messenger)
        return EXIT_OK

    async def listing(self, messenger: Messenger) -> None:
        by_contact = {c.contact_id: c for c in await messenger.conversations()}
        for contact in await messenger.contacts():
            conversation = by_contact.get(contact.id)
            unread = conversation.unread if conversation is not None else 0
            trust = "verified" if contact.verified else "unverified"
            if contact.key_changed:
                trust += ",key-changed"
            if contact.build_variant == "warrant":
                trust += ",warrant-build"  # visible in every listing, never hidden
            if self.args.json:
                self.print(
                    json.dumps(
                        {
                            "contact_id": contact.id,
                            "name": contact.display_name,
                            "identity_key": contact.identity_key_hex,
                            "verified": contact.verified,
                            "key_changed": contact.key_changed,
                            "build_variant": contact.build_variant,
                            "authority_key_id": conversation.authority_key_id
                            if conversation
                            else "",
                            "conversation_id": conversation.id if conversation else None,
                            "unread": unread,
                        }
                    )
                )
            else:
                name = printable(contact.display_name)
                self.print(f"{contact.id}\t{name}\t{trust}\t{unread} unread")

    async def strangers(self, messenger: Messenger) -> None:
        """requests, merge and succession: who may speak as whom."""
        if self.args.command == "requests":
            await self.requests(messenger)
        elif self.args.command in ("block", "blocked", "unblock"):
            await self.blocking(messenger)
        elif self.args.command == "merge":
            source = await self.contact(messenger, self.args.source, requests=True)
            into = await self.contact(messenger, self.args.into)
            merged = await messenger.merge_contact(source.id, into.id)
            self.print(f"{merged.id}\t{merged.display_name}")
        else:
            await self.succession(messenger)

    async def requests(self, messenger: Messenger) -> None:
        action = self.args.action
        if action is None:
            for request in await messenger.requests():
                if self.args.json:
                    self.print(json.dumps(_request_json(request)))
                else:
                    self.print(
                        f"{request.contact_id}\t{printable(request.label)}\t"
                        f"{request.message_count} messages\t{printable(request.preview)}"
                    )
            return
        if self.args.request is None:
            raise UsageError(f"requests {action} needs the request's id (see `requests`)")
        request = await self.request(messenger, self.args.request)
        if action == "accept":
            contact = await messenger.accept_request(request.contact_id, self.args.name)
            await messenger.start()  # the receipts held back while it was a request
            with contextlib.suppress(AppError):
                await messenger.wait_online(ONLINE_TIMEOUT_S)
                await messenger.flush(SEND_TIMEOUT_S)
            self.print(f"{contact.id}\t{contact.display_name}")
        elif action == "delete":
            await messenger.delete_request(request.contact_id)
        else:
            await messenger.block(request.contact_id)

    async def blocking(self, messenger: Messenger) -> None:
        """``block CONTACT`` blocks a contact, ``blocked`` lists, ``unblock ID`` puts one back
        where it was blocked from."""
        if self.args.command == "block":
            await self.block(messenger)
            return
        everyone = await messenger.blocked()
        if self.args.command == "blocked":
            for blocked in everyone:
                if self.args.json:
                    self.print(json.dumps(_blocked_json(blocked)))
                else:
                    back = "contact" if blocked.was == "accepted" else "request"
                    self.print(
                        f"{blocked.contact_id}\t{printable(blocked.label)}\t"
                        f"unblocks to {back}\t{blocked.dropped} dropped"
                    )
            return
        blocked = _one_by_id_prefix(
            everyone,
            self.args.blocked_id.strip(),
            ("nobody blocked", "more than one blocked identity"),
            f" with the id {printable(self.args.blocked_id)!r}; see `parley cli blocked`.",
        )
        view = await messenger.unblock(blocked.contact_id)
        if blocked.was == "accepted":
            print(f"{printable(view.display_name)} is a contact again.", file=self.err)
        else:
            print("It is a message request again; see `parley cli requests`.", file=self.err)
        self.print(f"{view.id}\t{printable(blocked.label)}")

    async def block(self, messenger: Messenger) -> None:
        """Block an accepted contact, named as ``send`` names one, through the app's own call
        (``Messenger.block``, as Message > Block contact… does). A request or an identity
        already blocked is refused (``Messenger.block`` would quietly do nothing for the
        latter): requests have ``requests block``, blocked identities ``unblock``."""
        wanted = self.args.contact
        if wanted.strip() and not _named(await messenger.contacts(), wanted):
            await self.not_blockable(messenger, wanted)
        contact = await self.contact(messenger)
        await messenger.block(contact.id)
        [blocked] = [b for b in await messenger.blocked() if b.contact_id == contact.id]
        if self.args.json:
            self.print(json.dumps(_blocked_json(blocked)))
        else:
            self.print(
                f"Blocked {printable(blocked.label)}; "
                f"undo with `parley cli unblock {blocked.contact_id}`."
            )

    async def not_blockable(self, messenger: Messenger, wanted: str) -> None:
        """``wanted`` names no contact: if it names exactly one request or blocked identity
        instead, say which and what to run (else the caller's usual "no contact" error)."""
        blocked = {b.contact_id: b for b in await messenger.blocked()}
        requests = {r.contact_id: r for r in await messenger.requests()}
        others = [await messenger.contact(i) for i in (*blocked, *requests)]
        found = _named(others, wanted)
        if len(found) != 1:
            return
        if found[0].id in blocked:
            entry = blocked[found[0].id]
            raise NotBlockable(
                f"{entry.label} is already blocked; "
                f"`parley cli unblock {entry.contact_id}` unblocks it."
            )
        request = requests[found[0].id]
        raise NotBlockable(
            f"{request.label} is a message request, not a contact; "
            f"`parley cli requests block {request.contact_id}` blocks it."
        )

    async def request(self, messenger: Messenger, wanted: str) -> RequestView:
        return _one_by_id_prefix(
            await messenger.requests(),
            wanted,
            ("no message request", "more than one message request"),
            f" {wanted!r}; see `parley cli requests`.",
        )

    async def succession(self, messenger: Messenger) -> None:
        if self.args.action == "adopt":
            await messenger.adopt_succession(self.args.value)
            print("Your messages now carry this succession statement.", file=self.err)
            return
        value = self.args.value.strip()
        try:
            if len(value) == 64:
                key = bytes.fromhex(value)
            else:
                key = invite_format.parse(value).identity_key
        except ValueError as exc:
            raise InvalidInvite("Give the new account's invite or identity key (hex).") from exc
        self.print(await messenger.sign_succession(key))

    async def contact(
        self, messenger: Messenger, wanted: str | None = None, *, requests: bool = False
    ) -> ContactView:
        wanted = self.args.contact if wanted is None else wanted
        if not wanted.strip():
            # An empty string is a prefix of every id: it would pick the only contact.
            raise UsageError("give a contact's name or id (an empty name matches nobody)")
        everyone = await messenger.contacts()
        if requests:
            everyone += [await messenger.contact(r.contact_id) for r in await messenger.requests()]
        matches = _named(everyone, wanted)
        if len(matches) != 1:
            reason = "no contact" if not matches else "more than one contact"
            raise ContactNotFound(
                f"There is {reason} called {printable(wanted)!r}; see `parley cli list`."
            )
        return matches[0]

    async def online(self, messenger: Messenger) -> int:
        """Commands that need the relay: add, send, recv."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        received: list[MessageView] = []
        printed = 0
        if self.args.command == "recv":  # first what arrived since a recv last printed
            received += self.unseen(messenger)
            printed = await self.print_new(messenger, received, 0)
        arrived = asyncio.Event()
        failures: list[StorageError] = []

        def on_event(event: Event) -> None:
            if isinstance(event, ReactionChanged) and not event.mine:
                if self.args.command == "recv":
                    reaction = _reaction_json(event) if self.args.json else None
                    self.print(json.dumps(reaction) if reaction else _reaction_line(event))
            elif isinstance(event, MessageAdded) and event.message.direction == "in":
                if event.message.kind == "message":
                    received.append(event.message)
                    arrived.set()
            elif isinstance(event, MessageRefused):
                _say(self.err, f"{event.text[0].lower()}{event.text[1:]}")
            elif isinstance(event, ErrorRaised):
                _say(self.err, event.message)
                if isinstance(event.error, StorageError):
                    failures.append(event.error)  # a damaged store or a full disk: stop
                    arrived.set()
            elif isinstance(event, ContactBuildChanged):  # no silent escrow: said at once
                _say(self.err, event.explanation)

        messenger.subscribe(on_event)
        await messenger.start()
        online_timeout = ONLINE_TIMEOUT_S
        if self.args.command == "recv":  # recv's --timeout bounds the whole wait
            online_timeout = min(online_timeout, self.args.timeout)
        await messenger.wait_online(online_timeout)
        command = self.args.command
        if command == "add":
            contact = await messenger.add_contact(self.args.invite, self.args.name)
            self.print(f"{contact.id}\t{printable(contact.display_name)}")
        elif command == "send":
            await self.send(messenger)
        elif command == "react":
            await self.react(messenger)
        elif command == "recv":
            deadline = started + self.args.timeout
            code = await self.recv(
                messenger,
                received,
                printed,
                arrived=arrived,
                deadline=deadline,
                failures=failures,
            )
            if failures:
                raise failures[0]
            return code
        if failures:
            raise failures[0]
        return EXIT_OK

    def unseen(self, messenger: Messenger) -> list[MessageView]:
        """Received messages stored after the last one a ``recv`` printed, oldest first."""
        db = messenger.store.db
        after = settings_repo.get_int(db, SEEN_SETTING, 0)
        return message_views(db, message_repo.incoming_after(db, after))

    async def print_new(
        self, messenger: Messenger, received: list[MessageView], printed: int
    ) -> int:
        """Print ``received[printed:]``, remember the newest as seen; the new count printed.

        A message of a message request says so (``request`` and the claimed name marked as a
        claim in the sender column; ``"request": true`` in JSON).
        """
        batch = received[printed:]
        pending = {r.conversation_id: r for r in await messenger.requests()} if batch else {}
        for message in batch:
            request = pending.get(message.conversation_id)
            if self.args.json:
                data = _message_json(message)
                if request is not None:
                    data |= {"request": True, "request_id": request.contact_id}
                    data["sender"] = request.label
                self.print(json.dumps(data))
            else:
                self.print(_message_line(message, request))
        if batch:
            newest = max(m.seq for m in batch)
            settings_repo.put(messenger.store.db, SEEN_SETTING, str(newest))
        return len(received)

    async def send(self, messenger: Messenger) -> None:
        if self.args.caption is not None and self.args.picture is None:
            raise UsageError("--caption goes only with --picture FILE (a text has no caption)")
        if (self.args.text is None) == (self.args.picture is None):
            raise UsageError("send takes either a TEXT or --picture FILE")
        contact = await self.contact(messenger)
        conversation = next(
            c for c in await messenger.conversations() if c.contact_id == contact.id
        )
        if self.args.picture is not None:
            # The app's own call and rules (length, stripping), as the preview's Send uses them.
            message = await messenger.send_picture(
                conversation.id,
                self.args.picture,
                self.args.caption or "",
                reply_to=self.args.reply_to,
            )
        else:
            message = await messenger.send_text(
                conversation.id, self.args.text, reply_to=self.args.reply_to
            )
        await messenger.flush(SEND_TIMEOUT_S)
        self.print(message.id)

    async def react(self, messenger: Messenger) -> None:
        if (self.args.emoji is None) != self.args.remove:
            raise UsageError("react takes a MESSAGE-ID and either an EMOJI or --remove")
        message = await messenger.react(self.args.message, self.args.emoji)
        await messenger.flush(SEND_TIMEOUT_S)
        self.print(f"{message.id}\t{_reactions_text(message.reactions)}".rstrip("\t"))

    async def recv(
        self,
        messenger: Messenger,
        received: list[MessageView],
        printed: int,
        *,
        arrived: asyncio.Event,
        deadline: float,
        failures: list[StorageError],
    ) -> int:
        """Print the unseen messages, then every message committed while running; with
        --count, run until N were printed. ``deadline`` is on the loop's clock.

        Nothing is capped at N: messages that arrive together are all committed (and
        acknowledged to the relay) at once, so they are all printed rather than silently lost
        to the next ``recv``.
        """
        count = self.args.count
        loop = asyncio.get_running_loop()
        while True:
            printed = await self.print_new(messenger, received, printed)
            remaining = deadline - loop.time()
            if (count is not None and printed >= count) or remaining <= 0 or failures:
                break
            arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await arrived.wait()
        # The delivery receipts of what we printed: the senders see "delivered" once they leave.
        await messenger.flush(RECEIPT_TIMEOUT_S)
        if count is not None and printed < count:
            raise RecvTimeout(f"received {printed} of {count} messages in {self.args.timeout:g} s")
        return EXIT_OK


def exit_code_of(error: AppError) -> int:
    """The documented exit code for an AppError."""
    for kind, code in _EXIT_OF:
        if isinstance(error, kind):
            return code
    return EXIT_REJECTED


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run one command; returns the exit code (see the module docstring)."""
    out, err, stdin = out or sys.stdout, err or sys.stderr, stdin or sys.stdin
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
        _check_text_arguments(args)
    except UsageError as exc:
        _say(err, str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    _quiet_logging(err)
    runtime = CoreRuntime()
    runtime.start()
    try:
        return runtime.call(Cli(args, out, err, stdin).run())
    except Exception as exc:
        message, code = _failure(exc)
        _say(err, message)
        return code
    finally:
        runtime.stop()


def _failure(exc: Exception) -> tuple[str, int]:
    """The sentence and exit code for an exception that ended a command."""
    if isinstance(exc, CliFailure):
        return str(exc), exc.code
    if isinstance(exc, StoreError):  # a store error that no layer above translated
        exc = from_store(exc)
    if isinstance(exc, AppError):
        return str(exc), exit_code_of(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"The disk is full: nothing was saved ({exc.filename}).", EXIT_DISK_FULL
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}", EXIT_INTERNAL
    return f"internal error ({type(exc).__name__}: {exc})", EXIT_INTERNAL


def _say(err: TextIO, message: str) -> None:
    """One line for a person on stderr (names in it may come from other people)."""
    print(f"parley cli: {printable(message)}", file=err, flush=True)


def _quiet_logging(err: TextIO) -> None:
    """Log records never reach the user: each failure is already said in one sentence (an
    exception's message, an ErrorRaised event). ``PARLEY_LOG=debug`` shows them all, with
    tracebacks, for developers."""
    level = os.environ.get(LOG_ENV, "").upper()
    root = logging.getLogger()
    if level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        logging.basicConfig(stream=err, level=level, format="%(levelname)s %(name)s: %(message)s")
        return
    root.addHandler(logging.NullHandler())  # no "last resort" printing of WARNING and above
    root.setLevel(logging.CRITICAL + 1)
