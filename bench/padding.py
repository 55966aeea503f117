"""What message padding costs on a realistic mix, and what it hides: Parley's rule (app/padding.py:
one 160-byte block at least, Padme above) against Signal's 160-byte blocks, Padme alone and no
padding, in the same run.

The mix (per 1,000 messages, fixed seed; a chat's traffic is mostly receipts and short texts):
450 delivery receipts (1 id, sometimes 2-8), 150 read receipts (1-20 ids), 300 short texts
(2-80 characters), 80 medium (80-600), 15 long (600-4,000), 5 pictures (30-200 KiB of picture
data). Each message is encoded by app/content.py as the app sends it (with the sender's name and
time) and measured as the relay sees it: the session message around it (version, type, ratchet
header, extension length, Poly1305 tag: 60 bytes).

Figures (one JSON line, last):

- ``overhead_<scheme>_pct`` (scheme: ``parley``, ``block160``, ``padme``): bytes added over the
  unpadded mix's bytes, in percent; ``overhead_small_<scheme>_pct`` the same without pictures.
- ``sizes_small_<scheme>`` (and ``_unpadded``): how many distinct wire sizes the receipts of under
  60 bytes and the short texts of under 90 bytes of content have (1 = indistinguishable).
- ``picture_sizes_<scheme>``: distinct wire sizes among the mix's pictures (each picture has its
  own size; fewer = a size tells less).

PARLEY_BENCH_QUICK=1 uses 200 messages instead of 10,000.
"""

from __future__ import annotations

import os
import random

from _common import emit
from parley.app import content, padding

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
COUNT = 200 if QUICK else 10_000
SESSION_OVERHEAD = 2 + 40 + 2 + 16  # version, type, ratchet header, extension length, tag
WORDS = [
    "the",
    "a",
    "to",
    "and",
    "you",
    "I",
    "it",
    "is",
    "that",
    "of",
    "in",
    "on",
    "for",
    "at",
    "ok",
    "yes",
    "no",
    "see",
    "soon",
    "later",
    "café",
    "🙂",
]


def block160(length: int) -> int:
    """Signal's rule: content, 0x80 and (here) the marker byte, rounded up to 160-byte blocks."""
    return -(-(length + 2) // padding.BLOCK) * padding.BLOCK


def _text(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < target:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:target]


def _ids(rng: random.Random, count: int) -> tuple[bytes, ...]:
    return tuple(rng.randbytes(16) for _ in range(count))


def mix(count: int) -> list[tuple[str, bytes]]:
    """(kind, encoded content) of ``count`` messages in the proportions of the module docstring."""
    rng = random.Random(14)
    out: list[tuple[str, bytes]] = []
    body: content.Content
    for _ in range(count):
        roll = rng.randrange(1000)
        at = 1_790_000_000 + rng.random() * 1e6
        if roll < 450:
            many = rng.random() < 0.1
            kind, body = (
                "receipt",
                content.Receipt("delivered", _ids(rng, rng.randint(2, 8) if many else 1)),
            )
        elif roll < 600:
            kind, body = "receipt", content.Receipt("read", _ids(rng, rng.randint(1, 20)))
        elif roll < 900:
            kind, body = "short", content.Text(at, _text(rng, 2, 80), "alice")
        elif roll < 980:
            kind, body = "medium", content.Text(at, _text(rng, 80, 600), "alice")
        elif roll < 995:
            kind, body = "long", content.Text(at, _text(rng, 600, 4000), "alice")
        else:
            size = rng.randint(30 * 1024, 200 * 1024)
            picture = content.PictureRef(
                rng.randbytes(32),
                rng.randbytes(32),
                rng.randbytes(size + 40),
                "image/jpeg",
                1024,
                768,
                size,
                "IMG_0001.jpg",
            )
            kind, body = "picture", content.Picture(at, "", picture, "alice")
        out.append((kind, _unpadded(body)))
    return out


def _unpadded(body: content.Content) -> bytes:
    """The content bytes before padding (what Parley sent before padding existed)."""
    return padding.unpad(content.encode(body))


def main() -> None:
    messages = mix(COUNT)
    schemes = {
        "unpadded": lambda n: n,
        "block160": block160,
        "padme": lambda n: padding.padme(n + 2),
        "parley": padding.padded_length,
    }
    figures: dict[str, float | int] = {}
    base_all = base_small = 0
    print(f"padding on {COUNT} messages (quick mode: {QUICK})")
    for name, size_of in schemes.items():
        sizes = [size_of(len(data)) + SESSION_OVERHEAD for _, data in messages]
        total = sum(sizes)
        small = sum(s for (kind, _), s in zip(messages, sizes, strict=True) if kind != "picture")
        if name == "unpadded":
            base_all, base_small = total, small
        alike = {
            s
            for (kind, data), s in zip(messages, sizes, strict=True)
            if (kind == "receipt" and len(data) < 60) or (kind == "short" and len(data) < 90)
        }
        pictures = {s for (kind, _), s in zip(messages, sizes, strict=True) if kind == "picture"}
        extra = round(100 * (total - base_all) / base_all, 2)
        extra_small = round(100 * (small - base_small) / base_small, 2)
        print(
            f"{name:9} {total:>10} bytes (+{extra:5.2f} %, without pictures +{extra_small:6.2f} %)"
            f"  receipt/short-text sizes: {len(alike):3}  picture sizes: {len(pictures)}"
        )
        figures[f"sizes_small_{name}"] = len(alike)
        if name != "unpadded":
            figures[f"overhead_{name}_pct"] = extra
            figures[f"overhead_small_{name}_pct"] = extra_small
            figures[f"picture_sizes_{name}"] = len(pictures)
    emit({**figures, "quick": int(QUICK)})


if __name__ == "__main__":
    main()
