"""The relay: stores and forwards ciphertext it cannot read. Imports nothing of app/ or ui/.

Modules, each with one job:

- ``protocol``: the sans-I/O core (frames and ``now`` in, frames and closes out); every decision.
- ``store``: the ``RelayStore`` interface and the embedded SQLite implementation (group commit).
- ``limits``: ``RelayConfig`` (operator settings) and the per-account token bucket.
- ``metrics``: counters and their text form for ``GET /metrics``.
- ``server``: the asyncio pump around the core; ``serve_relay`` for in-process use.
- ``connection``: the websockets connection that hands each whole message to the core.
- ``command``: ``parley relay``.
"""
