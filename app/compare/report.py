"""From a run's facts to report.md and report.html (the same sections, see doc.py)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from parley.app.compare import charts, properties
from parley.app.compare.doc import Chart, Item, Link, Para, Section, Table, markdown, render_html
from parley.app.compare.evidence import Cell
from parley.app.compare.run import PARTIES, VARIANTS, Facts
from parley.app.compare.scenario import Sent, Side
from parley.app.compare.steps import NotRun
from parley.app.compare.wheels import WheelInfo

TITLE = "Parley: the standard build and the warrant build, compared"


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _side(facts: Facts, variant: str) -> Side | None:
    side = facts.sides.get(variant)
    return side if isinstance(side, Side) else None


def _reason(facts: Facts, variant: str) -> str:
    side = facts.sides.get(variant)
    return side.reason if isinstance(side, NotRun) else "not installed"


def _values(side: Side | None, attr: str, kind: str | None = None) -> list[float]:
    if side is None:
        return []
    return [float(getattr(s, attr)) for s in side.sent if kind is None or s.kind == kind]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}"


def _median_cell(facts: Facts, variant: str, attr: str, kind: str | None, unit: str) -> Item:
    side = _side(facts, variant)
    values = _values(side, attr, kind)
    if side is None or not values:
        return Cell("not run", _reason(facts, variant))
    s = charts.summary(values)
    ref = facts.relay_saw.get(variant, {}).get("conversation")
    text = f"median {_fmt(s['median'])} {unit} (p10 {_fmt(s['p10'])}, p90 {_fmt(s['p90'])}, "
    text += f"n={len(values)})"
    return Cell("shown", text, ref)


def _wheel(facts: Facts, variant: str) -> str:
    info = facts.wheels.get(variant)
    if isinstance(info, WheelInfo):
        return f"{info.path.name} sha256 {info.sha256}"
    return f"not run: {info.reason if isinstance(info, NotRun) else 'unknown'}"


def first_page(facts: Facts) -> Section:
    s = Section("Who can read what, and four numbers")
    s.blocks.append(
        Para(
            f"Run {_stamp(facts.started)}, commit {facts.commit}, "
            f"{facts.environment.get('messages per build', '?')} messages per build. "
            f"Standard wheel: {_wheel(facts, 'standard')}. "
            f"Warrant wheel: {_wheel(facts, 'warrant')}."
        )
    )
    s.blocks.append(
        Para(
            "Each cell below is what this run actually got when that party tried to read the "
            "conversation: 'opened' means it read the messages, 'refused' means it could not "
            "(with the reason), 'not run' means this run could not try (with the reason). Every "
            "cell links to the record that produced it."
        )
    )
    rows: list[list[Item]] = []
    for party in PARTIES:
        row: list[Item] = [party]
        for variant in VARIANTS:
            row.append(facts.matrix.get(party, {}).get(variant, Cell("not run", "not reached")))
        rows.append(row)
    s.blocks.append(Table(["who", "standard build", "warrant build"], rows))
    s.blocks.append(Para("The four numbers: " + plain_words(facts)))
    s.blocks.append(Table(["number", "standard build", "warrant build"], four_numbers(facts)))
    return s


def plain_words(facts: Facts) -> str:
    """The four numbers as sentences a policy reader can quote (the table below has the detail)."""
    std, war = _side(facts, "standard"), _side(facts, "warrant")
    out: list[str] = []
    sizes = [_values(s, "frame_bytes", "text") for s in (std, war)]
    if all(sizes):
        a, b = (charts.summary(v)["median"] for v in sizes)
        out.append(
            f"a text message costs {a:.0f} bytes on the way to the relay in the standard build "
            f"and {b:.0f} in the warrant build ({b - a:+.0f} bytes, {100 * (b - a) / a:+.0f}%)."
        )
    else:
        out.append("the message sizes of both builds could not be compared in this run.")
    times = [_values(s, "stored_ms") for s in (std, war)]
    if all(times):
        a, b = (charts.summary(v)["median"] for v in times)
        out.append(f"Sending one takes {a:.0f} ms and {b:.0f} ms until the relay has stored it.")
    if facts.opening_ms:
        seconds = statistics.median(facts.opening_ms) / 1000
        out.append(
            f"Opening one captured message under a warrant took {seconds:.1f} s (the agency's "
            "logged request, three trustees' checked answers, the combination)."
        )
    else:
        out.append("Opening a captured message under a warrant was not done in this run.")
    epoch = facts.blast.get("one stolen epoch key")
    if epoch is not None and epoch.outcome in ("opened", "refused"):
        out.append(f"One stolen epoch key would open {epoch.text.split(' (')[0]} in this run.")
    else:
        out.append("What one stolen epoch key would open was not measured in this run.")
    return " ".join(out)


def four_numbers(facts: Facts) -> list[list[Item]]:
    rows: list[list[Item]] = [
        ["1. Bytes per text message sent to the relay"]
        + [_median_cell(facts, v, "frame_bytes", "text", "bytes") for v in VARIANTS],
        ["2. Time to send one message until the relay stored it"]
        + [_median_cell(facts, v, "stored_ms", None, "ms") for v in VARIANTS],
    ]
    opening: list[Item] = ["3. Time to open one captured message under a warrant"]
    opening.append(Cell("n/a", "the standard build carries no envelope to open"))
    opening.append(facts.blast.get("opening", Cell("not run", _warrant_reason(facts))))
    rows.append(opening)
    blast: list[Item] = ["4. Captured messages one stolen epoch key would open in this run"]
    blast.append(Cell("n/a", "the standard build has no escrow key"))
    blast.append(facts.blast.get("one stolen epoch key", Cell("not run", _warrant_reason(facts))))
    rows.append(blast)
    return rows


def _warrant_reason(facts: Facts) -> str:
    cell = facts.matrix.get(PARTIES[5], {}).get("warrant")
    return cell.text if cell is not None else "not reached"


def _property_rows(facts: Facts, props: list[properties.Property]) -> list[list[Item]]:
    rows: list[list[Item]] = []
    for p in props:
        std: Item = p.standard
        war: Item = p.warrant
        std_key, _, war_key = p.shown_by.partition("|")
        war_key = war_key or std_key
        if std_key in facts.matrix:
            std = _annotate(facts.matrix[std_key].get("standard"), p.standard)
            war = _annotate(facts.matrix.get(war_key, {}).get("warrant"), p.warrant)
        elif p.shown_by == "dh_turns":
            std, war = (
                _turns(facts, v, text)
                for v, text in zip(VARIANTS, (p.standard, p.warrant), strict=True)
            )
        elif p.shown_by == "rotation":
            std, war = (
                _rotation(facts, v, text)
                for v, text in zip(VARIANTS, (p.standard, p.warrant), strict=True)
            )
        elif p.shown_by == "offline":
            std, war = (
                _offline(facts, v, text)
                for v, text in zip(VARIANTS, (p.standard, p.warrant), strict=True)
            )
        rows.append([p.name, std, war, p.change or "unchanged"])
    return rows


def _annotate(cell: Cell | None, claim: str) -> Item:
    if cell is None:
        return claim
    if cell.outcome == "not run":
        return Cell("not run", f"{cell.text} (the design claims: {claim})")
    return Cell("shown", f"{claim}. This run: {cell.outcome}, {cell.text}", cell.evidence)


def _turns(facts: Facts, variant: str, claim: str) -> Item:
    side = _side(facts, variant)
    if side is None:
        return Cell("not run", _reason(facts, variant))
    ref = facts.relay_saw[variant]["conversation"]
    return Cell("shown", f"{claim}. This run: {side.dh_turns} DH ratchet steps", ref)


def _rotation(facts: Facts, variant: str, claim: str) -> Item:
    side = _side(facts, variant)
    if side is None:
        return Cell("not run", _reason(facts, variant))
    ids = side.rotation.get("key_ids", {})
    text = f"{claim}. This run: Bob rotated key {ids.get('before')} -> {ids.get('after')}; "
    text += "the relay served the new one and the conversation went on"
    return Cell("shown", text, facts.relay_saw[variant]["conversation"])


def _offline(facts: Facts, variant: str, claim: str) -> Item:
    side = _side(facts, variant)
    if side is None:
        return Cell("not run", _reason(facts, variant))
    held = [s for s in side.sent if s.mode == "offline"]
    got = sum(1 for s in held if s.received)
    text = f"{claim}. This run: {got} of {len(held)} messages sent while Bob was offline arrived"
    return Cell("shown", text, facts.relay_saw[variant]["at_rest"])


def properties_section(facts: Facts) -> Section:
    s = Section("Security properties (SoK: Secure Messaging, Unger et al. 2015)")
    s.blocks.append(
        Para(
            "Where a cell says 'This run:', the property was exercised by this run and links to "
            "its evidence; other cells state the design's claim, 'not claimed' or 'not "
            "applicable', as the SoK's vocabulary asks."
        )
    )
    header = ["property", "standard build", "warrant build", "what the warrant build changes"]
    for title, props in (
        ("Conversation security", properties.SOK_SECURITY),
        ("Conversation privacy", properties.SOK_PRIVACY),
        ("Usability and adoption", properties.SOK_USABILITY),
        ("Trust establishment", properties.SOK_TRUST),
        ("Transport privacy", properties.SOK_TRANSPORT),
    ):
        s.blocks.append(Para(title))
        s.blocks.append(Table(header, _property_rows(facts, props)))
    return s


def eff_section(facts: Facts) -> Section:
    s = Section("EFF Secure Messaging Scorecard (2014)")
    rows = [row[:3] for row in _property_rows(facts, properties.EFF)]
    s.blocks.append(Table(["question", "standard build", "warrant build"], rows))
    return s


def cost_section(facts: Facts) -> Section:
    s = Section("Cost")
    s.blocks.append(
        Para(
            "Bytes: the exact frame the relay received for each message (the sender's record of "
            "it). Time: from the send call until the relay confirmed storing the message, and "
            "the part of it spent encrypting and committing locally. Every value is drawn."
        )
    )
    rows: list[list[Item]] = []
    for label, attr, kind, unit in (
        ("text frame bytes", "frame_bytes", "text", "bytes"),
        ("picture frame bytes", "frame_bytes", "picture", "bytes"),
        ("time until stored by the relay", "stored_ms", None, "ms"),
        ("time to encrypt and commit", "encrypt_ms", None, "ms"),
    ):
        rows.append([label] + [_median_cell(facts, v, attr, kind, unit) for v in VARIANTS])
        series = {v: _values(_side(facts, v), attr, kind) for v in VARIANTS}
        s.blocks.append(Chart(charts.distribution(series, unit, label), f"{label}, per message"))
    s.blocks.append(Table(["measure", "standard build", "warrant build"], rows))
    extra: list[list[Item]] = []
    volumes: list[Item] = [facts.capture.get(v, Cell("not run", "not reached")) for v in VARIANTS]
    extra.append(["capture volume", *volumes])
    latency: Item = facts.blast.get("opening", Cell("not run", _warrant_reason(facts)))
    extra.append(["opening latency", Cell("n/a", "nothing to open"), latency])
    for key in ("one stolen epoch key", "one stolen master key"):
        label = f"blast radius: {key}"
        extra.append(
            [label, Cell("n/a", "no escrow key exists"), facts.blast.get(key, Cell("not run", ""))]
        )
    s.blocks.append(Table(["measure", "standard build", "warrant build"], extra))
    return s


def relay_section(facts: Facts) -> Section:
    s = Section("What the relay saw")
    s.blocks.append(
        Para(
            "Side by side, what the relay received and kept for the same conversation. The "
            "relay's database was read while Bob was offline, as its operator could read it."
        )
    )
    rows: list[list[Item]] = []

    def per(fn: object) -> list[Item]:
        out: list[Item] = []
        for v in VARIANTS:
            side = _side(facts, v)
            out.append(Cell("not run", _reason(facts, v)) if side is None else fn(side))  # type: ignore[operator]
        return out

    def kept(side: Side) -> Item:
        snap = side.offline_snapshot
        cols = ", ".join(c for c in snap["queue_columns"] if c != "seq")
        return Cell(
            "shown", f"per queued message: {cols}", facts.relay_saw[side.variant]["at_rest"]
        )

    def held(side: Side) -> Item:
        snap = side.offline_snapshot
        sizes = [q["payload_bytes"] for q in snap["queue"]]
        text = (
            f"{len(sizes)} messages held for Bob, payload sizes {min(sizes)}-{max(sizes)} bytes"
            if sizes
            else "none"
        )
        return Cell("shown", text, facts.relay_saw[side.variant]["at_rest"])

    def frames(side: Side) -> Item:
        total = sum(x.frame_bytes for x in side.sent)
        return Cell(
            "shown",
            f"{len(side.sent)} frames, {total} bytes in all",
            facts.relay_saw[side.variant]["conversation"],
        )

    rows.append(["fields kept at rest", *per(kept)])
    rows.append(["held while the recipient was offline", *per(held)])
    rows.append(["frames received", *per(frames)])

    def captured(side: Side) -> Item:
        cell = facts.relay_saw.get(side.variant, {}).get("capture")
        return cell if isinstance(cell, Cell) else Cell("not run", "no capture in this run")

    rows.append(["kept for a warranted target (--lawful-intercept)", *per(captured)])
    rows.append(
        [
            "plaintext found",
            *[facts.matrix.get("relay operator", {}).get(v, Cell("not run", "")) for v in VARIANTS],
        ]
    )
    s.blocks.append(Table(["", "standard build", "warrant build"], rows))
    return s


def interop_section(facts: Facts) -> Section:
    s = Section("Interoperability (mixed standard/warrant pair)")
    rows: list[list[Item]] = [[k, v] for k, v in facts.interop.items()]
    s.blocks.append(Table(["direction (mixed-traffic policy)", "result"], rows))
    return s


def bypass_section(facts: Facts) -> Section:
    s = Section("Bypasses and abuses")
    s.blocks.append(
        Para(
            "Each attempt is made by a modified program or a dishonest party against the real "
            "pipeline. Two colluding modified clients cannot be stopped by any envelope scheme "
            "(Blaze 1994): the report states it rather than hiding it."
        )
    )
    s.blocks.append(
        Table(["attempt", "result (warrant build)"], [[k, v] for k, v in facts.bypass.items()])
    )
    s.blocks.append(Table(["audit log", "result"], [["verification", facts.audit]]))
    return s


def builds_section(facts: Facts) -> Section:
    s = Section("Builds and run")
    rows: list[list[Item]] = []
    for v in facts.wheels:
        info = facts.wheels.get(v)
        if isinstance(info, WheelInfo):
            settings = "; ".join(f"{k}={val}" for k, val in facts.build_settings.get(v, {}).items())
            rows.append([v, info.path.name, info.version, str(info.size), info.sha256, settings])
        else:
            reason = info.reason if isinstance(info, NotRun) else "unknown"
            rows.append([v, Cell("not run", reason), "", "", "", ""])
    s.blocks.append(
        Table(["build", "wheel", "version", "bytes", "SHA-256", "build settings"], rows)
    )
    env: list[list[Item]] = [
        ["run started", _stamp(facts.started)],
        ["run finished", _stamp(facts.finished)],
        ["commit", facts.commit],
    ]
    for key, value in facts.environment.items():
        env.append([key, value])
    for name, seconds in facts.phase_seconds.items():
        env.append([f"phase {name}", f"{seconds:.1f} s"])
    env.append(["logs", Link("logs/", "logs/")])
    s.blocks.append(Table(["", ""], env))
    s.blocks.append(
        Para(
            "Test accounts use the minimum Argon2id cost for their throw-away passphrase; it "
            "does not affect any figure above (unlocking is not part of sending)."
        )
    )
    return s


def not_run_section(facts: Facts, sections: list[Section]) -> Section:
    s = Section("What this run could not do")
    seen: list[list[Item]] = []
    for section in sections:
        for block in section.blocks:
            if isinstance(block, Table):
                for row in block.rows:
                    for item in row[1:]:
                        if isinstance(item, Cell) and item.outcome == "not run" and item.text:
                            seen.append([f"{section.title}: {row[0]}", item.text])
    s.blocks.append(Para(f"{len(seen)} cells were not run." if seen else "Every cell ran."))
    if seen:
        s.blocks.append(Table(["cell", "reason"], seen))
    return s


def write(facts: Facts, out: Path) -> None:
    sections = [
        first_page(facts),
        properties_section(facts),
        eff_section(facts),
        cost_section(facts),
        relay_section(facts),
        interop_section(facts),
        bypass_section(facts),
        builds_section(facts),
    ]
    sections.append(not_run_section(facts, sections))
    (out / "report.md").write_text(markdown(TITLE, sections) + "\n", encoding="utf-8")
    (out / "report.html").write_text(render_html(TITLE, sections) + "\n", encoding="utf-8")


__all__ = ["Sent", "write"]
