"""The document as a Word file (python-docx), built to be accessible.

Real heading styles (Title, Heading 1, Heading 2) so screen readers and the navigation pane find
the structure; tables with a header row that repeats on each page and a caption (`tblCaption`)
read out by assistive technology; the document language (en-GB) on the default text style and in
the core properties with the title and subject; the marking in the header and the footer with
"Page X of Y". A council template (DOCUMENTS_TEMPLATE) gives the styles, header and footer (a
logo, say); its body text is dropped.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
from docx.document import Document as WordDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.styles.style import BaseStyle
from docx.table import Table as WordTable
from docx.text.paragraph import Paragraph as WordParagraph
from lxml.etree import XMLSyntaxError

from bot.core.documents.model import (
    BulletList,
    Document,
    DocumentOptions,
    Paragraph,
    Part,
    Table,
)
from bot.core.errors import BadInput

REQUIRED_STYLES = ("Title", "Heading 1", "Heading 2")


class TemplateError(BadInput):
    """The council's Word template cannot be used; the message says why and what to do."""


def _template_problem(path: Path, why: str) -> TemplateError:
    return TemplateError(
        f"The council's Word template ({path.name}, set in DOCUMENTS_TEMPLATE) {why}, so I can't "
        "make the Word file. Nothing about the minutes has changed.",
        hint="Ask your administrator to fix the template or unset DOCUMENTS_TEMPLATE. The PDF "
        "and Markdown versions still work: `/coregroup minutes export pdf`.",
    )


def open_template(path: Path | None) -> WordDocument:
    """A new Word document: the council's template (checked), or python-docx's default."""
    if path is None:
        return docx.Document()
    if not path.is_file():
        raise _template_problem(path, "can't be found")
    try:
        word = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError):
        raise _template_problem(path, "isn't a Word .docx file I can open") from None
    names = {style.name for style in word.styles}
    missing = [name for name in REQUIRED_STYLES if name not in names]
    if missing:
        raise _template_problem(
            path, f"has no {', '.join(repr(m) for m in missing)} style (needed for headings)"
        )
    body = word.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    return word


def render_docx(document: Document, options: DocumentOptions) -> bytes:
    """The document as the bytes of a .docx file."""
    word = open_template(options.template)
    _metadata(word, document)
    _language(word, document.language)
    _header_footer(word, document.marking)
    # Styles looked up once: python-docx finds a style by name by scanning them all.
    styles = {style.name: style for style in word.styles}
    _styled(word, document.title, styles["Title"])
    for part in document.intro:
        _part(word, styles, part)
    for section in document.sections:
        _styled(word, section.title, styles["Heading 1"])
        for part in section.parts:
            _part(word, styles, part)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _metadata(word: WordDocument, document: Document) -> None:
    props = word.core_properties
    props.title = document.title
    props.subject = document.subject
    props.author = document.author
    props.language = document.language
    props.keywords = document.marking
    props.category = document.marking
    props.comments = ""


def _language(word: WordDocument, language: str) -> None:
    """Set the proofing/reading language on the default run properties and the Normal style."""
    styles = word.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    targets = []
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault"))
        if rpr_default is not None:
            rpr = rpr_default.find(qn("w:rPr"))
            if rpr is None:
                rpr = OxmlElement("w:rPr")
                rpr_default.append(rpr)
            targets.append(rpr)
    targets.append(word.styles["Normal"].element.get_or_add_rPr())
    for rpr in targets:
        for old in rpr.findall(qn("w:lang")):
            rpr.remove(old)
        lang = OxmlElement("w:lang")
        lang.set(qn("w:val"), language)
        lang.set(qn("w:eastAsia"), language)
        lang.set(qn("w:bidi"), language)
        rpr.append(lang)


def _field(paragraph: WordParagraph, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays the pages out."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {code} "
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    shown = OxmlElement("w:t")
    shown.text = "1"
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, instr, separate, shown, end):
        run._r.append(element)


def _header_footer(word: WordDocument, marking: str) -> None:
    for section in word.sections:
        if marking:
            top = section.header.add_paragraph()
            top.alignment = WD_ALIGN_PARAGRAPH.CENTER
            top.add_run(marking).bold = True
        footer = section.footer
        if marking:
            bottom = footer.add_paragraph()
            bottom.alignment = WD_ALIGN_PARAGRAPH.CENTER
            bottom.add_run(marking).bold = True
        pages = footer.add_paragraph()
        pages.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pages.add_run("Page ")
        _field(pages, "PAGE")
        pages.add_run(" of ")
        _field(pages, "NUMPAGES")


def _styled(word: WordDocument, text: str, style: BaseStyle | None) -> WordParagraph:
    """A paragraph in `style`, set by id: python-docx's own lookup scans every style each time."""
    paragraph = word.add_paragraph(text)
    if style is not None:
        paragraph._p.style = style.style_id
    return paragraph


def _part(word: WordDocument, styles: dict[str | None, BaseStyle], part: Part) -> None:
    match part:
        case Paragraph(text=text, indent=indent):
            paragraph = word.add_paragraph(text)
            if indent:
                paragraph.paragraph_format.left_indent = Cm(0.75 * indent)
        case BulletList(items=items, indent=indent):
            bullet = styles.get("List Bullet")
            for item in items:
                paragraph = _styled(word, item if bullet else f"• {item}", bullet)
                if indent:
                    paragraph.paragraph_format.left_indent = Cm(0.75 * (indent + 1))
        case Table():
            _table(word, styles, part)


def _table(word: WordDocument, styles: dict[str | None, BaseStyle], table: Table) -> None:
    columns = len(table.header)
    grid = word.add_table(rows=1 + len(table.rows), cols=columns)
    if "Table Grid" in styles:
        grid.style = styles["Table Grid"]
    _describe(grid, table.caption)
    rows = grid.rows
    _repeat_as_header(rows[0])
    for cell, text in zip(rows[0].cells, table.header, strict=True):
        cell.paragraphs[0].add_run(text).bold = True
    for row, values in zip(rows[1:], table.rows, strict=True):
        for cell, text in zip(row.cells, values, strict=True):
            cell.paragraphs[0].add_run(text).font.size = Pt(10)
    word.add_paragraph()


def _describe(grid: WordTable, caption: str) -> None:
    """The table's caption and description, which screen readers announce."""
    tbl_pr = grid._tbl.tblPr
    for tag in ("w:tblCaption", "w:tblDescription"):
        element = OxmlElement(tag)
        element.set(qn("w:val"), caption)
        tbl_pr.append(element)


def _repeat_as_header(row: object) -> None:
    """Mark a row as the table's header row (repeated at the top of each page)."""
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)
