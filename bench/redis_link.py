"""The relay's own Redis link (net/relay/redis_link.py) against redis-py's asyncio client, on the
two paths it took over, against a real redis-server started here. One JSON line last.

Both sides run in this process, one after the other, with the same commands and the same
server; the figures are this process's CPU (``time.process_time``) per operation, which is what
the relay pays, and the wall time beside it.

- ``*_round_trip_us``: one batch write as the relay makes it: a pipelined ``EVALSHA`` of a
  script that stores a record and publishes a wake-up (the shape of the enqueue script), awaited
  before the next (one batch in flight). redis-py: ``pipeline().evalsha().execute()`` as the
  relay did; the link: ``call`` with a callback that resolves a future.
- ``*_sync_round_trip_us``: the same script call, waited for, from the synchronous store (a
  login, a queue read): redis-py's synchronous client against ``BlockingRedisLink``.
- ``*_wake_us``: one wake-up received: a publisher on another connection publishes, the
  subscriber hands the message on, and the publisher publishes the next only then. The publisher
  is the same link on both sides, so the difference is the reader: redis-py's
  ``PubSub.get_message`` loop (what wakeups.py ran) against the link in push mode.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from _common import emit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from parley.net.relay.redis_link import BlockingRedisLink, RedisLink, open_link

from tests.redis_server import RedisServer

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
CALLS = 200 if QUICK else 5000
REPEAT = 1 if QUICK else 3
SCRIPT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return {'ok', 1}
"""
RECORD = b"r" * 300


async def _per_call(times: int, one: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Best of REPEAT rounds: (CPU us, wall us) per call."""
    best = (float("inf"), float("inf"))
    for _ in range(REPEAT):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(times):
            await one()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        best = min(best, (cpu / times * 1e6, wall / times * 1e6))
    return best


async def round_trips(url: str) -> dict[str, float]:
    client = aioredis.Redis.from_url(url)
    sha = await client.script_load(SCRIPT)
    args = (2, "bench:m", "bench:c", b"id", RECORD)

    async def with_redis_py() -> object:
        pipe = client.pipeline(transaction=False)
        pipe.evalsha(sha, *args)
        return await pipe.execute(raise_on_error=False)

    link = await open_link(url)

    def with_link() -> Awaitable[list[Any]]:
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        link.call([("EVALSHA", sha, *args)], future.set_result)  # type: ignore[arg-type]
        return future

    try:
        redis_py = await _per_call(CALLS, with_redis_py)
        ours = await _per_call(CALLS, with_link)
    finally:
        link.close()
        await client.aclose()
    return {
        "redis_py_round_trip_us": redis_py[0],
        "link_round_trip_us": ours[0],
        "redis_py_round_trip_wall_us": redis_py[1],
        "link_round_trip_wall_us": ours[1],
    }


def sync_round_trips(url: str) -> dict[str, float]:
    client = redis.Redis.from_url(url)
    link = BlockingRedisLink(url)
    sha = client.script_load(SCRIPT)
    args = (2, "bench:m", "bench:c", b"id", RECORD)
    command = [("EVALSHA", sha, *args)]

    def per_call(one: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(REPEAT):
            cpu = time.process_time()
            for _ in range(CALLS):
                one()
            best = min(best, (time.process_time() - cpu) / CALLS * 1e6)
        return best

    try:
        return {
            "redis_py_sync_round_trip_us": per_call(lambda: client.evalsha(sha, *args)),
            "blocking_link_round_trip_us": per_call(lambda: link.request(command)),
        }
    finally:
        link.close()
        client.close()


async def wakes(url: str) -> dict[str, float]:
    publisher = await open_link(url)
    got: asyncio.Queue[object] = asyncio.Queue()

    async def publish_one() -> object:
        await publisher.request([("PUBLISH", "bench:wake", RECORD)])
        return await got.get()

    client = aioredis.Redis.from_url(url)
    pubsub: Any = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("bench:wake")

    async def read_with_redis_py() -> None:
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is not None and message["type"] == "message":
                got.put_nowait(message["data"])

    reader = asyncio.ensure_future(read_with_redis_py())
    try:
        redis_py = await _per_call(CALLS, publish_one)
    finally:
        reader.cancel()
        await pubsub.aclose()
        await client.aclose()

    subscriber: RedisLink = await open_link(url)
    subscriber.push_mode(lambda push: got.put_nowait(push) if push[0] == b"message" else None)
    subscriber.send([("SUBSCRIBE", "bench:wake")])
    await asyncio.sleep(0.1)  # the subscription is confirmed before the first publish
    try:
        ours = await _per_call(CALLS, publish_one)
    finally:
        subscriber.close()
        publisher.close()
    return {"redis_py_wake_us": redis_py[0], "link_wake_us": ours[0]}


async def bench(url: str) -> dict[str, float | int]:
    figures: dict[str, float | int] = {}
    figures.update(await round_trips(url))
    figures.update(sync_round_trips(url))
    figures.update(await wakes(url))
    figures["round_trip_ratio"] = figures["redis_py_round_trip_us"] / figures["link_round_trip_us"]
    figures["wake_ratio"] = figures["redis_py_wake_us"] / figures["link_wake_us"]
    figures.update(calls=CALLS, quick=int(QUICK))
    return figures


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="parley-bench-link-") as tmp:
        redis = RedisServer(Path(tmp) / "redis", appendfsync="no").start()
        try:
            figures = asyncio.run(bench(redis.url))
        finally:
            redis.stop()
    print(
        f"round trip: redis-py {figures['redis_py_round_trip_us']:.0f} us CPU, "
        f"link {figures['link_round_trip_us']:.0f} us; waited for: redis-py "
        f"{figures['redis_py_sync_round_trip_us']:.0f} us, blocking link "
        f"{figures['blocking_link_round_trip_us']:.0f} us; wake-up: redis-py "
        f"{figures['redis_py_wake_us']:.0f} us, link {figures['link_wake_us']:.0f} us "
        "(the publisher's cost included on both sides)"
    )
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
