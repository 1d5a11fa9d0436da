"""The neutral document: built once from published minutes, rendered as DOCX, PDF or Markdown.

It holds only what every format can show — headings, paragraphs, bulleted lists and tables with a
header row — so each renderer is a small walk over it and the three files say the same thing.
All text is literal; each renderer escapes it for its own format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from storage.enums import CopyKind


class Format(StrEnum):
    """A file format the minutes can be exported as."""

    DOCX = "docx"
    PDF = "pdf"
    MD = "md"

    @property
    def mime_type(self) -> str:
        """The file's MIME type, for attachments and downloads."""
        return _MIME[self]

    @property
    def label(self) -> str:
        """How people name the format."""
        return {Format.DOCX: "Word (DOCX)", Format.PDF: "PDF", Format.MD: "Markdown"}[self]


_MIME = {
    Format.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    Format.PDF: "application/pdf",
    Format.MD: "text/markdown; charset=utf-8",
}


DEFAULT_MARKING = "OFFICIAL-SENSITIVE"


@dataclass(frozen=True)
class DocumentOptions:
    """The council's choices for its documents (DOCUMENTS_* settings)."""

    marking: str = DEFAULT_MARKING
    # The case record holds the child's initials, never a name: this shows them when allowed.
    child_name: bool = False
    template: Path | None = None  # a Word file whose styles, header and footer the DOCX uses


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; `indent` counts levels (the minutes indent detail under a heading line)."""

    text: str
    indent: int = 0


@dataclass(frozen=True)
class BulletList:
    """A bulleted list."""

    items: tuple[str, ...]
    indent: int = 0


@dataclass(frozen=True)
class Table:
    """A table whose first row is a header row; `caption` describes it to screen readers."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Part = Paragraph | BulletList | Table


@dataclass(frozen=True)
class Section:
    """A heading and what comes under it."""

    title: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Document:
    """A whole document: its metadata, the marking on every page, and its sections."""

    title: str
    subject: str
    kind: CopyKind
    marking: str  # shown in the header and footer of every page; "" for none
    intro: tuple[Part, ...]
    sections: tuple[Section, ...]
    filename_stem: str
    language: str = "en-GB"
    author: str = "Core Group Bot"

    def filename(self, fmt: Format) -> str:
        """The file's name in `fmt` (the case reference, never a name)."""
        return f"{self.filename_stem}.{fmt.value}"

    def plain_text(self) -> str:
        """Every word of the document as plain text, for checks (plain English, tests)."""
        lines = [self.title, *_part_lines(self.intro)]
        for section in self.sections:
            lines += [section.title, *_part_lines(section.parts)]
        return "\n".join(lines)


def _part_lines(parts: tuple[Part, ...]) -> list[str]:
    lines: list[str] = []
    for part in parts:
        match part:
            case Paragraph(text=text):
                lines.append(text)
            case BulletList(items=items):
                lines += list(items)
            case Table(header=header, rows=rows):
                lines += [" | ".join(header), *(" | ".join(row) for row in rows)]
    return lines


_BULLET = re.compile(r"^(\s*)[-•]\s+(.*)$")


def parts_from_text(text: str) -> tuple[Part, ...]:
    """The minutes' plain section text as parts: "- " lines become lists, indents are kept."""
    parts: list[Part] = []
    bullets: list[str] = []
    bullet_indent = 0

    def flush() -> None:
        if bullets:
            parts.append(BulletList(tuple(bullets), bullet_indent))
            bullets.clear()

    for raw in text.splitlines():
        if not raw.strip():
            flush()
            continue
        match = _BULLET.match(raw)
        if match:
            indent = len(match.group(1)) // 2
            if bullets and indent != bullet_indent:
                flush()
            bullet_indent = indent
            bullets.append(match.group(2).strip())
            continue
        flush()
        stripped = raw.lstrip(" ")
        parts.append(Paragraph(stripped.strip(), (len(raw) - len(stripped)) // 2))
    flush()
    return tuple(parts)


def safe_stem(text: str) -> str:
    """A file-name-safe form of a case reference and label."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return re.sub(r"-{2,}", "-", stem) or "minutes"
