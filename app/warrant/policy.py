"""The warrant build's hooks: seal every message, check every received envelope (docs/warrant.md).

Epochs: a message is sealed under the epoch of the sender's clock. A received envelope must name
an epoch whose window overlaps ``[arrival - EPOCH_GRACE_S, arrival + CLOCK_SKEW_S]`` where
``arrival`` is the relay's time of receipt: a message may wait in the sender's outbox up to a week
and the sender's clock may run ten minutes ahead, but an envelope sealed to an epoch long past
(whose shares trustees may have deleted) or not yet begun is refused as "other-epoch".

Mixed traffic (compiled in): "strict" refuses a message without an envelope; "transitional"
accepts it and records the mark "none" in the message's record and the contact's variant.
"""

from __future__ import annotations

from parley.app.warrant.authority import parse_authority
from parley.crypto.hooks import Parties
from parley.crypto.warrant_envelope import AuthorityKey, EnvelopeHook, parse

from parley.variant import BuildConfig

EPOCH_GRACE_S = 7 * 86400
CLOCK_SKEW_S = 600


class CheckingHook(EnvelopeHook):
    """EnvelopeHook that also reports what the checked message carried."""

    __slots__ = ("_seen",)

    def __init__(self, authority: AuthorityKey, accepted: frozenset[int], *, require: bool) -> None:
        super().__init__(authority, None, accepted, require=require)
        self._seen: tuple[str, int] | None = None

    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        super().check(message_key, header_bytes, parties, extension)
        if extension:
            parsed = parse(extension)
            self._seen = (parsed.key_id.hex(), parsed.epoch)

    def outcome(self) -> tuple[str, str]:
        if self.unenveloped:
            return ("warrant envelope", "none: accepted under the transitional policy")
        if self._seen is None:
            return ("warrant envelope", "none")
        return ("warrant envelope", f"checked: authority {self._seen[0]}, epoch {self._seen[1]}")

    def sender_variant(self) -> tuple[str, str] | None:
        if self.unenveloped:
            return ("standard", "")
        return None if self._seen is None else ("warrant", self._seen[0])


class WarrantHooks:
    """The hook provider of app/build_hooks.py for the warrant build."""

    def __init__(self, built: BuildConfig) -> None:
        self.authority = parse_authority(built.authority_json).envelope_key()
        self.require = built.mixed_traffic_policy == "strict"

    def for_sending(self, now: float) -> EnvelopeHook:
        return EnvelopeHook(self.authority, self.authority.epoch_at(now), frozenset(), require=True)

    def accepted_epochs(self, arrival: float) -> frozenset[int]:
        low, high = arrival - EPOCH_GRACE_S, arrival + CLOCK_SKEW_S
        return frozenset(e.number for e in self.authority.epochs if e.start <= high and e.end > low)

    def for_receiving(self, arrival: float) -> CheckingHook:
        return CheckingHook(self.authority, self.accepted_epochs(arrival), require=self.require)
