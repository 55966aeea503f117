"""The relay's state in Redis or Valkey, shared by many relay processes on many machines.

Why this shape:

- **Synchronous client, one round trip per operation.** ``RelayCore`` is sans-I/O and asks its
  store synchronously (an enqueue's sequence number decides whether a delivery goes live), so the
  store waits for its scripts over a blocking link of its own (``BlockingRedisLink``, half
  redis-py's CPU per round trip; redis-py serves plain commands and a cluster). Each core
  operation is one Lua script (``EVALSHA``): atomic on the server, one round trip from the relay.
  On the same host or a LAN (round trips of 30-100 us) that costs less than the relay's own work
  per message; across a WAN it would not, which docs/relay.md states. Write-behind still applies:
  a live message acknowledged within the commit delay never reaches Redis at all. What the server
  does without waiting goes over its own ``RedisLink`` (``redis_link.py``): a loop turn's writes
  (``write_batch_async``) and the wake-up subscriptions (``wakeups.py``).
- **Redis Cluster ready.** Every key of one account carries the account as its hash tag
  (``pq:{<hex>}:...``), so each script touches one slot; nothing needs a cross-slot operation.
  The expiry sweep finds queues with ``SCAN`` over every node.
- **Per-recipient contiguous sequence numbers** (``HINCRBY``), unlike SQLite's global ones: a relay
  process can tell from ``seq == cursor + 1`` that no message stored by another process lies
  between what it delivered and what it is about to deliver (``RelayCore`` relies on it when
  ``shared`` is true).
- **Nothing to commit.** Each script is durable as Redis's persistence setting makes it (see
  docs/relay.md, "Redis durability"): a crash of a relay process never loses a receipted
  message; with AOF ``appendfsync always`` neither does a crash of redis-server or a power cut;
  with ``everysec`` a crash of redis-server or of the machine can lose up to about two seconds
  of receipted messages (Redis postpones its AOF write while a slow fsync runs, and replies
  meanwhile: tests/net/test_relay_redis.py saw it on a busy disk). ``dirty`` is always false.

Keys of one account (``A`` = the account in hex, tag ``{A}``):

==================  ======  ==========================================================
``acct:{A}``        string  exists once the account has logged in
``pq:{A}:meta``     hash    ``seq`` (last sequence number), ``n`` and ``b`` (queued messages, bytes)
``pq:{A}:z``        zset    message id -> sequence number (delivery order)
``pq:{A}:m``        hash    message id -> stored_at (8) | expires_at (8) | sender (32) | payload
``pk:{A}:s``        string  the signed prekey
``pk:{A}:l``        list    one-time prekeys, oldest first (``LPOP`` hands each out once)
``pk:{A}:set``      set     the same one-time prekeys (a retried publish does not stock twice)
==================  ======  ==========================================================
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Awaitable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import msgpack
from parley.net.errors import RelayConfigError, StoreError
from parley.net.relay.redis_link import BlockingRedisLink, RedisLink, RedisLinkError, open_link
from parley.net.relay.store import (
    Enqueue,
    Login,
    LoginRequest,
    PrekeyBundle,
    Queued,
    Refused,
    Stored,
)

try:
    import hiredis
    import redis
    import redis.asyncio.cluster as aioredis_cluster
    import redis.cluster
    import redis.exceptions
except ImportError:  # pragma: no cover - the optional dependency is part of the dev install
    redis = None  # type: ignore[assignment]


_HEAD = struct.Struct(">dd32s")  # stored_at, expires_at, sender: the record before its payload
USAGE_MAX_AGE = 1.0  # seconds a queue's use, as read for the live path, is taken as current
USAGE_CACHE_ENTRIES = 100_000
EXPIRE_CHUNK = 500
_NOT_RUN = Refused("internal", "not stored")  # a placeholder that every result slot overwrites
WAKE_CHANNEL = "parley:wake:"  # + the account in hex; the message: see ``decode_wake``
WAKE_PAYLOAD_BYTES = 64 * 1024  # a wake-up carries the new messages up to this many record bytes
SCHEMES = ("redis", "rediss", "redis+cluster", "rediss+cluster")

# One recipient's messages of a turn in one call (the per-call cost of a script is about twice
# the work of one message). KEYS: meta, z, m.  ARGV: quota messages, quota bytes, wake
# channel, publisher id, wake payload limit, then per message: id, sender, record.
# -> per message {"ok", seq} | {"dup", seq, head} | {"conflict"} | {"quota"}
# The wake-up carries the stored messages (msgpack [publisher, [id, seq, record, ...]]) so that
# a process serving the recipient can forward them without reading the queue back; past the
# payload limit it carries [publisher] alone and the reader reads the queue.
_ENQUEUE = """
local counts = redis.call('HMGET', KEYS[1], 'seq', 'n', 'b')
local seq = tonumber(counts[1] or '0')
local n = tonumber(counts[2] or '0')
local b = tonumber(counts[3] or '0')
local qn, qb, room = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5])
local out, added, fresh = {}, 0, {}
for i = 6, #ARGV, 3 do
  local id, rec = ARGV[i], ARGV[i + 2]
  local old = redis.call('HGET', KEYS[3], id)
  if old then
    if string.sub(old, 17, 48) ~= ARGV[i + 1] then
      out[#out + 1] = {'conflict'}
    else
      out[#out + 1] = {'dup', redis.call('ZSCORE', KEYS[2], id), string.sub(old, 1, 16)}
    end
  else
    local size = string.len(rec) - 48
    if n >= qn or b + size > qb then
      out[#out + 1] = {'quota'}
    else
      seq, n, b, added = seq + 1, n + 1, b + size, added + 1
      redis.call('HSET', KEYS[3], id, rec)
      redis.call('ZADD', KEYS[2], seq, id)
      out[#out + 1] = {'ok', seq}
      room = room - string.len(rec)
      if room >= 0 then
        fresh[#fresh + 1] = id
        fresh[#fresh + 1] = seq
        fresh[#fresh + 1] = rec
      end
    end
  end
end
if added > 0 then
  redis.call('HSET', KEYS[1], 'seq', seq, 'n', n, 'b', b)
  if room >= 0 then
    redis.call('PUBLISH', ARGV[3], cmsgpack.pack({ARGV[4], fresh}))
  else
    redis.call('PUBLISH', ARGV[3], cmsgpack.pack({ARGV[4]}))
  end
end
return out
"""

# KEYS: meta, z, m.  ARGV: message ids.  -> how many were deleted
_ACK = """
local deleted, bytes = 0, 0
for i = 1, #ARGV do
  local rec = redis.call('HGET', KEYS[3], ARGV[i])
  if rec then
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    deleted = deleted + 1
    bytes = bytes + string.len(rec) - 48
  end
end
if deleted > 0 then
  redis.call('HINCRBY', KEYS[1], 'n', -deleted)
  redis.call('HINCRBY', KEYS[1], 'b', -bytes)
end
return deleted
"""

# KEYS: meta, z, m.  ARGV: now.  -> how many expired messages were deleted
# The queue is walked from its oldest message and the walk stops at the first one not expired:
# a relay stamps expires_at = stored_at + its TTL, so expiry follows the queue's order (relays
# with different TTLs can leave an expired message behind a later-expiring one until that one
# expires; reads skip it meanwhile). No expiry index to keep up on every enqueue and ack.
_EXPIRE = """
local now, deleted, bytes = tonumber(ARGV[1]), 0, 0
while true do
  local ids = redis.call('ZRANGE', KEYS[2], 0, 99)
  if #ids == 0 then break end
  local recs = redis.call('HMGET', KEYS[3], unpack(ids))
  local stop = false
  for i = 1, #ids do
    local rec = recs[i]
    if rec and struct.unpack('>d', rec, 9) > now then
      stop = true
      break
    end
    if rec then
      redis.call('HDEL', KEYS[3], ids[i])
      deleted, bytes = deleted + 1, bytes + string.len(rec) - 48
    end
    redis.call('ZREM', KEYS[2], ids[i])
  end
  if stop then break end
end
if deleted > 0 then
  redis.call('HINCRBY', KEYS[1], 'n', -deleted)
  redis.call('HINCRBY', KEYS[1], 'b', -bytes)
end
return deleted
"""

# Lua functions that more than one script starts with (each script carries its own copy; a call
# sends only the script's hash, so the copy costs nothing per call).
# read_queue: up to ``want`` unexpired messages after seq ``after`` -> {id, seq, record, ...}.
# Expired messages are skipped (the sweep deletes them later), and the page is still filled.
_READ_QUEUE = """
local function read_queue(zset, records, after, want, now)
  local out = {}
  while want > 0 do
    local rows = redis.call('ZRANGEBYSCORE', zset, '(' .. after, '+inf',
      'WITHSCORES', 'LIMIT', 0, want)
    if #rows == 0 then break end
    local ids = {}
    for i = 1, #rows, 2 do ids[#ids + 1] = rows[i] end
    local recs = redis.call('HMGET', records, unpack(ids))
    for i = 1, #ids do
      local rec = recs[i]
      -- the record's second field is its expiry time
      if rec and struct.unpack('>d', rec, 9) > now then
        out[#out + 1] = ids[i]
        out[#out + 1] = rows[2 * i]
        out[#out + 1] = rec
        want = want - 1
      end
    end
    after = rows[#rows]
  end
  return out
end
"""

# Shared limits use the Redis server's clock (TIME), so that relays on machines whose clocks
# differ still agree. claim: a lease on one of the account's connection slots -> 1, or 0 full.
_CLAIM = """
local function claim(slots, member, limit, lease)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
  if not redis.call('ZSCORE', slots, member) and redis.call('ZCARD', slots) >= limit then
    return 0
  end
  redis.call('ZADD', slots, now + lease, member)
  redis.call('EXPIRE', slots, math.ceil(lease) + 1)
  return 1
end
"""

# KEYS: z, m.  ARGV: after seq, limit, now.  -> {id, seq, record, id, seq, record, ...}
_PENDING = (
    _READ_QUEUE
    + "return read_queue(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))\n"
)

# A login in one round trip (RelayStore.login). KEYS: acct, cn, pk list, queue z, queue m.
# ARGV: "1" if it may register, member, connections here, limit, lease, after seq, room, now.
# -> {"invite_required", 0} | {"too_many_connections", new} | {"ok", new, prekeys, rows...}
_LOGIN = (
    _READ_QUEUE
    + _CLAIM
    + """
local new = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[1] ~= '1' then return {'invite_required', 0} end
  redis.call('SET', KEYS[1], '1')
  new = 1
end
local limit = tonumber(ARGV[4])
if tonumber(ARGV[3]) >= limit or claim(KEYS[2], ARGV[2], limit, tonumber(ARGV[5])) == 0 then
  return {'too_many_connections', new}
end
return {'ok', new, redis.call('LLEN', KEYS[3]),
  read_queue(KEYS[4], KEYS[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]))}
"""
)

# KEYS: signed, list, set.  ARGV: "1" to hand out a one-time prekey, "0" not to.
# -> {signed, one-time or false, remaining} | false
_TAKE_BUNDLE = """
local signed = redis.call('GET', KEYS[1])
if not signed then return false end
local one = false
if ARGV[1] == '1' then one = redis.call('LPOP', KEYS[2]) end
if one then redis.call('SREM', KEYS[3], one) end
return {signed, one, redis.call('LLEN', KEYS[2])}
"""

# KEYS: signed, list, set.  ARGV: signed, room, keys...  -> the stock after
_PUBLISH = """
redis.call('SET', KEYS[1], ARGV[1])
local room = tonumber(ARGV[2])
for i = 3, #ARGV do
  if room <= 0 then break end
  if redis.call('SADD', KEYS[3], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    room = room - 1
  end
end
return redis.call('LLEN', KEYS[2])
"""


# KEYS: cn:{A}.  ARGV: member, limit, lease seconds.  -> 1 claimed, 0 full
_CLAIM_CONNECTION = (
    _CLAIM + "return claim(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))\n"
)

# KEYS: cn:{A}.  ARGV: member, lease seconds.  Extends a lease that still exists.
_RENEW_CONNECTION = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return 1
"""

# KEYS: rl:{A}.  ARGV: tokens wanted, rate per second, burst.  -> tokens granted (a token bucket)
_TAKE_TOKENS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now > at then tokens = math.min(burst, tokens + (now - at) * rate) end
local grant = math.min(tonumber(ARGV[1]), math.floor(tokens))
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens - grant),
  'at', string.format('%.6f', now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return grant
"""


@dataclass(frozen=True, slots=True)
class _Batch:
    """A batch's script calls, and how to map their replies back to its sends."""

    calls: list[tuple[Any, dict[str, Any]]]
    acks: int  # the first ``acks`` calls are ack scripts
    sends: Sequence[Enqueue]
    by_recipient: list[list[int]]  # per enqueue call: the indices of its sends


class _Step(NamedTuple):
    """One round of ``_ScriptPlan``: what the driver does, and with which (script, call)s.

    ``each``: call redis-py's script objects one by one (a cluster; they reload a script after
    ``NOSCRIPT`` themselves); ``pipeline``: ``EVALSHA`` each call, all in one write, an error
    reply answering in its call's place; ``load``: ``SCRIPT LOAD`` each script named (the calls
    are unused). The driver sends back one answer per call, in order (``_commands`` builds the
    commands of the last two)."""

    kind: Literal["each", "pipeline", "load"]
    calls: Sequence[tuple[Any, dict[str, Any]]]


class _ScriptPlan:
    """How a list of script calls runs, without I/O: the synchronous store (``_call_all``) and
    the batch writer (``write_batch_async``, ``_LinkWrite``) each drive it over their own
    connection.

    One round trip: the pipeline sends ``EVALSHA`` straight (redis-py's script objects ask
    ``SCRIPT EXISTS`` first, a second round trip per batch), and only after a ``NOSCRIPT`` (a
    restarted or flushed Redis) loads those scripts and reruns only those calls, once. Any other
    error answer is a StoreError. On a cluster each call goes alone (redis-py refuses scripts in
    a cluster pipeline; each script is still atomic on its slot).

    Drive it: ``while (step := plan.step) is not None: plan.answer(<run step>)``; then
    ``plan.replies`` holds one reply per call.
    """

    def __init__(
        self, what: str, calls: Sequence[tuple[Any, dict[str, Any]]], *, one_by_one: bool
    ) -> None:
        self.replies: list[Any] = []
        self._steps = self._plan(what, calls, one_by_one)
        self.step: _Step | None = next(self._steps)

    def answer(self, answers: Sequence[Any]) -> None:
        """The answers to ``step``; moves on to the next step (None once ``replies`` is ready)."""
        try:
            self.step = self._steps.send(answers)
        except StopIteration as done:
            self.replies, self.step = done.value, None

    @staticmethod
    def _plan(
        what: str, calls: Sequence[tuple[Any, dict[str, Any]]], one_by_one: bool
    ) -> Generator[_Step, Sequence[Any], list[Any]]:
        if one_by_one:
            return list((yield _Step("each", calls)))
        replies: list[Any] = [None] * len(calls)
        todo = list(range(len(calls)))
        for attempt in range(2):
            answers = yield _Step("pipeline", [calls[index] for index in todo])
            again = []
            for index, answer in zip(todo, answers, strict=True):
                if isinstance(answer, redis.exceptions.NoScriptError) and attempt == 0:
                    again.append(index)
                elif isinstance(answer, Exception):
                    raise StoreError(f"the Redis store failed ({what}): {answer}")
                else:
                    replies[index] = answer
            if not again:
                break
            todo = again
            scripts = {calls[index][0]: calls[index] for index in todo}
            yield _Step("load", list(scripts.values()))
        return replies


def _commands(step: _Step) -> list[tuple[Any, ...]]:
    """A step's commands as they go over a link: ``SCRIPT LOAD`` or ``EVALSHA`` per call."""
    if step.kind == "load":
        return [("SCRIPT", "LOAD", script.script) for script, _ in step.calls]
    return [
        ("EVALSHA", script.sha, len(call["keys"]), *call["keys"], *call["args"])
        for script, call in step.calls
    ]


class _LinkWrite:
    """One batch's ``_ScriptPlan`` driven over a ``RedisLink`` by its reply callbacks: a step's
    calls go in one write, and the next step (a ``SCRIPT LOAD`` after ``NOSCRIPT``, then the
    rerun) is sent from the callback of the one before."""

    def __init__(self, store: RedisStore, batch: _Batch) -> None:
        self.future: asyncio.Future[tuple[int, list[Stored | Refused]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._store = store
        self._batch = batch
        self._plan = _ScriptPlan("write batch", batch.calls, one_by_one=False)
        self._link: RedisLink | None = None

    def start(self, link: RedisLink) -> None:
        self._link = link
        self._send()

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            failure = StoreError(f"the Redis store failed (write batch): {exc}")
            self.future.set_exception(failure)

    def _send(self) -> None:
        step = self._plan.step
        assert step is not None and self._link is not None
        self._link.call(_commands(step), self._answered)

    def _answered(self, outcome: list[Any] | BaseException) -> None:
        if self.future.done():  # cancelled: the loop is shutting down
            return
        if isinstance(outcome, BaseException):
            self.fail(outcome)
            return
        try:
            self._plan.answer([_as_redis_error(answer) for answer in outcome])
            if self._plan.step is not None:
                self._send()
                return
            self.future.set_result(self._store._batch_results(self._batch, self._plan.replies))
        except StoreError as exc:
            self.future.set_exception(exc)
        except (TypeError, ValueError, IndexError, struct.error) as exc:  # not our scripts' shape
            self.fail(exc)


def _as_redis_error(answer: Any) -> Any:
    """An error reply as redis-py would raise it (``_ScriptPlan`` knows those)."""
    if not isinstance(answer, hiredis.ReplyError):
        return answer
    message = str(answer)
    if message.startswith("NOSCRIPT"):
        return redis.exceptions.NoScriptError(message)
    return redis.exceptions.ResponseError(message)


def is_redis_url(url: str) -> bool:
    """Whether ``--store`` names a Redis store (anything else is refused by the command)."""
    return urlsplit(url).scheme in SCHEMES


def _client(url: str, *, use_asyncio: bool = False) -> Any:
    """A synchronous client for ``url``: standalone for redis:// and rediss://, cluster for the
    ``+cluster`` forms (any one node's address; the client discovers the others). With
    ``use_asyncio``, the asyncio cluster client (a cluster's batch writes; a standalone Redis
    has the store's own links)."""
    if redis is None:  # pragma: no cover
        raise RelayConfigError("a Redis store needs the redis package: pip install 'parley[redis]'")
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise RelayConfigError(f"not a Redis URL: {url!r} (use redis://HOST:PORT/DB)")
    plain = urlunsplit((parts.scheme.replace("+cluster", ""), *parts[1:]))
    options: dict[str, Any] = {"socket_timeout": 5.0, "socket_connect_timeout": 5.0}
    cluster = parts.scheme.endswith("+cluster")
    if use_asyncio:
        return aioredis_cluster.RedisCluster.from_url(plain, **options)
    if cluster:
        return redis.cluster.RedisCluster.from_url(plain, **options)
    return redis.Redis.from_url(plain, **options)


class RedisStore:
    """``RelayStore`` over Redis/Valkey; see the module docstring for the layout and guarantees.

    Args:
        url: ``redis://HOST:PORT/DB``, ``rediss://...`` (TLS), ``redis+cluster://HOST:PORT``.
        quota_messages, quota_bytes, max_prekey_stock: as for ``SqliteStore``.
        publisher: this process's id, sent with wake-ups so that it ignores its own.
    """

    shared = True
    pipelined = True

    def __init__(
        self,
        url: str,
        *,
        quota_messages: int,
        quota_bytes: int,
        max_prekey_stock: int,
        publisher: str,
    ) -> None:
        self.url = url
        self.publisher = publisher
        self._quota_messages = quota_messages
        self._quota_bytes = quota_bytes
        self._max_prekey_stock = max_prekey_stock
        self._registered: set[bytes] = set()
        self._usage: dict[bytes, tuple[int, int, float]] = {}  # count, bytes, when read
        self._rollbacks = 0
        self._queued = 0  # this process's view: stored minus acknowledged and expired here
        # The server calls from its loop alone, but the store stays safe from any thread: redis-py
        # and the blocking link serialise their own calls, and this counter has its lock.
        self._lock = threading.Lock()
        self._redis = _client(url)
        self._cluster = urlsplit(url).scheme.endswith("+cluster")
        # The scripts' round trips (login, queue reads, ...) over a link of our own; redis-py
        # serves the rest, and everything on a cluster (redis_link.py says why).
        self._blocking = None if self._cluster else BlockingRedisLink(url)
        self._link: RedisLink | None = None  # write_batch_async's (standalone Redis)
        self._connecting: asyncio.Future[RedisLink] | None = None
        self._waiting_for_link: set[asyncio.Future[None]] = set()
        self._aredis: Any = None  # write_batch_async's asyncio client over a cluster
        self._ascripts: dict[Any, Any] = {}
        try:
            self._redis.ping()
        except redis.exceptions.RedisError as exc:
            raise StoreError(f"cannot reach the Redis store at {_safe(url)}: {exc}") from exc
        self._enqueue = self._redis.register_script(_ENQUEUE)
        self._ack = self._redis.register_script(_ACK)
        self._expire = self._redis.register_script(_EXPIRE)
        self._pending = self._redis.register_script(_PENDING)
        self._take_bundle = self._redis.register_script(_TAKE_BUNDLE)
        self._publish = self._redis.register_script(_PUBLISH)
        self._claim_connection = self._redis.register_script(_CLAIM_CONNECTION)
        self._renew_connection = self._redis.register_script(_RENEW_CONNECTION)
        self._take_tokens = self._redis.register_script(_TAKE_TOKENS)
        self._login = self._redis.register_script(_LOGIN)

    def _run(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        """One Redis call; a failure becomes a StoreError the core can report."""
        try:
            return call(*args, **kwargs)
        except (redis.exceptions.RedisError, RedisLinkError) as exc:
            raise StoreError(f"the Redis store failed ({what}): {exc}") from exc

    def _script(self, what: str, script: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """One script call, waited for (the core needs its answer now)."""
        return self._call_all(what, [(script, {"keys": keys, "args": args})])[0]

    def _call_all(self, what: str, calls: Sequence[tuple[Any, dict[str, Any]]]) -> list[Any]:
        """Run each (script, arguments) in order, in one round trip (``_ScriptPlan`` says how;
        this drives it over the blocking link, or redis-py's cluster client)."""
        plan = _ScriptPlan(what, calls, one_by_one=self._blocking is None)
        while (step := plan.step) is not None:
            plan.answer(self._run(what, self._sync_step, step))
        return plan.replies

    def _sync_step(self, step: _Step) -> list[Any]:
        if self._blocking is None:  # a cluster: redis-py's script objects, one by one
            return [script(**call) for script, call in step.calls]
        return [_as_redis_error(answer) for answer in self._blocking.request(_commands(step))]

    @property
    def dirty(self) -> bool:
        return False  # every script is applied (and persisted as configured) when it returns

    @property
    def queued(self) -> int:
        return self._queued

    def _count(self, change: int) -> None:
        with self._lock:
            self._queued = max(0, self._queued + change)

    @property
    def rollbacks(self) -> int:
        return self._rollbacks

    def commit(self) -> None:
        """Nothing to do: each operation was atomic and applied when it returned."""

    def rollback(self) -> None:
        # Nothing can be undone in Redis, and nothing needs to be: a failed script changed
        # nothing, and every earlier one stands (their receipts are honest).
        self._rollbacks += 1
        self._registered.clear()
        self._usage.clear()

    def close(self) -> None:
        self._redis.close()
        if self._blocking is not None:
            self._blocking.close()

    # --- accounts and prekeys ----------------------------------------------------------------

    def is_registered(self, account: bytes) -> bool:
        if account in self._registered:
            return True
        if self._run("account lookup", self._redis.exists, f"acct:{{{_tag(account)}}}"):
            self._registered.add(account)
            return True
        return False

    def register(self, account: bytes) -> None:
        self._run("register", self._redis.set, f"acct:{{{_tag(account)}}}", b"1")
        self._registered.add(account)

    def login(self, ask: LoginRequest) -> Login:
        """One script on the account's slot: registration, connection lease, prekey stock and
        the first page of the queue in one round trip (it was four or five)."""
        account, tag = ask.account, _tag(ask.account)
        reply = self._script(
            "login",
            self._login,
            [
                f"acct:{{{tag}}}",
                f"cn:{{{tag}}}",
                f"pk:{{{tag}}}:l",
                f"pq:{{{tag}}}:z",
                f"pq:{{{tag}}}:m",
            ],
            [
                "1" if ask.may_register else "0",
                self._member(ask.conn_id),
                ask.here,
                ask.limit,
                ask.lease,
                ask.after_seq,
                ask.room,
                repr(ask.now),
            ],
        )
        outcome, new = reply[0].decode(), bool(reply[1])
        if outcome != "ok":
            if new:
                self._registered.add(account)
            return Login(outcome, new, 0, [])
        self._registered.add(account)
        return Login(None, new, int(reply[2]), _queued(reply[3]))

    def new_prekeys(self, account: bytes, one_time: tuple[bytes, ...]) -> tuple[bytes, ...]:
        unique = tuple(dict.fromkeys(one_time))
        if not unique:
            return ()
        known = self._run(
            "prekey lookup", self._redis.smismember, f"pk:{{{_tag(account)}}}:set", list(unique)
        )
        return tuple(key for key, held in zip(unique, known, strict=True) if not held)

    def publish_prekeys(self, account: bytes, signed: bytes, one_time: tuple[bytes, ...]) -> int:
        room = max(0, self._max_prekey_stock - self.prekey_count(account))
        stock = self._script(
            "prekey publish", self._publish, _prekey_keys(account), [signed, room, *one_time]
        )
        return int(stock)

    def prekey_count(self, account: bytes) -> int:
        return int(self._run("prekey count", self._redis.llen, f"pk:{{{_tag(account)}}}:l"))

    def take_bundle(self, account: bytes, *, one_time: bool = True) -> PrekeyBundle | None:
        row = self._script(
            "prekey fetch", self._take_bundle, _prekey_keys(account), ["1" if one_time else "0"]
        )
        if not row:
            return None
        signed, one_time, remaining = row
        return PrekeyBundle(bytes(signed), bytes(one_time) if one_time else None, int(remaining))

    # --- queues ------------------------------------------------------------------------------

    def enqueue(
        self,
        recipient: bytes,
        sender: bytes,
        message_id: bytes,
        payload: bytes,
        *,
        now: float,
        expires_at: float,
    ) -> Stored | Refused:
        item = Enqueue(recipient, sender, message_id, payload, now, expires_at)
        return self.write_batch((), (item,))[1][0]

    def write_batch(
        self, acks: Sequence[tuple[bytes, Sequence[bytes]]], sends: Sequence[Enqueue]
    ) -> tuple[int, list[Stored | Refused]]:
        """Every script of the batch in one pipeline: one round trip for a turn's writes
        (one call after another on a cluster: ``_call_all``), and one script call per
        recipient. Each script is atomic on its own; the pipeline is not a transaction, so a
        failure part-way leaves the earlier writes applied, and the core answers every send of
        a failed batch with ``internal`` (a retry is idempotent by message id) and delivers
        again from the store (an ack that did not apply is redelivered)."""
        batch = self._batch(acks, sends)
        return self._batch_results(batch, self._call_all("write batch", batch.calls))

    def write_batch_async(
        self, acks: Sequence[tuple[bytes, Sequence[bytes]]], sends: Sequence[Enqueue]
    ) -> Awaitable[tuple[int, list[Stored | Refused]]]:
        """``write_batch`` without blocking the loop, as a future.

        Over a standalone Redis the batch goes over this process's ``RedisLink``, and the
        future is resolved in the loop turn that reads its last reply (redis_link.py says why
        not redis-py's asyncio client; a task's steps alone cost two more loop turns). Over a
        cluster, redis-py's asyncio cluster client runs each script on its slot."""
        batch = self._batch(acks, sends)
        if self._cluster:
            return asyncio.ensure_future(self._write_over_cluster(batch))
        write = _LinkWrite(self, batch)
        link = self._link
        if link is not None and not link.closed:
            write.start(link)
        else:  # kept until done: the loop holds tasks only weakly
            task = asyncio.ensure_future(self._connect_then(write))
            self._waiting_for_link.add(task)
            task.add_done_callback(self._waiting_for_link.discard)
        return write.future

    async def _connect_then(self, write: _LinkWrite) -> None:
        try:
            link = await self._open_link()
        except RedisLinkError as exc:
            write.fail(exc)
            return
        write.start(link)

    async def _open_link(self) -> RedisLink:
        """This process's link (re)opened: writes that find it closed share one attempt."""
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(open_link(self.url))
        self._link = await asyncio.shield(self._connecting)
        return self._link

    async def _write_over_cluster(self, batch: _Batch) -> tuple[int, list[Stored | Refused]]:
        client, scripts = self._async_client()
        try:
            # redis-py refuses scripts in a cluster pipeline; its script objects reload a script
            # after NOSCRIPT themselves. Each script is still atomic on its slot.
            replies = [await scripts[script](**call, client=client) for script, call in batch.calls]
        except (redis.exceptions.RedisError, OSError) as exc:
            raise StoreError(f"the Redis store failed (write batch): {exc}") from exc
        return self._batch_results(batch, replies)

    def _async_client(self) -> tuple[Any, dict[Any, Any]]:
        """The asyncio cluster client (made on first use, in the server's loop) and its
        scripts, keyed by the synchronous script objects that ``_batch`` names."""
        if self._aredis is None:
            self._aredis = _client(self.url, use_asyncio=True)
            self._ascripts = {
                self._ack: self._aredis.register_script(_ACK),
                self._enqueue: self._aredis.register_script(_ENQUEUE),
            }
        return self._aredis, self._ascripts

    async def aclose(self) -> None:
        """Close what ``write_batch_async`` opened: the link, or the cluster client."""
        if self._link is not None:
            self._link.close()
            self._link = None
        if self._aredis is not None:
            client, self._aredis = self._aredis, None
            await client.aclose()

    def _batch(
        self, acks: Sequence[tuple[bytes, Sequence[bytes]]], sends: Sequence[Enqueue]
    ) -> _Batch:
        """The script calls of a batch: one ack script per account, one enqueue per recipient."""
        acks = [(recipient, ids) for recipient, ids in acks if ids]
        for recipient, _ in acks:
            self._usage.pop(recipient, None)
        by_recipient: dict[bytes, list[int]] = {}
        for index, item in enumerate(sends):
            by_recipient.setdefault(item.recipient, []).append(index)
        calls: list[tuple[Any, dict[str, Any]]] = [
            (self._ack, {"keys": _queue_keys(_tag(recipient)), "args": list(ids)})
            for recipient, ids in acks
        ]
        for recipient, indices in by_recipient.items():
            self._usage.pop(recipient, None)
            tag = _tag(recipient)
            args: list[Any] = [
                self._quota_messages,
                self._quota_bytes,
                WAKE_CHANNEL + tag,
                self.publisher,
                WAKE_PAYLOAD_BYTES,
            ]
            for index in indices:
                item = sends[index]
                record = _HEAD.pack(item.now, item.expires_at, item.sender) + item.payload
                args += (item.message_id, item.sender, record)
            calls.append((self._enqueue, {"keys": _queue_keys(tag), "args": args}))
        return _Batch(calls, len(acks), sends, list(by_recipient.values()))

    def _batch_results(
        self, batch: _Batch, replies: Sequence[Any]
    ) -> tuple[int, list[Stored | Refused]]:
        deleted = sum(int(reply) for reply in replies[: batch.acks])
        self._count(-deleted)
        results: list[Stored | Refused] = [_NOT_RUN] * len(batch.sends)
        for indices, reply in zip(batch.by_recipient, replies[batch.acks :], strict=True):
            for index, answer in zip(indices, reply, strict=True):
                results[index] = self._enqueued(batch.sends[index], answer)
        return deleted, results

    def _enqueued(self, item: Enqueue, reply: Any) -> Stored | Refused:
        kind = reply[0]
        if kind == b"ok":
            self._count(1)
            return Stored(int(reply[1]), item.now, item.expires_at, duplicate=False)
        if kind == b"dup":
            stored_at, original_expiry = struct.unpack(">dd", reply[2])
            return Stored(int(reply[1]), stored_at, original_expiry, duplicate=True)
        if kind == b"conflict":
            return Refused(
                "message_id_conflict",
                "the recipient already has a message with this id from another sender",
            )
        return Refused(
            "quota_exceeded",
            f"the recipient's queue is full ({self._quota_messages} messages or "
            f"{self._quota_bytes} bytes); try again after they come online",
        )

    def usage(self, recipient: bytes) -> tuple[int, int]:
        """The recipient's queue use as last read here, at most ``USAGE_MAX_AGE`` old.

        The core asks before every live (held) forward, where a round trip per message would
        cost more than the rest of the forward; the quota itself is enforced exactly by the
        enqueue script whenever a message is stored, so a stale answer here can only let a
        held message be refused when it is stored (its sender then gets the error)."""
        now = time.monotonic()
        cached = self._usage.get(recipient)
        if cached is not None and now - cached[2] < USAGE_MAX_AGE:
            return cached[0], cached[1]
        count, size = self._run(
            "usage", self._redis.hmget, f"pq:{{{_tag(recipient)}}}:meta", ["n", "b"]
        )
        if len(self._usage) >= USAGE_CACHE_ENTRIES:
            self._usage.clear()
        self._usage[recipient] = (int(count or 0), int(size or 0), now)
        return int(count or 0), int(size or 0)

    def pending(self, recipient: bytes, after_seq: int, limit: int, now: float) -> list[Queued]:
        tag = _tag(recipient)
        rows = self._script(
            "read queue",
            self._pending,
            [f"pq:{{{tag}}}:z", f"pq:{{{tag}}}:m"],
            [after_seq, limit, repr(now)],
        )
        return _queued(rows)

    def ack(self, recipient: bytes, message_id: bytes) -> bool:
        return self.ack_many(recipient, (message_id,)) == 1

    def ack_many(self, recipient: bytes, message_ids: Sequence[bytes]) -> int:
        if not message_ids:
            return 0
        self._usage.pop(recipient, None)
        deleted = int(
            self._script("ack", self._ack, _queue_keys(_tag(recipient)), list(message_ids))
        )
        self._count(-deleted)
        return deleted

    def expire(self, now: float) -> int:
        """Sweep every queue on every node (``SCAN`` for queue metadata keys), a pipeline of
        ``EXPIRE_CHUNK`` queues per round trip."""
        total, now_ = 0, repr(now)
        metas = self._run("scan", lambda: list(self._redis.scan_iter(match="pq:{*}:meta")))
        for start in range(0, len(metas), EXPIRE_CHUNK):
            calls = [
                (self._expire, {"keys": _queue_keys(bytes(meta).decode()[4:-6]), "args": [now_]})
                for meta in metas[start : start + EXPIRE_CHUNK]
            ]
            total += sum(int(n) for n in self._call_all("expire", calls))
        self._usage.clear()
        self._count(-total)
        return total

    # --- limits shared by every relay process -----------------------------------------------

    def claim_connection(self, account: bytes, conn_id: int, limit: int, lease: float) -> bool:
        """Count this connection against the account's cap over all processes (a lease)."""
        claimed = self._script(
            "connection cap",
            self._claim_connection,
            [f"cn:{{{_tag(account)}}}"],
            [self._member(conn_id), limit, lease],
        )
        return bool(claimed)

    def release_connection(self, account: bytes, conn_id: int) -> None:
        self._run(
            "connection cap", self._redis.zrem, f"cn:{{{_tag(account)}}}", self._member(conn_id)
        )

    def renew_connections(self, conns: Sequence[tuple[bytes, int]], lease: float) -> None:
        """Extend the leases of this process's live connections (one pipeline)."""
        if not conns:
            return
        calls = [
            (
                self._renew_connection,
                {"keys": [f"cn:{{{_tag(a)}}}"], "args": [self._member(c), lease]},
            )
            for a, c in conns
        ]
        self._call_all("connection leases", calls)

    def take_tokens(
        self, account: bytes, want: int, rate: float, burst: float, bucket: str = "rate"
    ) -> int:
        """Up to ``want`` tokens from one of the account's buckets shared by every process."""
        granted = self._script(
            "rate limit",
            self._take_tokens,
            [f"{_BUCKETS[bucket]}:{{{_tag(account)}}}"],
            [want, repr(rate), repr(burst)],
        )
        return int(granted)

    def claim_prekey_pair(self, requester: bytes, target: bytes, interval: float) -> bool:
        if interval <= 0:
            return True
        claimed = self._run(
            "prekey fetch limit",
            self._redis.set,
            _pair_key(requester, target),
            b"1",
            nx=True,
            px=max(1, int(interval * 1000)),
        )
        return bool(claimed)

    def prekey_pair_recent(self, requester: bytes, target: bytes) -> bool:
        return bool(
            self._run("prekey fetch limit", self._redis.exists, _pair_key(requester, target))
        )

    def _member(self, conn_id: int) -> str:
        return f"{self.publisher}/{conn_id}"

    # --- for tests and operators -------------------------------------------------------------

    def flush_for_tests(self) -> None:
        """Delete every key of this database (tests start each case from empty)."""
        self._run("flush", self._redis.flushdb)


def decode_wake(data: bytes) -> tuple[bytes, list[Queued] | None]:
    """A wake-up message: the publishing process's id, and the messages it stored (None when it
    did not carry them, or carried something this version cannot read: read the queue then)."""
    try:
        message = msgpack.unpackb(data, raw=True)
        publisher = message[0]
        if not isinstance(publisher, bytes):
            raise TypeError("publisher")
        if len(message) < 2:
            return publisher, None
        flat = message[1]
        fresh = []
        for i in range(0, len(flat) - 2, 3):
            message_id, seq, record = flat[i : i + 3]
            if not isinstance(message_id, bytes) or not isinstance(record, bytes):
                raise TypeError("entry")
            stored_at, _, sender = _HEAD.unpack_from(record)
            fresh.append(Queued(int(seq), sender, message_id, record[48:], stored_at))
        return publisher, fresh
    except (ValueError, TypeError, IndexError, KeyError, struct.error, msgpack.UnpackException):
        return b"", None


_BUCKETS = {"rate": "rl", "otk-requester": "or", "otk-target": "ot"}


def _pair_key(requester: bytes, target: bytes) -> str:
    """Under the requester's tag: the requester's fetch decides, whoever the target is."""
    return f"op:{{{_tag(requester)}}}:{target.hex()}"


def _queued(rows: Sequence[Any]) -> list[Queued]:
    """A queue page as ``read_queue`` returns it: {id, seq, record, id, seq, record, ...}."""
    out: list[Queued] = []
    for i in range(0, len(rows), 3):
        record = bytes(rows[i + 2])
        stored_at, _, sender = _HEAD.unpack_from(record)
        out.append(Queued(int(float(rows[i + 1])), sender, bytes(rows[i]), record[48:], stored_at))
    return out


def _tag(account: bytes) -> str:
    """The account as the hash tag of all its keys (hex, so keys stay printable)."""
    return account.hex()


def _queue_keys(tag: str) -> list[str]:
    base = f"pq:{{{tag}}}"
    return [f"{base}:meta", f"{base}:z", f"{base}:m"]


def _prekey_keys(account: bytes) -> list[str]:
    base = f"pk:{{{_tag(account)}}}"
    return [f"{base}:s", f"{base}:l", f"{base}:set"]


def _safe(url: str) -> str:
    """The URL without a password, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))
