"""Rendering a document as a file in any of the three formats."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.documents.model import Document, DocumentOptions, Format
from bot.core.documents.render_docx import render_docx
from bot.core.documents.render_md import render_md
from bot.core.documents.render_pdf import render_pdf


@dataclass(frozen=True)
class Rendered:
    """A document as a file."""

    filename: str
    mime_type: str
    data: bytes
    title: str


def render(document: Document, fmt: Format, options: DocumentOptions) -> Rendered:
    """The document as a file in `fmt`."""
    if fmt is Format.DOCX:
        data = render_docx(document, options)
    elif fmt is Format.PDF:
        data = render_pdf(document)
    else:
        data = render_md(document)
    return Rendered(document.filename(fmt), fmt.mime_type, data, document.title)
