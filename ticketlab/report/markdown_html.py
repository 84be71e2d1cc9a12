"""A small Markdown-to-HTML renderer for the subset ticketlab's READMEs and tables use.

Headings, paragraphs, bullet lists, pipe tables (with alignment), fenced and indented code
blocks, images, links, inline code, bold and italics. Everything else is escaped text, so
no input can inject markup. No dependency: the report must build wherever ticketlab runs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

INLINE = [
    (re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)"), lambda m, link: f'<img alt="{_attr(m[1])}" src="{_attr(link(m[2]))}">'),
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), lambda m, link: f'<a href="{_attr(link(m[2]))}">{m[1]}</a>'),
    (re.compile(r"\*\*([^*]+)\*\*"), lambda m, link: f"<strong>{m[1]}</strong>"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), lambda m, link: f"<em>{m[1]}</em>"),
]
def _attr(value: str) -> str:
    """An attribute value from already-escaped text: quotes must not end the attribute."""
    return value.replace('"', "&quot;")


CODE = re.compile(r"`([^`]+)`")
TABLE_RULE = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def inline(text: str, link: Callable[[str], str]) -> str:
    """Escape ``text`` and render its inline markup; code spans are left verbatim."""
    parts = CODE.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        escaped = html.escape(part, quote=False)
        for pattern, render in INLINE:
            escaped = pattern.sub(lambda m, r=render: r(m, link), escaped)  # type: ignore[misc]
        out.append(escaped)
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_to_html(text: str, link: Callable[[str], str] = lambda path: path) -> str:
    """The HTML body of ``text``; ``link`` maps every image or link target (e.g. to a copy)."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(block)) + "</code></pre>")
            i += 1
        elif line.startswith("    ") and line.strip():
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                block.append(lines[i][4:])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(block).rstrip("\n")) + "</code></pre>")
        elif re.match(r"^#{1,6} ", line):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{inline(line[level + 1:].strip(), link)}</h{level}>")
            i += 1
        elif line.startswith("|") and i + 1 < len(lines) and TABLE_RULE.match(lines[i + 1]):
            header, rule = _cells(line), _cells(lines[i + 1])
            align = ["right" if r.endswith(":") and not r.startswith(":") else "left" for r in rule]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            head = "".join(f'<th style="text-align:{a}">{inline(c, link)}</th>' for c, a in zip(header, align))
            body = "".join("<tr>" + "".join(f'<td style="text-align:{a}">{inline(c, link)}</td>'
                                            for c, a in zip(row, align)) + "</tr>" for row in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif re.match(r"^\s*[-*] ", line):
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                if re.match(r"^\s*[-*] ", lines[i]):
                    items.append(lines[i].strip()[2:])
                elif items:
                    items[-1] += " " + lines[i].strip()
                i += 1
            out.append("<ul>" + "".join(f"<li>{inline(item, link)}</li>" for item in items) + "</ul>")
        elif not line.strip():
            i += 1
        else:  # a paragraph: this line (whatever it starts with) and the plain lines after it
            paragraph = [line.strip()]
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "|", "```", "    ")) \
                    and not re.match(r"^\s*[-*] ", lines[i]):
                paragraph.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(paragraph), link)}</p>")
    return "\n".join(out)
