"""The documents made from published minutes, opened the way a reader's software opens them:
DOCX with python-docx, PDF with pypdf, Markdown as text. Checked on a long, realistic plan."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.core import minutes as mins
from bot.core.documents.build import minutes_document, published
from bot.core.documents.files import render
from bot.core.documents.model import DocumentOptions, Format
from bot.core.documents.render_docx import TemplateError
from bot.core.documents.render_md import escape
from bot.core.errors import Conflict
from storage.enums import CopyKind
from storage.models import Minutes, MinutesVersion
from tests.documents.conftest import publish
from tests.documents.realistic import (
    EMOJI,
    MEMBERS,
    NO_ROUTE,
    PRIVATE_OUTCOME,
    REF,
    Built,
)
from tests.scenarios.conftest import ChatDriver

OPTIONS = DocumentOptions()
FAMILY_WITHHELD_TITLES = [mins.SECTIONS[n] for n in mins.FAMILY_WITHHELD]


@pytest.fixture
def minutes(mail_chat: ChatDriver, long_group: Built, engine: Engine) -> Minutes:
    """The long group's minutes, published (copies sent)."""
    publish(mail_chat)
    with Session(engine) as s:
        return s.exec(select(Minutes)).one()


def make(engine: Engine, minutes: Minutes, kind: CopyKind, fmt: Format, **options: object) -> bytes:
    with Session(engine) as s:
        row = s.get(Minutes, minutes.id)
        assert row is not None
        chosen = DocumentOptions(**options)  # type: ignore[arg-type]
        from zoneinfo import ZoneInfo

        document = minutes_document(
            s, minutes=row, kind=kind, tz=ZoneInfo("Europe/London"), options=chosen
        )
        return render(document, fmt, chosen).data


def body_of(engine: Engine) -> mins.MinutesBody:
    with Session(engine) as s:
        version = s.exec(select(MinutesVersion)).one()
        return mins.body_of(version)


def pdf_text(data: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(data))
    return reader, [page.extract_text() for page in reader.pages]


def page_body(page: str, number: int, count: int) -> str:
    """A page's text without its header and footer, so text running across pages joins up."""
    return page.replace("OFFICIAL-SENSITIVE", "").replace(f"Page {number} of {count}", "")


def squash(text: str) -> str:
    """Text with all runs of whitespace as one space (PDF lines wrap anywhere)."""
    return " ".join(text.split())


def section_lines(text: str) -> list[str]:
    """A section's text as the lines a reader sees, without list markers."""
    return [re.sub(r"^[-•]\s+", "", line.strip()) for line in text.splitlines() if line.strip()]


# --- the full minutes -----------------------------------------------------------------------------


def test_the_docx_has_every_section_in_order_with_its_text_marking_and_metadata(
    engine: Engine, minutes: Minutes
) -> None:
    word = docx.Document(io.BytesIO(make(engine, minutes, CopyKind.FULL, Format.DOCX)))
    headings = [
        (p.style.name, p.text)
        for p in word.paragraphs
        if p.style.name.startswith(("Heading", "Title"))
    ]
    assert headings[0] == ("Title", f"Core group minutes: {REF}, meeting 1")
    titles = [text for style, text in headings if style == "Heading 1"]
    assert titles == [f"{n}. {t}" for n, t in mins.SECTIONS.items()]
    # Every line of every section is there, in order (checked against the stored body).
    paragraphs = [p.text for p in word.paragraphs]
    body = body_of(engine)
    for number in mins.SECTIONS:
        start = paragraphs.index(f"{number}. {mins.SECTIONS[number]}")
        following = paragraphs[start + 1 :]
        for line in section_lines(body.text(number)):
            assert line in following, (number, line)
    assert any(len(p) > 4900 and EMOJI in p for p in paragraphs), "the 5,000-character update"
    assert "Zoë Müller-Hernández — school safeguarding lead, Ysgol Gymraeg Bro Ŵyr:" in paragraphs
    # The marking in every header and footer, and page X of Y fields in the footer.
    for section in word.sections:
        assert "OFFICIAL-SENSITIVE" in [p.text for p in section.header.paragraphs]
        footer = [p.text for p in section.footer.paragraphs]
        assert "OFFICIAL-SENSITIVE" in footer
        assert any(t.startswith("Page ") and " of " in t for t in footer)
    xml = zipfile.ZipFile(io.BytesIO(make(engine, minutes, CopyKind.FULL, Format.DOCX)))
    footer_xml = "".join(
        xml.read(n).decode() for n in xml.namelist() if n.startswith("word/footer")
    )
    assert " PAGE " in footer_xml and " NUMPAGES " in footer_xml
    # Accessible metadata: title, language on the text and in the properties.
    assert word.core_properties.title == f"Core group minutes: {REF}, meeting 1"
    assert word.core_properties.language == "en-GB"
    assert 'w:val="en-GB"' in xml.read("word/styles.xml").decode()


def test_the_docx_tables_have_header_rows_captions_and_the_distribution_list(
    engine: Engine, minutes: Minutes
) -> None:
    data = make(engine, minutes, CopyKind.FULL, Format.DOCX)
    word = docx.Document(io.BytesIO(data))
    details, distribution = word.tables
    assert [c.text for c in details.rows[0].cells] == ["Item", "Detail"]
    rows = {r.cells[0].text: r.cells[1].text for r in details.rows[1:]}
    assert rows["Case reference"] == REF
    assert rows["Version"].startswith("1, published Wed 3 Feb 2027, 11:30 by Siân Llywelyn")
    assert rows["Approved by"] == "Zoë Müller-Hernández (Wed 3 Feb 2027, 11:30)"
    assert "Child's initials" not in rows  # DOCUMENTS_CHILD_NAME is off
    assert [c.text for c in distribution.rows[0].cells] == [
        "Member",
        "Copy",
        "How",
        "Where it stands",
    ]
    listed = {r.cells[0].text: (r.cells[2].text, r.cells[3].text) for r in distribution.rows[1:]}
    assert set(listed) == {name for name, *_ in MEMBERS.values()} | {NO_ROUTE}
    # The document goes to every member: how, but never where, an email went.
    assert listed["Dr Bjørn Ødegård"] == ("email", "delivered Wed 3 Feb 2027, 11:30")
    assert listed[NO_ROUTE][1].startswith("to send by other means")
    assert "castell.nhs.wales" not in data.decode("latin-1")
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert xml.count("<w:tblHeader") == 2
    assert 'w:tblCaption w:val="Distribution list' in xml


def test_the_pdf_has_every_section_the_marking_on_each_page_and_numbered_pages(
    engine: Engine, minutes: Minutes
) -> None:
    data = make(engine, minutes, CopyKind.FULL, Format.PDF)
    reader, pages = pdf_text(data)
    count = len(pages)
    assert count >= 4, "a 40-action plan with long updates runs to several pages"
    for number, page in enumerate(pages, start=1):
        assert page.count("OFFICIAL-SENSITIVE") == 2, number  # header and footer
        assert f"Page {number} of {count}" in page
    text = squash(" ".join(page_body(p, n, count) for n, p in enumerate(pages, start=1)))
    body = body_of(engine)
    for number, title in mins.SECTIONS.items():
        assert f"{number}. {title}" in text
        for line in section_lines(body.text(number)):
            shown = line.replace(EMOJI, "[slightly smiling face]").replace(
                "👍🏽", "[thumbs up sign]"
            )
            assert squash(shown) in text, (number, line[:80])
    assert "Gwenllïan" in text and "Ysgol Gymraeg Bro Ŵyr" in text and "Ødegård" in text
    # The outline has the title and the eleven sections; the language and title are set.
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    nested = next(item for item in reader.outline if isinstance(item, list))
    assert outline == [f"Core group minutes: {REF}, meeting 1"]
    assert [item.title for item in nested] == [f"{n}. {t}" for n, t in mins.SECTIONS.items()]
    assert reader.metadata is not None and reader.metadata.title == outline[0]
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    assert "castell.nhs.wales" not in text


def test_emoji_the_font_lacks_are_named_in_the_pdf_and_kept_in_word_and_markdown(
    engine: Engine, minutes: Minutes
) -> None:
    _, pages = pdf_text(make(engine, minutes, CopyKind.FULL, Format.PDF))
    text = "\n".join(pages)
    assert "[slightly smiling face]" in text and EMOJI not in text
    assert "[thumbs up sign]" in squash(text)  # the skin-tone modifier is dropped, not named
    word = docx.Document(io.BytesIO(make(engine, minutes, CopyKind.FULL, Format.DOCX)))
    assert any(EMOJI in p.text for p in word.paragraphs)
    assert EMOJI in make(engine, minutes, CopyKind.FULL, Format.MD).decode()


def test_markdown_has_headings_tables_and_escapes_what_people_typed(
    engine: Engine, minutes: Minutes
) -> None:
    text = make(engine, minutes, CopyKind.FULL, Format.MD).decode()
    lines = text.splitlines()
    assert lines[0] == "**OFFICIAL\\-SENSITIVE**" or lines[0] == "**OFFICIAL-SENSITIVE**"
    assert f"# Core group minutes: {REF}, meeting 1" in lines
    assert [line for line in lines if line.startswith("## ")] == [
        f"## {n}\\. {escape(t)}" if False else f"## {escape(f'{n}. {t}')}"
        for n, t in mins.SECTIONS.items()
    ]
    assert "| Member | Copy | How | Where it stands |" in lines
    assert escape("<!channel> *urgent* | [x](http://evil)") == (
        "\\<\\!channel\\> \\*urgent\\* \\| \\[x\\]\\(http://evil\\)"
    )


# --- the family and young person's versions -------------------------------------------------------


@pytest.mark.parametrize("fmt", [Format.DOCX, Format.PDF, Format.MD])
def test_the_family_version_leaves_out_what_is_for_professionals_only(
    engine: Engine, minutes: Minutes, fmt: Format
) -> None:
    data = make(engine, minutes, CopyKind.FAMILY, fmt)
    if fmt is Format.DOCX:
        word = docx.Document(io.BytesIO(data))
        header = [p.text for p in word.sections[0].header.paragraphs]
        text = "\n".join([*header, *(p.text for p in word.paragraphs)])
    elif fmt is Format.PDF:
        text = "\n".join(pdf_text(data)[1])
    else:
        text = data.decode()
    flat = squash(text).replace("\\", "")
    for title in FAMILY_WITHHELD_TITLES:
        assert title not in flat, title
    assert "The purpose of this meeting" in flat and "Neglect" not in flat
    assert PRIVATE_OUTCOME not in flat and "Main worries" not in flat
    assert "Gwenllïan says she likes her warm bedroom" not in flat  # the child's voice: withheld
    assert "Ysgol Gymraeg Bro Ŵyr: Gwenllïan arrived" not in flat  # an agency's update
    assert "family's copy of the minutes" in flat and "Next meeting: Wed 3 Mar 2027" in flat
    assert "OFFICIAL-SENSITIVE" in flat


def test_the_young_persons_version_is_short_second_person_and_says_who_to_talk_to(
    engine: Engine, minutes: Minutes
) -> None:
    reader, pages = pdf_text(make(engine, minutes, CopyKind.YOUNG_PERSON, Format.PDF))
    assert len(pages) <= 2
    text = squash("\n".join(pages))
    assert "your core group meeting on Wed 3 Feb 2027" in text
    assert "Your plan is about these things getting better" in text
    assert "Gwenllïan goes to Ysgol Gymraeg Bro Ŵyr every day, on time" in text
    assert PRIVATE_OUTCOME not in text and "Neglect" not in text
    assert (
        "Dafydd ap Gruffydd: new task 36: rhannu'r cynllun — share the plan (by Wed 24 Feb" in text
    )
    assert "The next meeting is on Wed 3 Mar 2027, 10:00, at Canolfan Deulu" in text
    assert "you can talk to Siân Llywelyn" in text and "Childline free on 0800 1111" in text
    assert "999" in text
    # Only what the family may see: no action from under the private outcome.
    assert "task 3:" not in text.lower()


# --- options and bad input ------------------------------------------------------------------------


def test_the_marking_and_the_childs_initials_follow_the_councils_settings(
    engine: Engine, minutes: Minutes
) -> None:
    _, pages = pdf_text(make(engine, minutes, CopyKind.FULL, Format.PDF, marking="OFFICIAL"))
    assert all(p.count("OFFICIAL") == 2 and "SENSITIVE" not in p for p in pages)
    _, pages = pdf_text(make(engine, minutes, CopyKind.FULL, Format.PDF, marking=""))
    assert all("OFFICIAL" not in p for p in pages)
    word = docx.Document(
        io.BytesIO(make(engine, minutes, CopyKind.FULL, Format.DOCX, child_name=True))
    )
    rows = {r.cells[0].text: r.cells[1].text for r in word.tables[0].rows}
    assert rows["Child's initials"] == "G.ap D."


def test_a_council_template_gives_the_styles_and_its_header(
    engine: Engine, minutes: Minutes, tmp_path: Path
) -> None:
    template = docx.Document()
    template.sections[0].header.paragraphs[0].text = "Cyngor Sir Example — Children's Services"
    template.add_paragraph("Template body text that must not appear")
    path = tmp_path / "council.docx"
    template.save(str(path))
    word = docx.Document(
        io.BytesIO(make(engine, minutes, CopyKind.FULL, Format.DOCX, template=path))
    )
    header = [p.text for p in word.sections[0].header.paragraphs]
    assert (
        header[0] == "Cyngor Sir Example — Children's Services" and "OFFICIAL-SENSITIVE" in header
    )
    assert all("Template body text" not in p.text for p in word.paragraphs)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"this is not a word file", "isn't a Word .docx file I can open"),
        (None, "can't be found"),
    ],
)
def test_a_broken_template_is_a_clear_message(
    engine: Engine, minutes: Minutes, tmp_path: Path, content: bytes | None, why: str
) -> None:
    path = tmp_path / "broken.docx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TemplateError) as raised:
        make(engine, minutes, CopyKind.FULL, Format.DOCX, template=path)
    assert why in raised.value.message and "DOCUMENTS_TEMPLATE" in raised.value.message
    assert "pdf" in raised.value.hint


def test_a_template_without_heading_styles_is_refused(
    engine: Engine, minutes: Minutes, tmp_path: Path
) -> None:
    template = docx.Document()
    styles = template.styles.element
    for style in list(styles):
        if style.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}styleId") in (
            "Heading1",
            "Heading2",
        ):
            styles.remove(style)
    path = tmp_path / "plain.docx"
    template.save(str(path))
    with pytest.raises(TemplateError) as raised:
        make(engine, minutes, CopyKind.FULL, Format.DOCX, template=path)
    assert "'Heading 1'" in raised.value.message


def test_unpublished_minutes_make_no_document(
    mail_chat: ChatDriver, long_group: Built, engine: Engine
) -> None:
    mail_chat("as ffion\n/coregroup draft")
    from zoneinfo import ZoneInfo

    with Session(engine) as s:
        row = s.exec(select(Minutes)).one()
        with pytest.raises(Conflict) as raised:
            published(s, minutes=row, tz=ZoneInfo("Europe/London"))
    assert "aren't published yet (version 1 is still being checked)" in raised.value.message
