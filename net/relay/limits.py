"""The relay's tunable limits, and the per-account token bucket that enforces the rate limit.

Both are plain values and arithmetic with ``now`` passed in, so the protocol core stays sans-I/O and
a test can drive the clock by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from parley.net.errors import RelayConfigError
from parley.net.wire import MAX_RELAY_NAME

DAY = 86_400.0
# A held message's receipt waits at most twice this; beyond a few seconds a sender would retry.
MAX_COMMIT_DELAY = 5.0


@dataclass(frozen=True)
class RelayConfig:
    """Everything an operator can tune; the defaults suit a small community relay.

    Attributes:
        name: the relay name clients sign in the auth challenge (normally its public URL);
            empty means "the URL the server listens on", filled in by ``serve_relay``.
        ttl: seconds a message waits for its recipient before it is dropped (14 days).
        quota_messages: the most messages queued for one recipient.
        quota_bytes: the most payload bytes queued for one recipient.
        invite_token: when set, the first login of a new account must present it.
        rate_per_second: sustained requests per account (send, publish, fetch, ping); 0 = no limit.
        rate_burst: how many requests an idle account may make at once.
        max_connections_per_account: authenticated connections one account may hold.
        auth_timeout: seconds a connection may stay unauthenticated.
        window: unacknowledged deliveries in flight per connection (flow control).
        prekey_low_threshold: below this stock of one-time prekeys the owner is told.
        max_prekey_stock: the most one-time prekeys held for one account.
        max_bad_frames: malformed frames tolerated on one connection before it is closed.
        expire_interval: seconds between sweeps that delete expired messages.
        commit_delay: write-behind window in seconds (0 = off): a message forwarded live is held
            in memory this long (up to twice as long) before it is stored; if its recipient
            acknowledges it first it is never stored (docs/protocol.md s7, "Write-behind").
        otk_per_requester: one-time prekeys one account may take per hour, across all targets
            (also the burst); 0 = no limit. Beyond it a fetch gets the signed prekey alone.
        otk_per_target: one-time prekeys handed out per hour from one account's stock, to
            everyone together (also the burst); 0 = no limit.
        otk_pair_interval: seconds before the same requester gets another one-time prekey of
            the same target (a second fetch meanwhile gets the signed prekey alone).
    """

    name: str = ""
    ttl: float = 14 * DAY
    quota_messages: int = 5_000
    quota_bytes: int = 64 * 1024 * 1024
    invite_token: str | None = field(default=None, repr=False)
    rate_per_second: float = 100.0
    rate_burst: float = 200.0
    max_connections_per_account: int = 4
    auth_timeout: float = 10.0
    window: int = 64
    prekey_low_threshold: int = 10
    max_prekey_stock: int = 1_000
    max_bad_frames: int = 10
    expire_interval: float = 60.0
    commit_delay: float = 0.1
    otk_per_requester: float = 30.0
    otk_per_target: float = 30.0
    otk_pair_interval: float = DAY

    def __post_init__(self) -> None:
        positive = {
            "ttl": self.ttl,
            "quota_messages": self.quota_messages,
            "quota_bytes": self.quota_bytes,
            "max_connections_per_account": self.max_connections_per_account,
            "auth_timeout": self.auth_timeout,
            "window": self.window,
            "max_prekey_stock": self.max_prekey_stock,
            "max_bad_frames": self.max_bad_frames,
            "expire_interval": self.expire_interval,
        }
        for name, value in positive.items():
            if not value > 0:
                raise RelayConfigError(f"{name} must be greater than zero (got {value})")
        if self.rate_per_second < 0 or self.rate_burst < 1:
            raise RelayConfigError("the rate must be >= 0 per second with a burst of at least 1")
        if not 0 <= self.commit_delay <= MAX_COMMIT_DELAY:
            raise RelayConfigError(
                f"the commit delay must be between 0 and {MAX_COMMIT_DELAY:g} seconds "
                f"(got {self.commit_delay})"
            )
        if min(self.otk_per_requester, self.otk_per_target, self.otk_pair_interval) < 0:
            raise RelayConfigError("the one-time prekey fetch limits cannot be negative")
        if self.prekey_low_threshold < 0:
            raise RelayConfigError("the prekey threshold cannot be negative")
        if len(self.name.encode("utf-8")) > MAX_RELAY_NAME:
            raise RelayConfigError(f"the relay name is longer than {MAX_RELAY_NAME} bytes")
        if self.invite_token == "":
            raise RelayConfigError("an empty invite token would admit everyone; omit it instead")


@dataclass
class TokenBucket:
    """A token bucket: ``rate`` tokens per second up to ``burst``; each request takes one.

    Mutable on purpose: one lives per active account and is updated on every request, and an
    immutable copy per request would double the hot-path allocations.
    """

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        """A bucket that an account starts with: the whole burst available."""
        return cls(rate, burst, burst, now)

    def take(self, now: float) -> bool:
        """Spend one token if there is one; a clock that goes backwards refills nothing."""
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
            self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def is_full(self, now: float) -> bool:
        """Whether the bucket would be full at ``now`` (it can then be forgotten)."""
        return self.tokens + max(0.0, now - self.updated) * self.rate >= self.burst


HOUR = 3_600.0
# How many (requester, target) pairs the relay remembers for otk_pair_interval; past this the
# oldest are forgotten (a forgotten pair can take one more key, bounded by the buckets anyway).
MAX_OTK_PAIRS = 100_000


@dataclass
class OneTimePrekeyLimits:
    """Who may take a one-time prekey now (docs/relay.md, "One-time prekey limits").

    One-time prekeys are a stock: every fetch deletes one, and an account that fetched the whole
    stock would leave everyone else's first messages without one (weaker forward secrecy for the
    first message, as X3DH without a one-time prekey). A fetch over a limit is still answered,
    with the signed prekey alone, so adding a contact never fails because of this; only the
    stock is protected. Kept in memory (per relay process): a restart forgets it. Relay
    processes sharing a store keep the same limits in it instead (``SharedPrekeyLimits``).
    """

    config: RelayConfig
    by_requester: dict[bytes, TokenBucket] = field(default_factory=dict)
    by_target: dict[bytes, TokenBucket] = field(default_factory=dict)
    pairs: dict[tuple[bytes, bytes], float] = field(default_factory=dict)

    def allow(self, requester: bytes, target: bytes, now: float) -> bool:
        """Whether ``requester`` may take one of ``target``'s one-time prekeys (and count it)."""
        pair = (requester, target)
        last = self.pairs.get(pair)
        if last is not None and now - last < self.config.otk_pair_interval:
            return False
        if not self._take(self.by_requester, requester, self.config.otk_per_requester, now):
            return False
        if not self._take(self.by_target, target, self.config.otk_per_target, now):
            return False
        self.pairs.pop(pair, None)
        self.pairs[pair] = now
        if len(self.pairs) > MAX_OTK_PAIRS:
            del self.pairs[next(iter(self.pairs))]
        return True

    @staticmethod
    def _take(buckets: dict[bytes, TokenBucket], key: bytes, per_hour: float, now: float) -> bool:
        if per_hour <= 0:
            return True
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = TokenBucket.full(per_hour / HOUR, per_hour, now)
        return bucket.take(now)

    def forget_idle(self, now: float) -> None:
        """Drop full buckets and expired pairs (called from the relay's periodic tick)."""
        for buckets in (self.by_requester, self.by_target):
            for key in [k for k, b in buckets.items() if b.is_full(now)]:
                del buckets[key]
        interval = self.config.otk_pair_interval
        for pair in [p for p, t in self.pairs.items() if now - t >= interval]:
            del self.pairs[pair]


class PrekeyLimitStore(Protocol):
    """What ``SharedPrekeyLimits`` needs from a shared store (``RelayStore`` has it)."""

    def take_tokens(
        self, account: bytes, want: int, rate: float, burst: float, bucket: str = "rate"
    ) -> int: ...

    def claim_prekey_pair(self, requester: bytes, target: bytes, interval: float) -> bool: ...

    def prekey_pair_recent(self, requester: bytes, target: bytes) -> bool: ...


@dataclass
class SharedPrekeyLimits:
    """``OneTimePrekeyLimits`` over a store shared by many relay processes (Redis): the same
    rules in the same order, with the buckets and the pair memory in the store, so that an
    account cannot multiply its allowance by spreading fetches over processes. The pair is
    claimed last and atomically, so of two processes racing for one pair only one hands out a
    key; a refusal after a bucket was taken leaves that token spent, as in memory."""

    config: RelayConfig
    store: PrekeyLimitStore

    def allow(self, requester: bytes, target: bytes, now: float) -> bool:
        config = self.config
        if config.otk_pair_interval > 0 and self.store.prekey_pair_recent(requester, target):
            return False
        for account, per_hour, bucket in (
            (requester, config.otk_per_requester, "otk-requester"),
            (target, config.otk_per_target, "otk-target"),
        ):
            if per_hour > 0 and not self.store.take_tokens(
                account, 1, per_hour / HOUR, per_hour, bucket
            ):
                return False
        return self.store.claim_prekey_pair(requester, target, config.otk_pair_interval)

    def forget_idle(self, now: float) -> None:
        """Nothing to do: the store expires idle buckets and pairs itself."""
