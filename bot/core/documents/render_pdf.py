"""The document as a PDF (fpdf2: pure Python, no system libraries), with the bundled DejaVu Sans.

What fpdf2 gives for accessibility, and what it does not: the document language (/Lang en-GB),
the title shown in the window (DisplayDocTitle) and the title, subject, author and keywords in the
metadata; an outline (bookmarks) with an entry for every heading, and headings marked in a
structure tree. Body text and tables are not tagged, so the PDF is not PDF/UA: the Word file is
the accessible master for the case system.

The bundled DejaVu Sans (cut down to Latin with Welsh ŵ ŷ ẁ, accents, Greek, Cyrillic and common
symbols, which keeps a 40-action PDF well under a second) has no colour emoji; a character it
lacks is written as its Unicode name in brackets ("[smiling face]") rather than an empty box, so
nothing anyone wrote silently disappears.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib.resources import files
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF, FontFace, TextStyle
from fpdf.enums import XPos, YPos
from fpdf.prefs import ViewerPreferences

from bot.core.documents.model import BulletList, Document, Paragraph, Part, Table

FONT = "DejaVu"
_DROP = {0x200D, 0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)}  # joiners, variation, skin tones
LINE = 5.5  # mm per line of body text
INDENT = 6.0  # mm per indent level


def font_path(bold: bool = False) -> Path:
    """The bundled DejaVu Sans file (licence beside it)."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(str(files("bot.core.documents").joinpath("fonts", name)))


@cache
def _covered() -> frozenset[int]:
    return frozenset(TTFont(str(font_path()), lazy=True).getBestCmap())


def printable(text: str) -> str:
    """`text` with characters the font lacks written as their names in brackets."""
    covered = _covered()
    out = []
    for ch in text:
        code = ord(ch)
        if code in covered or ch in "\n\t":
            out.append(ch)
        elif code in _DROP or unicodedata.category(ch) in ("Mn", "Cf", "Cc"):
            continue
        else:
            out.append(f"[{unicodedata.name(ch, 'symbol').lower()}]")
    return "".join(out)


class _Pdf(FPDF):
    """An A4 page with the marking in the header and footer, and page X of Y."""

    def __init__(self, marking: str) -> None:
        super().__init__(format="A4")
        self.marking = marking

    def header(self) -> None:
        if self.marking:
            self.set_font(FONT, "B", 9)
            self.cell(0, 6, self.marking, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT, "", 8)
        if self.marking:
            self.set_font(FONT, "B", 8)
            self.cell(0, 4, self.marking, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_font(FONT, "", 8)
        self.cell(
            0, 4, f"Page {self.page_no()} of {{nb}}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )


def render_pdf(document: Document) -> bytes:
    """The document as the bytes of a PDF file."""
    pdf = _Pdf(printable(document.marking))
    pdf.add_font(FONT, "", str(font_path()))
    pdf.add_font(FONT, "B", str(font_path(bold=True)))
    pdf.set_lang(document.language)
    pdf.set_title(printable(document.title))
    pdf.set_subject(printable(document.subject))
    pdf.set_author(document.author)
    pdf.set_creator(document.author)
    pdf.set_keywords(document.marking)
    pdf.set_display_mode("fullwidth")
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.set_section_title_styles(
        TextStyle(font_family=FONT, font_style="B", font_size_pt=16, t_margin=2, b_margin=4),
        TextStyle(font_family=FONT, font_style="B", font_size_pt=13, t_margin=5, b_margin=2),
    )
    pdf.set_font(FONT, "", 10.5)
    pdf.add_page()
    pdf.start_section(printable(document.title), level=0)
    pdf.set_font(FONT, "", 10.5)
    writer = _Writer(pdf)
    for part in document.intro:
        _part(pdf, writer, part)
    for section in document.sections:
        pdf.start_section(printable(section.title), level=1)
        pdf.set_font(FONT, "", 10.5)
        for part in section.parts:
            _part(pdf, writer, part)
    return bytes(pdf.output())


class _Writer:
    """Left-aligned text wrapped here, a line per cell: fpdf2's multi_cell re-measures the whole
    paragraph for every line it breaks, which is slow for 5,000-character updates."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        self._widths: dict[tuple[str, float, str], float] = {}

    def width(self, text: str) -> float:
        """The width of `text` in the current font (remembered per font, size and text)."""
        key = (self.pdf.font_style, self.pdf.font_size_pt, text)
        found = self._widths.get(key)
        if found is None:
            found = self._widths[key] = self.pdf.get_string_width(text)
        return found

    def lines(self, text: str, room: float) -> list[str]:
        """`text` broken into lines no wider than `room` (at spaces; inside a word if need be)."""
        space = self.width(" ")
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line: list[str] = []
            used = 0.0
            for word in paragraph.split(" "):
                for piece in self._pieces(word, room):
                    wide = self.width(piece)
                    if line and used + space + wide > room:
                        lines.append(" ".join(line))
                        line, used = [], 0.0
                    used += wide + (space if line else 0.0)
                    line.append(piece)
            lines.append(" ".join(line))
        return lines

    def _pieces(self, word: str, room: float) -> list[str]:
        """A word wider than a whole line, cut into pieces that fit."""
        if self.width(word) <= room:
            return [word]
        pieces, current = [], ""
        for ch in word:
            if current and self.width(current + ch) > room:
                pieces.append(current)
                current = ""
            current += ch
        return [*pieces, current] if current else pieces

    def write(self, text: str, indent: int, *, bullet: bool = False) -> None:
        """A paragraph (or a list item with a hanging bullet) at `indent` levels."""
        pdf = self.pdf
        left = pdf.l_margin + INDENT * indent
        mark = "•  " if bullet else ""
        hang = self.width(mark) if bullet else 0.0
        for number, line in enumerate(
            self.lines(printable(text), pdf.epw - INDENT * indent - hang)
        ):
            pdf.set_x(left + (hang if number else 0.0))
            shown = (mark + line) if number == 0 else line
            pdf.cell(0, LINE, shown, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _part(pdf: FPDF, writer: _Writer, part: Part) -> None:
    match part:
        case Paragraph(text=text, indent=indent):
            writer.write(text, indent)
            pdf.ln(1)
        case BulletList(items=items, indent=indent):
            for item in items:
                writer.write(item, indent + 1, bullet=True)
            pdf.ln(1)
        case Table():
            _table(pdf, part)


def _table(pdf: FPDF, table: Table) -> None:
    pdf.set_font(FONT, "", 9)
    columns = len(table.header)
    widths = (1, 2) if columns == 2 else (3, 2, 3, 4)[:columns] if columns <= 4 else None
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        line_height=LINE - 1,
        headings_style=FontFace(family=FONT, emphasis="BOLD"),
        repeat_headings=1,
    ) as grid:
        header = grid.row()
        for text in table.header:
            header.cell(printable(text))
        for values in table.rows:
            row = grid.row()
            for text in values:
                row.cell(printable(text))
    pdf.set_font(FONT, "", 10.5)
    pdf.ln(3)
