"""The report as one document model, rendered twice: Markdown and self-contained HTML.

Both files come from the same blocks, so they cannot disagree: a table is the same rows in both, a
chart is an inline SVG in the HTML and the table of its numbers in both.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from parley.app.compare.evidence import Cell


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    href: str


Item = str | Link | Cell


@dataclass(frozen=True, slots=True)
class Para:
    text: str


@dataclass(frozen=True, slots=True)
class Table:
    header: list[str]
    rows: list[list[Item]]


@dataclass(frozen=True, slots=True)
class Chart:
    svg: str
    caption: str


@dataclass
class Section:
    title: str
    blocks: list[Para | Table | Chart] = field(default_factory=list)


# ---- Markdown ------------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_item(item: Item) -> str:
    if isinstance(item, Link):
        return f"[{_md_escape(item.text)}]({item.href})"
    if isinstance(item, Cell):
        label = _md_escape(item.label)
        return f"{label} ([evidence]({item.evidence}))" if item.evidence else label
    return _md_escape(item)


def markdown(title: str, sections: list[Section]) -> str:
    out = [f"# {title}", ""]
    for section in sections:
        out += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Para):
                out += [block.text, ""]
            elif isinstance(block, Table):
                out.append("| " + " | ".join(_md_escape(h) for h in block.header) + " |")
                out.append("|" + "---|" * len(block.header))
                out += ["| " + " | ".join(_md_item(i) for i in row) + " |" for row in block.rows]
                out.append("")
            else:
                out += [f"*Chart (in report.html): {block.caption}*", ""]
    return "\n".join(out)


# ---- HTML ----------------------------------------------------------------------------------------

CSS = """
body{font:15px/1.45 'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1100px;color:#1d232a;
padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #d6dde4;padding-bottom:.2em;
margin-top:1.8em}
table{border-collapse:collapse;width:100%;margin:.6em 0 1em}
th,td{border:1px solid #cfd6dd;padding:.35em .5em;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
td:first-child,th:first-child{min-width:9em;overflow-wrap:normal}
th{background:#eef2f5}
td.opened,td.delivered,td.shown{background:#fdecea}td.refused,td.rejected{background:#e8f5ec}
td.shown{background:#eef4fb}
td.notrun{background:#f4f4f4;color:#666;font-style:italic}
td.opened.good,td.delivered.good{background:#e8f5ec}
.o{font-weight:bold;text-transform:uppercase;font-size:.78em;letter-spacing:.04em}
a{color:#1a5fb4}figure{margin:1em 0}figcaption{font-size:.9em;color:#555}
.first{border:2px solid #1a5fb4;padding:0 1em;border-radius:6px}
"""

GOOD_OPENERS = {"sender", "recipient"}


def _html_item(item: Item, row_label: str) -> str:
    if isinstance(item, Link):
        return f'<td><a href="{html.escape(item.href)}">{html.escape(item.text)}</a></td>'
    if isinstance(item, Cell):
        kind = item.outcome.replace(" ", "").replace("/", "")
        # Reading is good for the two parties; a delivery is good for an honest message (the
        # control, the mixed pairs), and bad when a modified client got one through.
        expected = row_label in GOOD_OPENERS or row_label.startswith("(control)")
        good = " good" if expected or "->" in row_label else ""
        text = html.escape(item.text)
        link = f' <a href="{html.escape(item.evidence)}">evidence</a>' if item.evidence else ""
        outcome = html.escape(item.outcome)
        return f'<td class="{kind}{good}"><span class="o">{outcome}</span> {text}{link}</td>'
    return f"<td>{html.escape(item)}</td>"


def render_html(title: str, sections: list[Section]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for index, section in enumerate(sections):
        parts.append('<section class="first">' if index == 0 else "<section>")
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Para):
                parts.append(f"<p>{html.escape(block.text)}</p>")
            elif isinstance(block, Table):
                parts.append("<table><tr>")
                parts += [f"<th>{html.escape(h)}</th>" for h in block.header]
                parts.append("</tr>")
                for row in block.rows:
                    label = row[0] if row and isinstance(row[0], str) else ""
                    parts.append("<tr>" + "".join(_html_item(i, label) for i in row) + "</tr>")
                parts.append("</table>")
            else:
                caption = html.escape(block.caption)
                parts.append(f"<figure>{block.svg}<figcaption>{caption}</figcaption></figure>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
