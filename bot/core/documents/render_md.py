"""The document as Markdown: headings, lists and pipe tables, with every typed character escaped
so nothing anyone wrote becomes markup, a link or HTML where the file is shown."""

from __future__ import annotations

import re

from bot.core.documents.model import BulletList, Document, Paragraph, Part, Table

_INLINE = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")
_LINE_START = re.compile(r"^(\s*)([-=>]|\d+(?=[.)]))")


def escape(text: str) -> str:
    """Literal text made safe for Markdown."""
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))


def _cell(text: str) -> str:
    return escape(" ".join(text.split()))


def _part(part: Part) -> list[str]:
    match part:
        case Paragraph(text=text, indent=indent):
            # An em space per level: leading spaces would make a code block.
            return ["\u2003" * indent + escape(text), ""]
        case BulletList(items=items, indent=indent):
            return [f"{'  ' * indent}- {escape(item)}" for item in items] + [""]
        case Table(caption=caption, header=header, rows=rows):
            lines = [f"*{escape(caption)}*", ""]
            lines.append("| " + " | ".join(_cell(h) or " " for h in header) + " |")
            lines.append("|" + "|".join(" --- " for _ in header) + "|")
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
            return [*lines, ""]
    raise TypeError(f"unknown part {part!r}")


def render_md(document: Document) -> bytes:
    """The document as UTF-8 Markdown."""
    lines: list[str] = []
    if document.marking:
        lines += [f"**{escape(document.marking)}**", ""]
    lines += [f"# {escape(document.title)}", ""]
    for part in document.intro:
        lines += _part(part)
    for section in document.sections:
        lines += [f"## {escape(section.title)}", ""]
        for part in section.parts:
            lines += _part(part)
    if document.marking:
        lines += [f"**{escape(document.marking)}**", ""]
    return "\n".join(lines).encode("utf-8")
