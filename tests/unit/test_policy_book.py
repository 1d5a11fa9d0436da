"""A council's own timescales: the policy file and POLICY_* settings, checked and credited."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.core.calendar import Nation, WorkingCalendar
from bot.core.policy import next_meeting_deadline, timescales
from bot.core.policy_book import PolicyError, load_policy_book, parse_value

NORTH = "North Borough's procedure"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_with_nothing_set_every_nation_has_its_national_defaults() -> None:
    book = load_policy_book(path=None, env={})
    england, scotland = book.for_nation(Nation.ENGLAND), book.for_nation(Nation.SCOTLAND)
    assert (england.meeting_interval, england.first_meeting_working_days) == ("6 weeks", 10)
    assert scotland.first_meeting_working_days == 15
    assert england.source_of("meeting_interval_days") == "statutory guidance default"
    assert scotland.source_of("record_working_days") == "Scotland's national guidance default"


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("meeting_interval_days", "4 weeks", {"meeting_interval_days": 28}),
        ("meeting_interval_days", 28, {"meeting_interval_days": 28}),
        ("meeting_interval_days", "30 days", {"meeting_interval_days": 30}),
        ("meeting_interval_days", "1 month", {"meeting_interval_months": 1}),
        ("record_working_days", "1 working day", {"record_working_days": 1}),
        ("first_review_months", "3 months", {"first_review_months": 3}),
        ("circulate_working_days", " 4 ", {"circulate_working_days": 4}),
    ],
)
def test_values_in_numbers_or_words(name: str, raw: object, expected: dict[str, int]) -> None:
    assert parse_value(name, raw) == expected


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("meeting_interval_days", "13 weeks", "out of range; use 1 to 12 weeks"),
        ("meeting_interval_days", "fortnightly", "not a timescale; use 1 to 12 weeks"),
        ("record_working_days", 0, "out of range; use a whole number of working days from 1"),
        ("record_working_days", "31", "from 1 to 30"),
        ("record_working_days", "2 weeks", "wrong unit"),
        ("first_review_months", "13 months", "from 1 to 12"),
        ("circulate_working_days", True, "not a timescale"),
        ("circulate_working_days", 2.5, "not a timescale"),
    ],
)
def test_bad_values_name_the_field_and_what_is_allowed(name: str, raw: object, says: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_value(name, raw)
    assert str(caught.value).startswith(f"{name} = {raw!r} ")
    assert says in str(caught.value)


def test_a_four_weekly_council_in_a_toml_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.toml",
        f'name = "{NORTH}"\n[default]\nmeeting_interval_days = "4 weeks"\n',
    )
    book = load_policy_book(path=path, env={})
    policy = book.for_nation(Nation.ENGLAND)
    deadline = next_meeting_deadline(
        last_meeting=date(2027, 1, 6),
        calendar=WorkingCalendar(Nation.ENGLAND),
        policy=policy,
    )
    assert deadline.due == date(2027, 2, 3)
    assert deadline.rule == (
        f"Next core group within 4 weeks of the core group on Wed 6 Jan 2027 — {NORTH}"
    )
    # What the council did not set is still credited to the guidance.
    every = timescales(
        icpc=date(2026, 12, 18),
        meetings=[date(2027, 1, 6)],
        reviews=[],
        calendar=WorkingCalendar(Nation.ENGLAND),
        policy=policy,
    )
    first = next(d for d in every if d.kind == "first_meeting")
    assert first.rule.endswith("— statutory guidance default")


def test_wales_monthly_cadence_moves_off_a_bank_holiday_to_the_working_day_before(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "policy.yaml", "wales:\n  meeting_interval_days: 1 month\n")
    book = load_policy_book(path=path, env={}, name="Cardiff's procedure")
    policy = book.for_nation(Nation.WALES)
    # A calendar month after Fri 26 Feb 2027 is Good Friday, 26 Mar 2027.
    deadline = next_meeting_deadline(
        last_meeting=date(2027, 2, 26), calendar=WorkingCalendar(Nation.WALES), policy=policy
    )
    assert deadline.due == date(2027, 3, 25)
    assert "within 1 month of the core group on Fri 26 Feb 2027" in deadline.rule
    assert "Fri 26 Mar 2027 is not a working day (Good Friday)" in deadline.rule
    assert deadline.rule.endswith("— Cardiff's procedure")
    # England, not named in the file, keeps six weeks.
    assert book.for_nation(Nation.ENGLAND).meeting_interval == "6 weeks"


def test_settings_win_over_the_file_and_nation_sections_over_its_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.toml",
        "[default]\ncirculate_working_days = 4\nrecord_working_days = 2\n"
        "[scotland]\ncirculate_working_days = 3\n",
    )
    book = load_policy_book(path=path, env={"POLICY_RECORD_WORKING_DAYS": "1"})
    assert book.for_nation(Nation.ENGLAND).circulate_working_days == 4
    assert book.for_nation(Nation.SCOTLAND).circulate_working_days == 3
    assert book.for_nation(Nation.SCOTLAND).record_working_days == 1
    assert book.for_nation(Nation.ENGLAND).source_of("record_working_days") == (
        "the council's procedure"
    )


def test_unknown_names_are_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_book(path=None, env={"POLICY_MEETING_EVERY": "4 weeks"})
    assert str(caught.value).startswith("POLICY_MEETING_EVERY: there is no timescale")
    assert "POLICY_MEETING_INTERVAL_DAYS" in str(caught.value)

    path = write(tmp_path, "policy.toml", "[default]\nmeetings = 28\n")
    with pytest.raises(PolicyError, match=r"\[default\]: there is no timescale called 'meetings'"):
        load_policy_book(path=path, env={})

    path = write(tmp_path, "policy.toml", "[wakanda]\nrecord_working_days = 1\n")
    with pytest.raises(PolicyError, match=r"\[wakanda\] is not a section I know.*\[wales\]"):
        load_policy_book(path=path, env={})


def test_an_unreadable_file_says_so_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.toml", "[default\nrecord_working_days = 1\n")
    with pytest.raises(PolicyError) as caught:
        load_policy_book(path=path, env={})
    assert "is not valid TOML or YAML" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_looser_timescale_is_refused_unless_the_council_says_so(tmp_path: Path) -> None:
    env = {"POLICY_MEETING_INTERVAL_DAYS": "8 weeks"}
    with pytest.raises(PolicyError) as caught:
        load_policy_book(path=None, env=env)
    assert str(caught.value).startswith(
        "meeting_interval_days for England is 8 weeks, looser than the statutory guidance "
        "default of 6 weeks."
    )
    assert "POLICY_ALLOW_LOOSER=true" in str(caught.value)

    book = load_policy_book(path=None, env=env, allow_looser=True)
    assert book.for_nation(Nation.ENGLAND).meeting_interval == "8 weeks"
    assert len(book.looser()) == len(Nation)  # the setting applies to every nation
    # Two months can be 62 days: looser than six weeks; one month never is.
    with pytest.raises(PolicyError):
        load_policy_book(path=None, env={"POLICY_MEETING_INTERVAL_MONTHS": "2"})
    assert load_policy_book(path=None, env={"POLICY_MEETING_INTERVAL_MONTHS": "1"}).looser() == []
    # Scotland's own defaults are its floor: 15 working days is not looser there, 16 is.
    same = write(tmp_path, "same.toml", "[scotland]\nfirst_meeting_working_days = 15\n")
    assert load_policy_book(path=same, env={}).looser() == []
    later = write(tmp_path, "later.toml", "[scotland]\nfirst_meeting_working_days = 16\n")
    with pytest.raises(PolicyError, match="for Scotland is 16 working days, looser than"):
        load_policy_book(path=later, env={})


def test_the_fingerprint_moves_with_any_timescale() -> None:
    plain = load_policy_book(path=None, env={})
    four = load_policy_book(path=None, env={"POLICY_MEETING_INTERVAL_DAYS": "4 weeks"})
    assert plain.fingerprint() == load_policy_book(path=None, env={}).fingerprint()
    assert plain.fingerprint() != four.fingerprint()
