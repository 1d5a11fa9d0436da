"""The young person's page (8+): the picture scale, their own words to the brief and section 4 of
the minutes (marked as theirs, never in the family's copy), and "I don't feel safe"."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.core.documents.build import minutes_document
from bot.core.documents.model import DocumentOptions
from bot.core.documents.render_md import render_md
from storage.enums import AttendanceStatus, CopyKind
from storage.models import Attendance, AuditEntry, ChatIdentity, Minutes
from tests.family.conftest import DUTY, REF, Browser, Site, invite

SCRIPT = "<script>alert(1)</script> I <3 football"
OPTIONS = DocumentOptions()


def kai(site: Site) -> Browser:
    site.chat(f"as sam\n/coregroup {REF} age @kai 12")
    path, code = invite(site.chat, "kai")
    assert site.browser.sign_in(path, code).status == 200
    return site.browser


def test_a_child_needs_their_age_recorded_and_8_or_over(site: Site) -> None:
    out = site.chat(f"as sam\n/coregroup {REF} invite @kai")
    assert "once the key worker has recorded their age" in out and "/family/" not in out
    site.chat(f"/coregroup {REF} age @kai 7")
    assert "/family/" not in site.chat(f"/coregroup {REF} invite @kai")
    assert "Only the key worker or chair" in site.chat(f"as alex\n/coregroup {REF} age @kai 12")
    site.chat(f"as sam\n/coregroup {REF} age @kai 8")
    assert "/family/" in site.chat(f"/coregroup {REF} invite @kai")


def test_the_young_persons_page_and_their_voice_in_the_brief_and_minutes(site: Site) -> None:
    browser = kai(site)
    assert browser.get("/family/before").path == "/family/you"
    page = browser.get("/family/you")
    assert "I don&#39;t feel safe" in page.text or "I don't feel safe" in page.text
    assert 'type="radio"' in page.text and "Really good" in page.text and "Not good" in page.text
    form = {
        "csrf": browser.csrf(page),
        "yp_feeling": "not-good",
        "yp_going_well": SCRIPT,
        "yp_worries": "mum and dad shouting",
        "yp_must_know": "",
        "yp_attend": "advocate",
    }
    saved = browser.post("/family/you", form)
    assert saved.status == 200 and "Saved" in saved.text
    assert "&lt;script&gt;" in saved.text and "<script>" not in saved.text
    assert 'value="not-good" checked' in saved.text
    with Session(site.engine) as s:
        kai_id = s.exec(select(ChatIdentity.person_id).where(ChatIdentity.user_id == "kai")).one()
        row = s.exec(select(Attendance).where(Attendance.person_id == kai_id)).one()
    assert row.status == AttendanceStatus.APOLOGIES and "advocate" in row.note
    brief = site.chat(f"as sam\n/coregroup {REF} brief")
    assert "The young person (In their own words, from their page)" in brief
    assert "How they feel: Not good" in brief and f"\u201c{SCRIPT}\u201d" in brief
    # Section 4 of the minutes: the child's voice, their own words; not in the family's copy.
    site.clock.advance(timedelta(days=6, hours=5))
    draft = site.chat(f"as sam\n/coregroup {REF} held\n/coregroup {REF} draft")
    assert "What worries them: \u201cmum and dad shouting\u201d" in draft
    site.chat(f"as alex\n/coregroup {REF} approve\nas sam\n/coregroup {REF} publish")
    jo = site.chat("as jo\n/coregroup minutes")
    assert "mum and dad shouting" not in jo and "football" not in jo
    # In the documents too their words are words: escaped in Markdown, plain text in the PDF.
    with Session(site.engine) as s:
        minutes = s.exec(select(Minutes)).one()
        full = minutes_document(
            s, minutes=minutes, kind=CopyKind.FULL, tz=ZoneInfo("Europe/London"), options=OPTIONS
        )
        family = minutes_document(
            s, minutes=minutes, kind=CopyKind.FAMILY, tz=ZoneInfo("Europe/London"), options=OPTIONS
        )
    markdown = render_md(full).decode()
    assert "\\<script\\>" in markdown and "<script>" not in markdown
    assert SCRIPT in full.plain_text() and "football" not in family.plain_text()


def test_a_parent_cannot_open_the_young_persons_page(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    site.browser.sign_in(path, code)
    assert site.browser.get("/family/you").path == "/family/before"


def test_i_dont_feel_safe_alerts_at_once_any_hour(site: Site) -> None:
    site.clock.advance(timedelta(hours=12))  # 22:00 on a Thursday: outside anyone's hours
    browser = kai(site)
    page = browser.get("/family/you")
    before = len(site.chat.out.getvalue())
    told = browser.post("/family/unsafe", {"csrf": browser.csrf(page)})
    assert told.status == 200
    assert "has been told right now" in told.text and "your social worker" in told.text
    assert "999" in told.text and "0800 1111" in told.text
    chat = site.chat.out.getvalue()[before:]
    assert "[DM to sam]" in chat and "URGENT — CP-2026-0142" in chat
    assert "Kai" not in chat  # no child's name in the alert
    assert [m["to"] for m in site.mailer.sent] == [DUTY]
    assert "Kai" not in site.mailer.sent[0]["text"]
    with Session(site.engine) as s:
        assert "family:unsafe" in [e.what for e in s.exec(select(AuditEntry)).all()]


def test_i_dont_feel_safe_without_csrf_asks_again_and_sends_nothing(site: Site) -> None:
    browser = kai(site)
    page = browser.post("/family/unsafe", {})
    assert page.status == 403 and "press the button again" in page.text
    assert site.mailer.sent == []
