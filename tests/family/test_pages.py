"""The family's pages: the next meeting in plain words, the pre-meeting questions answered one at
a time (resumable, landing in the brief exactly as chat answers do), and the minutes' family copy
with its downloads. Bad input is refused with the reason, and nothing typed is lost."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, select

from storage.enums import AttendanceStatus, UpdateState
from storage.models import Attendance, AuditEntry, ChatIdentity, MemberUpdate, UpdateAnswer
from tests.family.conftest import REF, Browser, Site, invite

SCRIPT = '<script>alert("x")</script> & <b>bold</b>'


def signed_in(site: Site, name: str = "jo", browser: Browser | None = None) -> Browser:
    browser = browser or site.browser
    path, code = invite(site.chat, name)
    assert browser.sign_in(path, code).status == 200
    return browser


def question_key(page_text: str) -> str:
    found = re.search(r'name="question" value="([^"]+)"', page_text)
    assert found, page_text
    return found.group(1)


def answer(browser: Browser, text: str = "", choice: str = "", skip: bool = False) -> str:
    """Answer the question the page shows; returns the next page's text."""
    page = browser.get("/family/before")
    form = {"csrf": browser.csrf(page), "question": question_key(page.text), "answer": text}
    if choice:
        form["choice"] = choice
    if skip:
        form["skip"] = "1"
    return browser.post("/family/before", form).text


def jo_update(s: Session) -> MemberUpdate:
    jo = s.exec(select(ChatIdentity.person_id).where(ChatIdentity.user_id == "jo")).one()
    return s.exec(select(MemberUpdate).where(MemberUpdate.person_id == jo)).one()


def answers_of(site: Site) -> dict[str, UpdateAnswer]:
    with Session(site.engine) as s:
        update = jo_update(s)
        rows = s.exec(select(UpdateAnswer).where(UpdateAnswer.update_id == update.id)).all()
        return {r.question: r for r in rows}


def test_our_next_meeting_in_plain_words(site: Site) -> None:
    browser = signed_in(site)
    text = browser.get("/family/meeting").text
    assert "Wed 6 Jan 2027, 14:00" in text and "Family Centre, Oak Road" in text
    assert "first meeting since the child protection conference" in text
    assert "Alex" in text and "health visitor" in text and "You (parent or carer)" in text
    assert "hasn&#39;t said yet" in text
    with Session(site.engine) as s:
        seen = [e.what for e in s.exec(select(AuditEntry)).all()]
    assert "family:view:meeting" in seen


def test_before_the_meeting_answered_one_by_one_resumed_and_in_the_brief(site: Site) -> None:
    browser = signed_in(site)
    page = browser.get("/family/before").text
    assert "Question 1 of" in page and "You agreed to" in page
    page = answer(browser, "landlord came on Monday", choice="in-progress")
    assert "Saved" in page and "Question 3 of" in page  # the note answered its own question
    assert "What&#39;s going well at home?" in page or "Is there anything" in page
    # Away and back (a new phone, a new session): it carries on where it stopped.
    other = site.new_browser()
    signed_in(site, browser=other)
    page = other.get("/family/before").text
    assert "Still doing it" in page  # the first answer is listed
    keys = list(answers_of(site))
    assert any(k.endswith(":status") for k in keys) and any(k.endswith(":note") for k in keys)
    # Answer the rest: going well, worries, must know, attendance.
    while 'name="question"' in (page := other.get("/family/before").text):
        key = question_key(page)
        if key == "attend":
            answer(other, choice="yes")
        elif key == "going_well":
            answer(other, SCRIPT)
        else:
            answer(other, skip=True)
    assert "answered everything" in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    got = answers_of(site)
    assert got["going_well"].answer == SCRIPT and got["going_well"].shared_with_family
    with Session(site.engine) as s:
        update = jo_update(s)
        attending = s.exec(select(Attendance).where(Attendance.person_id == update.person_id)).one()
    assert update.state == UpdateState.COMPLETE
    assert attending.status == AttendanceStatus.ATTENDING
    # The brief has it, as for a chat answer; the chat shows the words as words.
    brief = site.chat(f"as sam\n/coregroup {REF} brief")
    assert SCRIPT in brief


def test_a_choice_question_without_a_choice_keeps_the_words(site: Site) -> None:
    browser = signed_in(site)
    page = answer(browser, "some words")
    assert "Please choose one of the answers" in page and "some words" in page
    assert answers_of(site) == {}


def test_a_100kb_answer_is_refused_and_kept_in_the_form(site: Site) -> None:
    browser = signed_in(site)
    answer(browser, choice="done")
    page = browser.get("/family/before")
    assert "Question 2 of" in page.text
    huge = "a very long answer " * 5400  # about 100 KB
    form = {"csrf": browser.csrf(page), "question": question_key(page.text), "answer": huge}
    result = browser.post("/family/before", form)
    assert result.status == 422
    assert "too long to save" in result.text and huge in result.text
    assert set(answers_of(site)) == {next(k for k in answers_of(site) if k.endswith(":status"))}


def test_a_post_without_csrf_token_saves_nothing_and_keeps_the_words(site: Site) -> None:
    browser = signed_in(site)
    page = browser.get("/family/before")
    form = {"question": question_key(page.text), "answer": "my words", "choice": "done"}
    result = browser.post("/family/before", form)
    assert result.status == 403 and "didn&#39;t save" in result.text and "my words" in result.text
    assert answers_of(site) == {}


def test_answers_are_locked_once_the_meeting_starts(site: Site) -> None:
    site.clock.advance(timedelta(days=6, hours=4, minutes=1))  # past Wed 6 Jan 14:00
    browser = signed_in(site)
    page = browser.get("/family/before").text
    assert "no meeting booked" in page


def test_what_was_agreed_is_the_family_copy_with_downloads(site: Site) -> None:
    assert "no minutes to read yet" in signed_in(site).get("/family/agreed").text
    site.clock.advance(timedelta(days=6, hours=5))
    site.chat(
        f"""
        as sam
        /coregroup {REF} held
        /coregroup {REF} draft
        as alex
        /coregroup {REF} approve
        as sam
        /coregroup {REF} publish
        """
    )
    browser = signed_in(site)
    page = browser.get("/family/agreed")
    assert "family version" in page.text, page.text
    pdf = browser.get("/family/agreed.pdf")
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]
    docx = browser.get("/family/agreed.docx")
    assert docx.body.startswith(b"PK")
    with Session(site.engine) as s:
        seen = [e.what for e in s.exec(select(AuditEntry)).all()]
    assert "family:view:agreed" in seen and seen.count("minutes:download") == 2
