"""Statutory timescales: deadlines, the rules in words, and warnings for proposed dates."""

from collections.abc import Sequence
from datetime import date

import pytest

from bot.core.calendar import Nation, WorkingCalendar
from bot.core.errors import BadInput
from bot.core.policy import (
    Deadline,
    DeadlineKind,
    Policy,
    after_review_deadline,
    check_meeting_date,
    circulate_deadline,
    first_meeting_deadline,
    next_meeting_deadline,
    pre_review_meeting_target,
    record_deadline,
    review_conference_deadlines,
    timescales,
)

ENGLAND = WorkingCalendar(Nation.ENGLAND)
SCOTLAND = WorkingCalendar(Nation.SCOTLAND)
DEFAULT = Policy()
ICPC = date(2026, 12, 18)  # journey 1, CP-2026-0142


def test_journey_one_first_meeting() -> None:
    deadline = first_meeting_deadline(icpc=ICPC, calendar=ENGLAND, policy=DEFAULT)
    assert deadline == Deadline(
        DeadlineKind.FIRST_MEETING,
        date(2027, 1, 6),
        ICPC,
        "First core group within 10 working days of the ICPC on Fri 18 Dec 2026 "
        "(England bank holidays) — statutory guidance default",
    )
    assert deadline.as_dict() == {
        "kind": "first_meeting",
        "due": "2027-01-06",
        "basis": "2026-12-18",
        "rule": deadline.rule,
    }


def test_local_closures_are_named_in_the_rule() -> None:
    calendar = WorkingCalendar(Nation.ENGLAND, closures=[date(2026, 12, 29)])
    deadline = first_meeting_deadline(icpc=ICPC, calendar=calendar, policy=DEFAULT)
    assert deadline.due == date(2027, 1, 7)
    assert deadline.rule.endswith(
        "(England bank holidays and local closure days) — statutory guidance default"
    )


@pytest.mark.parametrize(
    ("meeting", "record", "circulate"),
    [
        (date(2026, 4, 2), date(2026, 4, 8), date(2026, 4, 13)),  # before Easter
        (date(2026, 12, 24), date(2026, 12, 30), date(2027, 1, 5)),  # before Christmas
    ],
)
def test_record_and_circulate_from_a_thursday_before_a_bank_holiday(
    meeting: date, record: date, circulate: date
) -> None:
    recorded = record_deadline(meeting=meeting, calendar=ENGLAND, policy=DEFAULT)
    sent = circulate_deadline(meeting=meeting, calendar=ENGLAND, policy=DEFAULT)
    assert (recorded.kind, recorded.due, recorded.basis) == (DeadlineKind.RECORD, record, meeting)
    assert (sent.kind, sent.due, sent.basis) == (DeadlineKind.CIRCULATE, circulate, meeting)
    assert recorded.rule.startswith("Written record on the case system within 2 working days")
    assert sent.rule.startswith("Copies of the record to all members within 5 working days")


def test_next_meeting_on_a_working_day_stays() -> None:
    deadline = next_meeting_deadline(
        last_meeting=date(2027, 1, 6), calendar=ENGLAND, policy=DEFAULT
    )
    assert deadline.due == date(2027, 2, 17)
    assert deadline.rule == (
        "Next core group within 6 weeks of the core group on Wed 6 Jan 2027"
        " — statutory guidance default"
    )


def test_next_meeting_on_a_bank_holiday_moves_earlier() -> None:
    deadline = next_meeting_deadline(
        last_meeting=date(2026, 11, 16), calendar=ENGLAND, policy=DEFAULT
    )
    assert deadline.due == date(2026, 12, 24)
    assert deadline.rule == (
        "Next core group within 6 weeks of the core group on Mon 16 Nov 2026; "
        "Mon 28 Dec 2026 is not a working day (Boxing Day (substitute day)), "
        "so the working day before — statutory guidance default"
    )


def test_next_meeting_on_a_weekend_moves_earlier() -> None:
    policy = DEFAULT.with_overrides(meeting_interval_days=31)
    deadline = next_meeting_deadline(
        last_meeting=date(2026, 10, 1), calendar=ENGLAND, policy=policy
    )
    assert deadline.due == date(2026, 10, 30)
    assert "within 31 days" in deadline.rule
    assert "Sun 1 Nov 2026 is not a working day (Sunday)" in deadline.rule


def test_four_weekly_councils() -> None:
    policy = DEFAULT.with_overrides(meeting_interval_days=28)
    deadline = next_meeting_deadline(last_meeting=date(2027, 1, 6), calendar=ENGLAND, policy=policy)
    assert deadline.due == date(2027, 2, 3)
    assert "within 4 weeks" in deadline.rule


def test_review_deadlines() -> None:
    review = date(2027, 3, 17)
    after = after_review_deadline(review=review, calendar=ENGLAND, policy=DEFAULT)
    assert after.due == date(2027, 4, 2)  # skips Good Friday and Easter Monday
    assert after.rule == (
        "Core group within 10 working days of the review conference on Wed 17 Mar 2027 "
        "(England bank holidays) — statutory guidance default"
    )
    before = pre_review_meeting_target(review=review, calendar=ENGLAND, policy=DEFAULT)
    assert before.due == date(2027, 3, 3)
    assert before.rule.startswith(
        "Last core group about 10 working days before the review conference on Wed 17 Mar 2027"
    )
    assert "written update from each agency" in before.rule


def test_review_conference_deadlines() -> None:
    first, following = review_conference_deadlines(
        icpc=ICPC, reviews=[date(2027, 3, 17)], calendar=ENGLAND, policy=DEFAULT
    )
    assert (first.kind, first.due) == (DeadlineKind.FIRST_REVIEW, date(2027, 3, 18))
    assert first.rule == (
        "First review conference within 3 months of the ICPC on Fri 18 Dec 2026"
        " — statutory guidance default"
    )
    assert (following.kind, following.due) == (DeadlineKind.NEXT_REVIEW, date(2027, 9, 17))
    assert following.rule == (
        "Next review conference within 6 months of the one on Wed 17 Mar 2027"
        " — statutory guidance default"
    )


def test_review_month_end_is_clamped_and_moved_off_a_weekend() -> None:
    (first,) = review_conference_deadlines(
        icpc=date(2026, 11, 30), reviews=[], calendar=ENGLAND, policy=DEFAULT
    )
    assert first.due == date(2027, 2, 26)
    assert "Sun 28 Feb 2027 is not a working day (Sunday)" in first.rule


def test_scotland_variant() -> None:
    policy = Policy.for_nation(Nation.SCOTLAND)
    assert (policy.first_meeting_working_days, policy.record_working_days) == (15, 10)
    assert policy.first_review_months == 6
    first = first_meeting_deadline(icpc=ICPC, calendar=SCOTLAND, policy=policy)
    assert first.due == date(2027, 1, 14)  # also skips 2nd January's substitute, Mon 4 Jan
    assert first.rule == (
        "First core group within 15 working days of the CPPM on Fri 18 Dec 2026 "
        "(Scotland bank holidays) — Scotland's national guidance default"
    )
    record = record_deadline(meeting=date(2027, 1, 14), calendar=SCOTLAND, policy=policy)
    assert record.due == date(2027, 1, 28)
    assert "within 10 working days" in record.rule


@pytest.mark.parametrize("nation", [Nation.ENGLAND, Nation.WALES, Nation.NORTHERN_IRELAND])
def test_other_nations_use_the_defaults(nation: Nation) -> None:
    assert Policy.for_nation(nation) == Policy()


def test_with_overrides() -> None:
    policy = DEFAULT.with_overrides(meeting_interval_days=28, circulate_working_days=10)
    assert (policy.meeting_interval_days, policy.circulate_working_days) == (28, 10)
    assert DEFAULT.meeting_interval_days == 42


@pytest.mark.parametrize("value", [0, -3, 2.5, "10", True])
def test_overrides_must_be_positive_whole_numbers(value: object) -> None:
    with pytest.raises(BadInput) as caught:
        DEFAULT.with_overrides(record_working_days=value)  # type: ignore[arg-type]
    assert "record_working_days" in caught.value.message


def test_unknown_override_is_refused() -> None:
    with pytest.raises(BadInput) as caught:
        DEFAULT.with_overrides(meeting_every=28)
    assert "meeting_every" in caught.value.message
    assert "meeting_interval_days" in caught.value.hint


def test_timescales_full_picture() -> None:
    meetings = [date(2027, 1, 6), date(2027, 3, 1)]  # the second came after the 6-week deadline
    result = timescales(
        icpc=ICPC, meetings=meetings, reviews=[date(2027, 3, 17)], calendar=ENGLAND, policy=DEFAULT
    )
    assert [d.due for d in result] == sorted(d.due for d in result)
    assert [(d.kind, d.due) for d in result] == [
        (DeadlineKind.FIRST_MEETING, date(2027, 1, 6)),
        (DeadlineKind.RECORD, date(2027, 1, 8)),
        (DeadlineKind.CIRCULATE, date(2027, 1, 13)),
        (DeadlineKind.NEXT_MEETING, date(2027, 2, 17)),
        (DeadlineKind.RECORD, date(2027, 3, 3)),
        (DeadlineKind.PRE_REVIEW_MEETING, date(2027, 3, 3)),
        (DeadlineKind.CIRCULATE, date(2027, 3, 8)),
        (DeadlineKind.FIRST_REVIEW, date(2027, 3, 18)),
        (DeadlineKind.AFTER_REVIEW, date(2027, 4, 2)),
        (DeadlineKind.NEXT_MEETING, date(2027, 4, 12)),
        (DeadlineKind.NEXT_REVIEW, date(2027, 9, 17)),
    ]


def test_timescales_only_keeps_the_latest_next_meeting_when_gaps_held() -> None:
    meetings = [date(2027, 2, 10), date(2027, 1, 6)]
    result = timescales(icpc=ICPC, meetings=meetings, reviews=[], calendar=ENGLAND, policy=DEFAULT)
    nexts = [d for d in result if d.kind is DeadlineKind.NEXT_MEETING]
    assert [(d.basis, d.due) for d in nexts] == [(date(2027, 2, 10), date(2027, 3, 24))]


def test_every_rule_names_its_numbers_and_basis() -> None:
    policy = Policy(
        first_meeting_working_days=11,
        meeting_interval_days=29,
        after_review_working_days=12,
        pre_review_meeting_working_days=13,
        record_working_days=3,
        circulate_working_days=4,
        first_review_months=2,
        review_interval_months=5,
    )
    numbers = {
        DeadlineKind.FIRST_MEETING: "11 working days of the ICPC",
        DeadlineKind.NEXT_MEETING: "29 days",
        DeadlineKind.AFTER_REVIEW: "12 working days of the review conference",
        DeadlineKind.PRE_REVIEW_MEETING: "13 working days before the review conference",
        DeadlineKind.RECORD: "3 working days",
        DeadlineKind.CIRCULATE: "4 working days",
        DeadlineKind.FIRST_REVIEW: "2 months",
        DeadlineKind.NEXT_REVIEW: "5 months",
    }
    result = timescales(
        icpc=ICPC,
        meetings=[date(2027, 1, 6)],
        reviews=[date(2027, 2, 17)],
        calendar=ENGLAND,
        policy=policy,
    )
    assert {d.kind for d in result} == set(DeadlineKind)
    for deadline in result:
        assert numbers[deadline.kind] in deadline.rule
        assert f"{deadline.basis:%a} {deadline.basis.day} {deadline.basis:%b %Y}" in deadline.rule


def check(when: date, meetings: Sequence[date] = (), reviews: Sequence[date] = ()) -> list[str]:
    return check_meeting_date(
        when=when, icpc=ICPC, meetings=meetings, reviews=reviews, calendar=ENGLAND, policy=DEFAULT
    )


def test_check_meeting_date_in_time() -> None:
    assert check(date(2027, 1, 6)) == []
    assert check(date(2027, 2, 17), meetings=[date(2027, 1, 6)]) == []


def test_check_meeting_date_misses_first_deadline() -> None:
    assert check(date(2027, 1, 7)) == [
        "This is after the first core group deadline of Wed 6 Jan 2027 "
        "(within 10 working days of the ICPC — statutory guidance default)."
    ]


def test_check_meeting_date_on_a_non_working_day() -> None:
    assert check(date(2026, 12, 28)) == [
        "Mon 28 Dec 2026 is not a working day (Boxing Day (substitute day))."
    ]
    assert check(date(2027, 1, 9))[0] == "Sat 9 Jan 2027 is not a working day (Saturday)."


def test_check_meeting_date_before_the_icpc() -> None:
    assert check(date(2026, 12, 17)) == ["This is not after the ICPC on Fri 18 Dec 2026."]


def test_check_meeting_date_misses_six_weeks() -> None:
    assert check(date(2027, 2, 18), meetings=[date(2027, 1, 6)]) == [
        "This is after the next core group deadline of Wed 17 Feb 2027 "
        "(within 6 weeks of the core group on Wed 6 Jan 2027 — statutory guidance default)."
    ]


def test_check_meeting_date_after_a_review() -> None:
    meetings, reviews = [date(2027, 3, 3)], [date(2027, 3, 17)]
    assert check(date(2027, 4, 2), meetings, reviews) == []
    assert check(date(2027, 4, 5), meetings, reviews) == [
        "This is after the deadline of Fri 2 Apr 2027 for a core group within 10 working days "
        "of the review conference on Wed 17 Mar 2027."
    ]


def test_check_meeting_date_too_close_to_a_review() -> None:
    meetings, reviews = [date(2027, 2, 17)], [date(2027, 3, 17)]
    assert check(date(2027, 3, 3), meetings, reviews) == []
    assert check(date(2027, 3, 10), meetings, reviews) == [
        "This is less than 10 working days before the review conference on Wed 17 Mar 2027: "
        "aim for about Wed 3 Mar 2027 so each agency's written update is ready."
    ]
