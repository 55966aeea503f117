"""Distributions as inline SVG: one row per build, every measured value a dot, with its box.

Generated here rather than by a plotting library so that the report has no dependency and opens
offline; the figures are small enough to read at a glance and every value is drawn.
"""

from __future__ import annotations

import html
import statistics

WIDTH, ROW, LEFT, RIGHT, TOP = 720, 46, 110, 20, 26
COLOURS = {"standard": "#1a5fb4", "warrant": "#c64600"}


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation (the same rule as numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": float(len(values)),
        "median": statistics.median(values),
        "p10": quantile(values, 0.1),
        "p90": quantile(values, 0.9),
        "min": min(values),
        "max": max(values),
    }


def _ticks(low: float, high: float) -> list[float]:
    span = high - low or 1.0
    step = 10 ** len(str(int(span / 4))) / 10 if span >= 4 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if span / (step * factor) <= 6:
            step *= factor
            break
    first = (low // step) * step
    return [first + i * step for i in range(12) if first + i * step <= high + 1e-9]


def distribution(series: dict[str, list[float]], unit: str, title: str) -> str:
    """An SVG strip chart: a row per build, its values as dots over a p25-p75 box and median."""
    present = {k: v for k, v in series.items() if v}
    height = TOP + ROW * max(1, len(present)) + 34
    if not present:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'role="img"><text x="10" y="30">{html.escape(title)}: no values</text></svg>'
        )
    everything = [x for v in present.values() for x in v]
    low, high = min(0.0, *everything), max(everything) * 1.05 or 1.0

    def x(value: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (value - low) / (high - low)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{html.escape(title)}" '
        'font-family="DejaVu Sans,Arial,sans-serif" font-size="12">',
        f'<text x="{LEFT}" y="16" font-weight="bold">{html.escape(title)} ({unit})</text>',
    ]
    axis_y = TOP + ROW * len(present) + 4
    for tick in _ticks(low, high):
        tx = x(tick)
        out.append(f'<line x1="{tx:.1f}" y1="{TOP}" x2="{tx:.1f}" y2="{axis_y}" stroke="#e3e7eb"/>')
        out.append(f'<text x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle">{tick:g}</text>')
    for row, (name, values) in enumerate(present.items()):
        y = TOP + ROW * row + ROW / 2
        colour = COLOURS.get(name, "#444")
        q1, med, q3 = quantile(values, 0.25), statistics.median(values), quantile(values, 0.75)
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{name}</text>')
        out.append(
            f'<rect x="{x(q1):.1f}" y="{y - 12:.1f}" width="{max(x(q3) - x(q1), 1):.1f}" '
            f'height="24" fill="{colour}" fill-opacity="0.15" stroke="{colour}"/>'
        )
        for i, value in enumerate(values):
            jitter = ((i * 7919) % 17 - 8) * 1.1  # deterministic spread, so dots do not hide
            out.append(
                f'<circle cx="{x(value):.1f}" cy="{y + jitter:.1f}" r="2.6" fill="{colour}" '
                'fill-opacity="0.6"/>'
            )
        out.append(
            f'<line x1="{x(med):.1f}" y1="{y - 15:.1f}" x2="{x(med):.1f}" y2="{y + 15:.1f}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        right = x(med) > WIDTH - RIGHT - 110  # keep the label inside the figure
        anchor, dx = ("end", -5) if right else ("start", 5)
        out.append(
            f'<text x="{x(med) + dx:.1f}" y="{y - 16:.1f}" text-anchor="{anchor}">'
            f"median {med:.4g}</text>"
        )
    out.append("</svg>")
    return "".join(out)
