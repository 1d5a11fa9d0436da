"""The reply interpreter: what people write back to an action reminder, and what it means."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.replies import Intent, interpret, is_small_talk

LONDON = ZoneInfo("Europe/London")
# Mon 23 Nov 2026 09:00, as in the scenario tests.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)


def read(text: str) -> Intent:
    return interpret(text, now=NOW, tz=LONDON)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("Done!", None),
        ("done", None),
        ("DONE.", None),
        ("done — referral sent", "referral sent"),
        ("done - sent referral", "sent referral"),
        ("Done, letter posted to mum", "letter posted to mum"),
        ("done: visit completed, children seen alone", "visit completed, children seen alone"),
        ("all done, thanks", None),
        ("it's done", None),
        ("It\u2019s done \u2014 GP has the letter", "GP has the letter"),
        ("I've done it", None),
        ("yes done", None),
        ("finished", None),
        ("completed", None),
        ("sorted", None),
        ("\u2705", None),
        ("\u2705 sent", "sent"),
        ("completed the referral", "completed the referral"),
        (
            "I've spoken to the school and it's done",
            "I've spoken to the school and it's done",
        ),
    ],
)
def test_done_phrasings_mark_done_with_the_rest_as_note(text: str, note: str | None) -> None:
    assert read(text) == Intent("done", note=note)


@pytest.mark.parametrize(
    ("text", "due", "note"),
    [
        ("need until next Friday", date(2026, 11, 27), None),
        ("need til 15/1", date(2027, 1, 15), None),
        ("need till 15/1", date(2027, 1, 15), None),
        ("Need until Friday please", date(2026, 11, 27), None),
        ("need until next Friday, waiting for mum", date(2026, 11, 27), "waiting for mum"),
        ("we need more time until 4 Dec", date(2026, 12, 4), None),
        ("need more time, until 4 Dec", date(2026, 12, 4), None),
        ("need an extension to 4/12", date(2026, 12, 4), None),
        ("can I have until Friday?", date(2026, 11, 27), None),
        ("new date 4/12", date(2026, 12, 4), None),
        ("move it to 15 January", date(2027, 1, 15), None),
        ("I'll have it done by Friday", date(2026, 11, 27), None),
        ("won't be ready until 4/12", date(2026, 12, 4), None),
    ],
)
def test_new_date_phrasings_carry_the_date(text: str, due: date, note: str | None) -> None:
    assert read(text) == Intent("new_date", note=note, date=due)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("need until 31/02", "31/02 is not a real date: February has 28 days in 2027."),
        ("need until yesterday", "That date is in the past (Sun 22 Nov 2026)."),
        ("need more time", "Which date would you like it moved to?"),
        ("need until soon", '"soon" is too vague: please name a day.'),
    ],
)
def test_new_date_without_a_usable_date_says_why(text: str, problem: str) -> None:
    intent = read(text)
    assert intent.kind == "new_date"
    assert intent.date is None
    assert intent.problem == problem


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("cannot do this", None),
        ("can't", None),
        ("can't — family moved", "family moved"),
        ("can't, the family moved GP", "the family moved GP"),
        ("Can\u2019t do it - the family have moved area", "the family have moved area"),
        ("sorry, I can't do this: no interpreter available", "no interpreter available"),
        ("unable to, mum refused consent", "mum refused consent"),
        ("no longer needed", "no longer needed"),
        ("won't, the case moved to another team", "the case moved to another team"),
    ],
)
def test_cannot_phrasings_are_blocked_with_reason(text: str, reason: str | None) -> None:
    assert read(text) == Intent("blocked", note=reason)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("in progress, halfway", "halfway"),
        ("in progress", None),
        ("Still in progress - waiting for the GP", "waiting for the GP"),
        ("on it", None),
        ("halfway there, forms sent", "forms sent"),
        ("nearly done, just need mum's signature", "just need mum's signature"),
        ("not done yet, waiting on mum", "waiting on mum"),
        ("not done yet", None),
        (
            "it hasn't been done yet because school was shut",
            "it hasn't been done yet because school was shut",
        ),
    ],
)
def test_progress_phrasings(text: str, note: str | None) -> None:
    assert read(text) == Intent("progress", note=note)


@pytest.mark.parametrize(
    "text",
    [
        "spoke to mum, visit booked",
        "visit booked",
        "Mum says she will take him to the dentist",
        "left a voicemail for the health visitor",
        "need to call mum first",
    ],
)
def test_news_without_a_status_is_a_note(text: str) -> None:
    assert read(text) == Intent("note", note=text)


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "yes",
        "maybe?",
        "ok",
        "thanks",
        "hello",
        "done?",
        "is it still needed?",
        "asdf qwerty zxcv",
        "sdfsdf sdfsdf",
        "???",
        "",
        "   ",
        "can't get hold of mum",
    ],
)
def test_unclear_replies_are_not_guessed(text: str) -> None:
    assert read(text).kind == "unclear"


def test_unclear_keeps_what_was_typed_so_nothing_is_lost() -> None:
    assert read("can't get hold of mum") == Intent("unclear", note="can't get hold of mum")


def test_a_weekday_new_date_is_the_next_one_not_today() -> None:
    # The clock is a Monday: "need until Monday" means next Monday, never today.
    assert read("need until Monday").date == date(2026, 11, 30)


@pytest.mark.parametrize(("text", "chatter"), [("thanks!", True), ("ok", True), ("sent", False)])
def test_small_talk(text: str, chatter: bool) -> None:
    assert is_small_talk(text) is chatter
