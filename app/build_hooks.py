"""Which message-key hook the pipeline uses, decided by the build (parley/variant.py).

The standard build attaches nothing and checks nothing; it decrypts with an ExtensionObserver so
that it notices, reliably (the AEAD authenticates the extension), a contact whose messages carry a
warrant envelope, and tells its user (no silent escrow). The warrant build seals every message
key to the compiled-in authority and checks every received envelope under its mixed-traffic
policy; its code (app/warrant/policy.py) is imported only when this is the warrant build, and
is absent from the standard wheel.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from parley.crypto.hooks import ExtensionObserver, MessageKeyHook

from parley.variant import BuildConfig, config


class ReceiveHook(MessageKeyHook, Protocol):
    """A hook for one received message; after decryption it says what the message carried."""

    def outcome(self) -> tuple[str, str]:
        """(label, value) for the message's record, e.g. ("warrant envelope", "checked ...")."""
        ...

    def sender_variant(self) -> tuple[str, str] | None:
        """("warrant", key id) or ("standard", "") when the message shows the sender's build."""
        ...


class HookProvider(Protocol):
    def for_sending(self, now: float) -> MessageKeyHook | None: ...

    def for_receiving(self, arrival: float) -> ReceiveHook: ...


class Observer(ExtensionObserver):
    """The standard build's receiving hook: reads everything, names what it saw."""

    __slots__ = ()

    def outcome(self) -> tuple[str, str]:
        seen = self.seen
        if seen is None:
            return ("extension", "none")
        if seen.key_id:
            return (
                "extension",
                f"warrant envelope of authority {seen.key_id}, {seen.length} bytes (a warrant "
                "build sent this; the standard build does not check it)",
            )
        return ("extension", f"unknown kind {seen.kind}, {seen.length} bytes (ignored)")

    def sender_variant(self) -> tuple[str, str] | None:
        seen = self.seen
        return ("warrant", seen.key_id) if seen is not None and seen.key_id else None


class StandardHooks:
    def for_sending(self, now: float) -> MessageKeyHook | None:
        return None

    def for_receiving(self, arrival: float) -> ReceiveHook:
        return Observer()


def provider(built: BuildConfig | None = None) -> HookProvider:
    """The hooks of this build (of ``built``, for tests and the bench)."""
    built = config() if built is None else built
    if built.is_warrant:
        policy = importlib.import_module("parley.app.warrant.policy")
        hooks: HookProvider = policy.WarrantHooks(built)
        return hooks
    return StandardHooks()
