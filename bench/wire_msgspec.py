"""The relay's frame decoding with msgspec's fast path against the hand-written checks alone, on
the hot path (a client's ``send`` and ``ack`` frames, decoded and validated). One JSON line last.

``wire.decode_client_frame`` decodes send and ack frames with msgspec (typed Structs, ``Meta``
constraints) and falls back to ``wire.parse_client_frame``, the hand-written checks, for anything
msgspec refuses; the baseline is ``parse_client_frame`` on the same bytes in the same run.
"""

from __future__ import annotations

import os

from _common import best_of, emit
from parley.net import wire

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
NUMBER = 2_000 if QUICK else 100_000


def main() -> int:
    frames = {
        "send": wire.encode(wire.Send(7, b"r" * 32, b"m" * 16, bytes(256))),
        "ack": wire.encode(wire.Ack(b"m" * 16, tuple(bytes([n]) * 16 for n in range(8)))),
    }
    figures: dict[str, float | int] = {}
    for name, data in frames.items():
        if wire.decode_client_frame(data) != wire.parse_client_frame(data):
            raise SystemExit(f"the two decoders disagree on a {name} frame")
        hand = best_of(lambda d=data: wire.parse_client_frame(d), number=NUMBER)  # type: ignore[misc]
        fast = best_of(lambda d=data: wire.decode_client_frame(d), number=NUMBER)  # type: ignore[misc]
        figures[f"{name}_hand_us"] = hand * 1e6
        figures[f"{name}_msgspec_us"] = fast * 1e6
        figures[f"{name}_msgspec_ratio"] = fast / hand
    figures["quick"] = int(QUICK)
    emit(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
