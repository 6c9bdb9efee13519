"""The report as a document: blocks (headings, paragraphs, bullets, tables, figures) and the two
renderers that turn them into one self-contained HTML page and a Markdown file.

The report's content is built once as a list of blocks; each renderer escapes every piece of
text it writes, so a scenario's names and descriptions can never inject markup or links.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field


@dataclass
class Strong:
    """Text that stands out: a variant's name, a verdict."""

    text: str


@dataclass
class Code:
    """Text shown exactly as written: a metric's id, a hash, a command."""

    text: str


@dataclass
class Note:
    """A short explanation under a cell's main text (a metric's meaning)."""

    text: str


Span = str | Strong | Code | Note
Cell = Span | list[Span]


@dataclass
class Heading:
    """A heading; level 2 headings are the sections the HTML navigation links to by `anchor`."""

    text: str
    level: int
    anchor: str


@dataclass
class Paragraph:
    """A paragraph; `css` "lead", "note", "pass" or "fail" styles it (in Markdown, the last three
    become a quote)."""

    spans: list[Span]
    css: str = ""


@dataclass
class Bullets:
    """A list; `nested` maps an item's index to the sub-items listed under it (one level)."""

    items: list[list[Span]]
    nested: dict[int, list[list[Span]]] = field(default_factory=dict)


@dataclass
class Table:
    """A table; `row_attrs` and `column_attrs` become data-* attributes of rows and cells in
    HTML (so tests and scripts can find a metric's cell), and are ignored in Markdown."""

    columns: list[str]
    rows: list[list[Cell]]
    table_id: str = ""
    numeric: list[bool] = field(default_factory=list)
    row_attrs: list[dict[str, str]] = field(default_factory=list)
    column_attrs: list[dict[str, str]] = field(default_factory=list)
    group_starts: list[bool] = field(default_factory=list)


@dataclass
class FigureBlock:
    """A rendered figure: embedded as PNG in HTML, referenced as `figures/NAME.png` in Markdown.
    `alt` says in words what the figure shows, for a reader who cannot see it."""

    name: str
    title: str
    caption: str
    png: bytes
    alt: str


@dataclass
class Fold:
    """Detail a reader opens on demand: `<details>` whose `<summary>` is `summary` (in Markdown
    too, which GitHub and most viewers render folded)."""

    summary: list[Span]
    blocks: list[Block]
    anchor: str = ""


Block = Heading | Paragraph | Bullets | Table | FigureBlock | Fold


# ---------------------------------------------------------------------------------------------
# HTML


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
       max-width: 1240px; margin: 2rem auto; padding: 0 1.2rem; line-height: 1.5; }
h1 { font-size: 1.9rem; margin-bottom: .3rem; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: .2rem; margin-top: 2.4rem; }
h3 { margin-top: 1.6rem; }
p.lead { font-size: 1.1rem; color: #333; }
p.note { background: #fff8e1; border-left: 4px solid #e69f00; padding: .5rem .8rem; }
p.pass { background: #e8f5e9; border-left: 4px solid #009e73; padding: .5rem .8rem; }
p.fail { background: #fdecea; border-left: 4px solid #d55e00; padding: .5rem .8rem; }
nav { font-size: .95rem; margin: 1rem 0; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .88rem; width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: .3rem .5rem; vertical-align: top; text-align: left; }
thead th { background: #f0f0f0; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fafafa; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td .ci { display: block; color: #555; font-size: .85em; white-space: normal; }
td .meaning { display: block; color: #555; font-size: .85em; }
tr.group-start td { border-top: 2px solid #888; }
code { font-size: .85em; background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
figure { margin: 1.5rem 0 2.5rem; }
figure img { display: block; max-width: min(100%, 1100px); height: auto;
             border: 1px solid #e5e5e5; }
figcaption { font-size: .92rem; color: #333; margin-top: .4rem; }
details { margin: .5rem 0; border: 1px solid #e0e0e0; border-radius: 4px; padding: .3rem .8rem; }
details > summary { cursor: pointer; font-weight: 600; }
details[open] > summary { margin-bottom: .4rem; }
p.headline { font-size: 1.05rem; margin: .5rem 0; }
td[data-difference] { background: #f4f8fc; }
#key-metrics { width: auto; }
#key-metrics td .ci { white-space: nowrap; }
#key-metrics td:first-child { white-space: nowrap; }
#figure-locked_over_time img { max-width: min(100%, 820px); }
.table-wrap { overflow-x: auto; }
"""


def _text(span: Span) -> str:
    return span if isinstance(span, str) else span.text


_HTML_MARKUP = {
    Strong: "<strong>{}</strong>",
    Code: "<code>{}</code>",
    Note: ' <span class="meaning">{}</span>',
}
"""How each kind of span is marked up in HTML (plain text: as is); "{}" is the escaped text."""


def _html_spans(spans: list[Span]) -> str:
    return "".join(
        _HTML_MARKUP.get(type(span), "{}").format(html.escape(_text(span))) for span in spans
    )


def _html_cell(cell: Cell, numeric: bool) -> str:
    """A cell's content; in a numeric cell, the interval goes under the value (narrow columns
    even with many variants)."""
    spans = cell if isinstance(cell, list) else [cell]
    if numeric and len(spans) == 1 and isinstance(spans[0], str) and " [" in spans[0]:
        value, interval = spans[0].split(" [", 1)
        # A break opportunity after the dash, so a wide interval can wrap in a narrow column.
        interval = html.escape(interval).replace("–", "–<wbr>")
        return f'{html.escape(value)} <span class="ci">[{interval}</span>'
    return _html_spans(spans)


def _data_attrs(attrs: dict[str, str]) -> str:
    return "".join(f' data-{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())


def _html_table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.columns)
    column_attrs = table.column_attrs or [{}] * len(table.columns)
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in table.columns)
    body = []
    for i, row in enumerate(table.rows):
        attrs = _data_attrs(table.row_attrs[i]) if table.row_attrs else ""
        if table.group_starts and table.group_starts[i]:
            attrs += ' class="group-start"'
        cells = []
        for j, cell in enumerate(row):
            css = ' class="num"' if numeric[j] else ""
            content = _html_cell(cell, numeric[j])
            cells.append(f"<td{css}{_data_attrs(column_attrs[j])}>{content}</td>")
        body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    ident = f' id="{html.escape(table.table_id, quote=True)}"' if table.table_id else ""
    return (
        f'<div class="table-wrap"><table{ident}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _html_sub_items(items: list[list[Span]]) -> str:
    if not items:
        return ""
    return "<ul>" + "".join(f"<li>{_html_spans(item)}</li>" for item in items) + "</ul>"


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return (
            f'<h{block.level} id="{html.escape(block.anchor, quote=True)}">'
            f"{html.escape(block.text)}</h{block.level}>"
        )
    if isinstance(block, Paragraph):
        css = f' class="{block.css}"' if block.css else ""
        return f"<p{css}>{_html_spans(block.spans)}</p>"
    if isinstance(block, Bullets):
        items = "".join(
            f"<li>{_html_spans(item)}{_html_sub_items(block.nested.get(i, []))}</li>"
            for i, item in enumerate(block.items)
        )
        return f"<ul>{items}</ul>"
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Fold):
        ident = f' id="{html.escape(block.anchor, quote=True)}"' if block.anchor else ""
        inner = "\n".join(_html_block(b) for b in block.blocks)
        return f"<details{ident}><summary>{_html_spans(block.summary)}</summary>\n{inner}</details>"
    data = base64.b64encode(block.png).decode("ascii")
    name = html.escape(block.name, quote=True)
    return (
        f'<figure id="figure-{name}">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(block.alt, quote=True)}">'
        f"<figcaption><strong>{html.escape(block.title)}.</strong> "
        f"{html.escape(block.caption)} Data: "
        f'<a href="figures/{name}.csv">figures/{name}.csv</a>; for print: '
        f'<a href="figures/{name}.svg">figures/{name}.svg</a>.</figcaption></figure>'
    )


def render_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML page: inline CSS, figures as data URIs, no script."""
    sections = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    nav = "".join(f'<a href="#{b.anchor}">{html.escape(b.text)}</a>' for b in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<nav>{nav}</nav>",
        *(_html_block(block) for block in blocks),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# Markdown

_MD_SPECIAL = re.compile(r"([\\`*_<>|])")


def md_escape(text: str) -> str:
    """Text that Markdown shows as written: emphasis, code, HTML and table pipes escaped, and
    brackets too when they could form a link."""
    text = _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", str(text)))
    if re.search(r"\]\s*[(\[:]", text):
        text = text.replace("[", r"\[").replace("]", r"\]")
    return text


_MD_MARKUP = {Strong: "**{}**", Code: "`{}`", Note: " — {}"}
"""How each kind of span is marked up in Markdown (plain text: as is)."""


def _md_text(span: Span) -> str:
    """Code is shown verbatim between backticks (which it cannot contain); the rest escaped."""
    return span.text.replace("`", "") if isinstance(span, Code) else md_escape(_text(span))


def _md_spans(spans: list[Span]) -> str:
    return "".join(_MD_MARKUP.get(type(span), "{}").format(_md_text(span)) for span in spans)


def _md_table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.columns)
    lines = [
        "| " + " | ".join(md_escape(c) for c in table.columns) + " |",
        "| " + " | ".join("---:" if num else "---" for num in numeric) + " |",
    ]
    for row in table.rows:
        cells = (_md_spans(cell if isinstance(cell, list) else [cell]) for cell in row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _md_alt(text: str) -> str:
    """Alt text inside `![...]`: brackets become parentheses, so none can close it early."""
    return md_escape(text.replace("[", "(").replace("]", ")"))


def _md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {md_escape(block.text)}"
    if isinstance(block, Paragraph):
        text = _md_spans(block.spans)
        return f"> {text}" if block.css in ("note", "fail", "pass") else text
    if isinstance(block, Bullets):
        lines = []
        for i, item in enumerate(block.items):
            lines.append(f"- {_md_spans(item)}")
            lines += [f"  - {_md_spans(sub)}" for sub in block.nested.get(i, [])]
        return "\n".join(lines)
    if isinstance(block, Table):
        return _md_table(block)
    if isinstance(block, Fold):
        # HTML inside Markdown: the summary is HTML-escaped, the body stays Markdown.
        summary = html.escape("".join(_text(span) for span in block.summary))
        inner = "\n\n".join(_md_block(b) for b in block.blocks)
        return f"<details><summary>{summary}</summary>\n\n{inner}\n\n</details>"
    return (
        f"### {md_escape(block.title)}\n\n"
        f"![{_md_alt(block.alt)}](figures/{block.name}.png)\n\n"
        f"{md_escape(block.caption)} Data: [figures/{block.name}.csv]"
        f"(figures/{block.name}.csv); for print: [figures/{block.name}.svg]"
        f"(figures/{block.name}.svg)."
    )


def render_markdown(blocks: list[Block], title: str) -> str:
    """The same document in Markdown, figures referenced as files beside it."""
    return "\n\n".join([f"# {md_escape(title)}", *(_md_block(b) for b in blocks)]) + "\n"


__all__ = [
    "Block",
    "Bullets",
    "Cell",
    "Code",
    "FigureBlock",
    "Fold",
    "Heading",
    "Note",
    "Paragraph",
    "Span",
    "Strong",
    "Table",
    "md_escape",
    "render_html",
    "render_markdown",
]
