"""Find a time: the chair offers 3-5 times, the family ranks them on their page (and says whether
each place feels right), members rank them in chat, the chair sees them family first and books."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from storage.models import Meeting, MeetingSlot
from tests.family.conftest import REF, Site, invite

PROPOSE = (
    f'as sam\n/coregroup {REF} times propose "20/1 10am at School" "21/1 4pm at Family Centre" '
    '"22/1 11am at Oak Library"'
)


def slot_ids(site: Site) -> list[int]:
    with Session(site.engine) as s:
        rows = s.exec(select(MeetingSlot).where(col(MeetingSlot.closed_at).is_(None))).all()
        return [r.id for r in sorted(rows, key=lambda r: r.starts_at)]  # type: ignore[misc]


def test_offer_rank_family_first_and_book(site: Site) -> None:
    assert "3 to 5 times" in site.chat(f'as sam\n/coregroup {REF} times propose "20/1 10am"')
    out = site.chat(PROPOSE)
    assert "Finding a time for the next meeting" in out
    first, second, third = slot_ids(site)
    # The professionals like the school best; the family can't face the school.
    site.chat(f"as alex\n/coregroup {REF} times rank 1 2 3")
    path, code = invite(site.chat, "jo")
    browser = site.browser
    browser.sign_in(path, code)
    page = browser.get("/family/times")
    assert "Does School feel right for you?" in page.text
    form = {
        "csrf": browser.csrf(page),
        f"rank-{first}": "cant",
        f"rank-{second}": "2",
        f"rank-{third}": "1",
        f"venue-{first}": "no",
        f"venue-{third}": "yes",
        "note": "<i>not the school</i>, the children's friends would see",
    }
    saved = browser.post("/family/times", form)
    assert saved.status == 200 and "Saved" in saved.text
    assert "&lt;i&gt;not the school&lt;/i&gt;" in saved.text
    ranking = site.chat(f"as sam\n/coregroup {REF} times")
    order = re.findall(r"Time (\d):", ranking)
    assert order == ["3", "2", "1"], ranking
    assert "1 in the family can't make it" in ranking and "doesn't feel right" in ranking
    assert "<i>not the school</i>" in ranking
    out = site.chat(f"/coregroup {REF} times book 3")
    with Session(site.engine) as s:
        meetings = s.exec(select(Meeting).order_by(col(Meeting.starts_at))).all()
        assert meetings[-1].venue == "Oak Library"
    assert "Oak Library" in out
    assert slot_ids(site) == []
    assert "no times to choose from" in browser.get("/family/times").text


def test_the_family_cannot_use_a_choice_twice_and_keeps_what_they_chose(site: Site) -> None:
    site.chat(PROPOSE)
    first, second, third = slot_ids(site)
    path, code = invite(site.chat, "jo")
    site.browser.sign_in(path, code)
    page = site.browser.get("/family/times")
    form = {"csrf": site.browser.csrf(page), f"rank-{first}": "1", f"rank-{second}": "1"}
    result = site.browser.post("/family/times", {**form, "note": "kept words"})
    assert result.status == 422 and "only be used once" in result.text
    assert "kept words" in result.text
    assert site.browser.post("/family/times", {"note": "x"}).status == 403


def test_only_the_chair_offers_and_books(site: Site) -> None:
    assert "Only the chair" in site.chat(
        f'as alex\n/coregroup {REF} times propose "20/1 10am" "21/1 10am" "22/1 10am"'
    )
    site.chat(PROPOSE)
    assert "Only the chair" in site.chat(f"as alex\n/coregroup {REF} times book 1")
