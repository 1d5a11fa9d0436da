"""Minutes: the draft assembled from the database, versions, approval, publication, deadlines.

The text of each version is stored as JSON, one entry per section of DOMAIN.md's eleven, so a
chair can amend one section at a time and every earlier version stays as it was. Where the
family's copy must differ (section 3's worries, outcomes and actions not shared with the family)
the body carries a separate family text for that section. Functions take the session and plain
values (keyword-only) so the reminder engine and status views reuse them; authorisation happens
in commands/.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core import concerns, distribution, young_voice
from bot.core.access import members_of
from bot.core.calendar import WorkingCalendar, format_day
from bot.core.errors import Conflict
from bot.core.groups import chairs, minute_takers
from bot.core.meetings import (
    FAMILY_KIND_LABELS,
    KIND_LABELS,
    attendance_of,
    case_of_group,
    format_when,
    number_of,
)
from bot.core.plain_english import Glossary, jargon_note
from bot.core.plan import (
    STATUS_LABELS,
    actions_of,
    history,
    latest_note,
    names_of,
    outcome_progress,
    outcomes_of,
)
from bot.core.policy import (
    Policy,
    circulate_deadline,
    next_meeting_deadline,
    record_deadline,
)
from bot.core.updates import NOTHING_KEYS, says_nothing, updates_of
from bot.messages import Block, Bullets, Button, Buttons, Context, Fields, Heading, Message, Text
from storage.enums import (
    ActionStatus,
    AttendanceStatus,
    MeetingKind,
    MeetingStatus,
    MinutesStatus,
    OutcomeStatus,
    Role,
    Verdict,
)
from storage.models import (
    Action,
    Case,
    Disagreement,
    Meeting,
    Membership,
    Minutes,
    MinutesReview,
    MinutesVersion,
    Outcome,
    Person,
    UpdateAnswer,
)

APPROVE = "minutes.approve"
CHANGE = "minutes.change"
RECORDED = "minutes.recorded"
CHANGE_ASK = "What should change? The chair will see your comment."

SECTIONS: dict[int, str] = {
    1: "Meeting details",
    2: "Who came",
    3: "Why there is a plan, and the purpose of this meeting",
    4: "The child's voice",
    5: "Updates from the family and each agency",
    6: "The plan, outcome by outcome",
    7: "Working well, worries, and what needs to happen",
    8: "Actions",
    9: "Contingency plan and new concerns",
    10: "Disagreements and how they were escalated",
    11: "Next meeting and who gets these minutes",
}
NO_DISAGREEMENT = "No disagreements were recorded."
NOT_RECORDED = "Not recorded yet — to be added."
_BODY_FORMAT = "sections-1"


# --- the body: one text per section ---------------------------------------------------------------


@dataclass(frozen=True)
class MinutesBody:
    """The minutes text: each section's text, and the family's copy where it differs."""

    sections: dict[int, str]
    family: dict[int, str] = field(default_factory=dict)

    def text(self, number: int, *, family: bool = False) -> str:
        """One section's text, as the professionals or the family read it."""
        if family and number in self.family:
            return self.family[number]
        return self.sections.get(number, "")

    def has_family_copy(self, number: int) -> bool:
        """Whether the family's copy of a section is worded separately."""
        return number in self.family

    def amended(self, number: int, text: str, *, family_copy: bool = False) -> MinutesBody:
        """A copy with one section (or only the family's copy of it) replaced."""
        if family_copy:
            return MinutesBody(dict(self.sections), {**self.family, number: text})
        return MinutesBody({**self.sections, number: text}, dict(self.family))

    def whole_text(self, *, family: bool = False) -> str:
        """Every section's text joined, for checks such as plain English."""
        return "\n".join(self.text(n, family=family) for n in SECTIONS)

    def dumps(self) -> str:
        """The JSON stored in MinutesVersion.body."""
        return json.dumps(
            {
                "format": _BODY_FORMAT,
                "sections": {str(n): t for n, t in sorted(self.sections.items())},
                "family": {str(n): t for n, t in sorted(self.family.items())},
            },
            ensure_ascii=False,
        )

    @classmethod
    def loads(cls, raw: str) -> MinutesBody:
        """The body stored in MinutesVersion.body."""
        data = json.loads(raw)
        return cls(
            {int(n): t for n, t in data["sections"].items()},
            {int(n): t for n, t in data.get("family", {}).items()},
        )


def body_of(version: MinutesVersion) -> MinutesBody:
    """A version's text as sections."""
    return MinutesBody.loads(version.body)


# --- gathering what the draft says -------------------------------------------------------------


@dataclass
class _Facts:
    """Everything the draft is assembled from, loaded once."""

    session: Session
    meeting: Meeting
    case: Case
    tz: ZoneInfo
    previous: Meeting | None
    memberships: dict[int, Membership]
    people: dict[int, Person]
    answers: dict[int, dict[str, UpdateAnswer]]

    @property
    def day(self) -> date:
        return self.meeting.starts_at.astimezone(self.tz).date()

    def who(self, person_id: int) -> str:
        """ "Jo Reed — parent / carer" or "Priya Shah — school safeguarding lead, Oak School"."""
        person = self.people.get(person_id)
        name = person.display_name if person else "A former member"
        membership = self.memberships.get(person_id)
        if membership is None:
            return name
        role = Role(membership.role).label
        agency = membership.agency
        # "police, Police" says nothing twice.
        shown = f", {agency}" if agency and agency.casefold() != role.casefold() else ""
        return f"{name} — {role}{shown}"

    def name(self, person_id: int) -> str:
        person = self.people.get(person_id)
        return person.display_name if person else "a former member"

    def said(self, person_id: int, key: str, *, family: bool = False) -> str | None:
        """A member's answer to one question; None when skipped, not given, "nothing" where
        that means nothing to record, or (for the family's copy) not shared with the family."""
        answer = self.answers.get(person_id, {}).get(key)
        if answer is None or answer.skipped or not answer.answer.strip():
            return None
        if key in NOTHING_KEYS and says_nothing(answer.answer):
            return None
        if family and not answer.shared_with_family:
            return None
        return answer.answer.strip()

    def is_family(self, person_id: int) -> bool:
        membership = self.memberships.get(person_id)
        if membership is not None:
            return Role(membership.role).is_family
        person = self.people.get(person_id)
        return bool(person and person.is_family)


def _previous_meeting(session: Session, meeting: Meeting) -> Meeting | None:
    return session.exec(
        select(Meeting)
        .where(
            Meeting.group_id == meeting.group_id,
            Meeting.status != MeetingStatus.CANCELLED,
            col(Meeting.starts_at) < meeting.starts_at,
        )
        .order_by(col(Meeting.starts_at).desc())
    ).first()


def _facts(session: Session, *, meeting: Meeting, tz: ZoneInfo) -> _Facts:
    memberships = {
        m.person_id: m
        for m in session.exec(select(Membership).where(Membership.group_id == meeting.group_id))
    }
    people = {
        p.id: p
        for p in session.exec(select(Person).where(col(Person.id).in_(list(memberships))))
        if p.id is not None
    }
    answers: dict[int, dict[str, UpdateAnswer]] = {}
    for person_id, update in updates_of(session, meeting=meeting).items():
        rows = session.exec(select(UpdateAnswer).where(UpdateAnswer.update_id == update.id)).all()
        answers[person_id] = {row.question: row for row in rows}
    return _Facts(
        session=session,
        meeting=meeting,
        case=case_of_group(session, group_id=meeting.group_id),
        tz=tz,
        previous=_previous_meeting(session, meeting),
        memberships=memberships,
        people=people,
        answers=answers,
    )


def _lines(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _listed(names: Sequence[str]) -> str:
    return "; ".join(names) if names else "none"


# --- the eleven sections -----------------------------------------------------------------------


def _section_1(f: _Facts, author_id: int, *, family: bool = False) -> str:
    meeting = f.meeting
    number = number_of(f.session, meeting=meeting)
    place = meeting.venue or ("video call" if meeting.call_link else "not recorded")
    if meeting.venue and meeting.call_link:
        place += " (and by video call)"
    chair_names = [p.display_name for p in chairs(f.session, group_id=meeting.group_id)]
    takers = [p.display_name for p in minute_takers(f.session, group_id=meeting.group_id)]
    if family:
        # No case reference, and the roles said in words.
        return _lines(
            f"Date: {format_when(meeting.starts_at, f.tz)} "
            f"({FAMILY_KIND_LABELS[MeetingKind(meeting.kind)]})",
            f"Place: {place}",
            f"Chair (ran the meeting): {_listed(chair_names)}",
            f"Minute-taker (wrote these notes): {_listed(takers or [f.name(author_id)])}",
        )
    return _lines(
        f"Case reference: {f.case.reference}",
        f"Date: {format_when(meeting.starts_at, f.tz)} "
        f"({KIND_LABELS[MeetingKind(meeting.kind)]}, meeting {number})",
        f"Venue: {place}",
        f"Chair: {_listed(chair_names)}",
        f"Minute-taker: {_listed(takers or [f.name(author_id)])}",
    )


def _section_2(f: _Facts, *, family: bool = False) -> str:
    came, apologies, missing, unknown = [], [], [], []
    for person, row in attendance_of(f.session, meeting=f.meeting):
        assert person.id is not None
        status = AttendanceStatus(row.status)
        if status in (AttendanceStatus.ATTENDED, AttendanceStatus.ATTENDING):
            came.append(f.who(person.id))
        elif status == AttendanceStatus.APOLOGIES:
            # A professional's note with their apologies is their written update: theirs to share.
            shown = row.note and (not family or f.is_family(person.id))
            apologies.append(f.who(person.id) + (f" ({row.note})" if shown else ""))
        elif status == AttendanceStatus.ABSENT:
            missing.append(f.who(person.id))
        else:
            # Invited, never answered, and the meeting not yet marked as held: don't guess.
            unknown.append(f.who(person.id))
    written = [
        f.who(pid)
        for pid, answers in f.answers.items()
        if any(not a.skipped and a.answer.strip() for a in answers.values())
    ]
    return _lines(
        f"Attended: {_listed(came)}",
        f"Apologies: {_listed(apologies)}",
        f"Written updates received from: {_listed(written)}",
        f"Invited but did not come: {_listed(missing)}",
        f"Not recorded whether they came: {_listed(unknown)}" if unknown else "",
    )


_PURPOSES = {
    MeetingKind.FIRST: "The first core group after the child protection conference: to agree how "
    "the plan will be put into action — who does what, and by when.",
    MeetingKind.REGULAR: "To review progress on the child protection plan, outcome by outcome, "
    "and agree what happens next.",
    MeetingKind.AFTER_REVIEW: "The first core group after the review conference: to bring the "
    "plan up to date with what the conference decided.",
}


_FAMILY_PURPOSES = {
    MeetingKind.FIRST: "The first meeting after the child protection conference: to agree how "
    "the plan will be put into action — who does what, and by when.",
    MeetingKind.REGULAR: "To look at how the plan is going, one part at a time, and agree what "
    "happens next.",
    MeetingKind.AFTER_REVIEW: "The first meeting after the review conference: to bring the plan "
    "up to date with what the conference decided.",
}


def _section_3(f: _Facts) -> tuple[str, str]:
    purpose = f"Purpose of this meeting: {_PURPOSES[MeetingKind(f.meeting.kind)]}"
    category = f.case.category.strip() or NOT_RECORDED
    concerns = f.case.concerns.strip() or NOT_RECORDED
    full = _lines(f"Category of the plan: {category}", f"Main worries: {concerns}", purpose)
    return full, f"What this meeting was for: {_FAMILY_PURPOSES[MeetingKind(f.meeting.kind)]}"


def _section_4(f: _Facts, *, family: bool = False) -> str:
    lines = []
    for pid in f.answers:
        # The young person's own page: their words, marked as theirs, for the professionals'
        # copy only (what worries a child may be about home).
        own = [] if family else young_voice.voice_lines(partial(f.said, pid))
        if own:
            lines.append(f"The young person ({young_voice.OWN_WORDS}):")
            lines += [f"  {line}" for line in own]
        seen, alone, says = (
            f.said(pid, "child_seen", family=family),
            f.said(pid, "child_seen_alone", family=family),
            f.said(pid, "child_says", family=family),
        )
        if not (seen or alone or says):
            continue
        since = (
            "since the child protection conference"
            if f.meeting.kind == MeetingKind.FIRST
            else "since the last meeting"
        )
        lines.append(f"From {f.who(pid)}:")
        if seen:
            lines.append(f"  Seen {since}: {seen}")
        if alone:
            lines.append(f"  Seen on their own: {alone}")
        if says:
            lines.append(f"  What the child says: {says}")
    if family:
        return "\n".join(lines) if lines else PROFESSIONALS_ONLY
    return "\n".join(lines) if lines else f"The child's voice: {NOT_RECORDED}"


_STATUS_ANSWER = {"done": "done", "in-progress": "in progress", "stuck": "stuck"}


def _action_answer(
    f: _Facts, pid: int, key: str, actions: dict[int, Action], *, family: bool
) -> str | None:
    _, action_id, part = key.split(":")
    action = actions.get(int(action_id))
    said = f.said(pid, key, family=family)
    if action is None or said is None:
        return None
    if part == "status":
        value, _, note = said.partition(" — ")
        said = _STATUS_ANSWER.get(value, value) + (f" — {note}" if note else "")
    label = "note" if part == "note" else "progress"
    return f"  Action {action.number} {label}: {said}"


_UPDATE_LABELS = (
    ("going_well", "Working well"),
    ("worries", "Worries"),
    ("written_update", "Written update"),
)


def _section_5(f: _Facts, actions: dict[int, Action], *, family: bool = False) -> str:
    order = sorted(f.answers, key=lambda pid: (not f.is_family(pid), pid))
    blocks, silent, withheld = [], [], False
    for pid in order:
        lines = [
            line
            for key in sorted(f.answers[pid], key=_action_key_order)
            if key.startswith("action:")
            and (line := _action_answer(f, pid, key, actions, family=family))
        ]
        lines += [
            f"  {label}: {said}"
            for key, label in _UPDATE_LABELS
            if (said := f.said(pid, key, family=family))
        ]
        withheld = withheld or any(
            f.said(pid, k) and not f.said(pid, k, family=True) for k in f.answers[pid]
        )
        if lines:
            blocks.append("\n".join([f"{f.who(pid)}:", *lines]))
    if family:
        # The family's own answers, and anything a professional shared; the rest is withheld.
        if withheld:
            blocks.append(PROFESSIONALS_ONLY)
        return "\n".join(blocks) if blocks else PROFESSIONALS_ONLY
    for person, _ in attendance_of(f.session, meeting=f.meeting):
        assert person.id is not None
        if person.id not in f.answers or not any(
            f.said(person.id, k) for k in f.answers[person.id]
        ):
            silent.append(f.who(person.id))
    if silent:
        blocks.append(f"No written update from: {_listed(silent)}")
    return "\n".join(blocks) if blocks else f"Updates: {NOT_RECORDED}"


def _action_key_order(key: str) -> tuple[int, bool]:
    """Action answers by action number order, the status before its note."""
    parts = key.split(":")
    return (int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0, key.endswith(":note"))


def _visible(action: Action, outcomes: dict[int, Outcome], *, family: bool) -> bool:
    if not family:
        return True
    outcome = outcomes.get(action.outcome_id) if action.outcome_id else None
    return action.shared_with_family and (outcome is None or outcome.shared_with_family)


def _action_line(f: _Facts, action: Action, *, with_outcome: bool) -> str:
    status = STATUS_LABELS[ActionStatus(action.status)].lower()
    owner = f.name(action.owner_id)
    where = ""
    if with_outcome and action.outcome_id is not None:
        outcome = f.session.get(Outcome, action.outcome_id)
        where = f" (outcome {outcome.number})" if outcome else ""
    line = (
        f"- Action {action.number}{where}: {owner} — {action.description} — "
        f"by {format_day(action.due_on)} — {status}"
    )
    if action.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS) and action.due_on < f.day:
        line += " (overdue)"
    return line


def _latest_notes(f: _Facts, actions: list[Action], *, family: bool) -> dict[int, str]:
    """Each action's latest note (for the family, the latest shared with them), with who
    wrote it and when."""
    events = {}
    for action in actions:
        assert action.id is not None
        event = latest_note(history(f.session, action_id=action.id), family=family)
        if event is not None:
            events[action.id] = event
    names = names_of(f.session, [e.actor_id for e in events.values()])
    return {
        action_id: f"    Latest: {e.note} ({names.get(e.actor_id, 'someone')}, "
        f"{format_day(e.at.astimezone(f.tz).date())})"
        for action_id, e in events.items()
    }


def _outcomes_in_view(f: _Facts, outcomes: list[Outcome]) -> list[Outcome]:
    """Active outcomes, and those achieved or ended since the previous meeting."""
    since = f.previous.starts_at if f.previous else None
    return [
        o
        for o in outcomes
        if o.status == OutcomeStatus.ACTIVE
        or o.ended_at is None
        or since is None
        or o.ended_at >= since
    ]


def _section_6(f: _Facts, outcomes: list[Outcome], actions: list[Action]) -> tuple[str, str]:
    by_id = {o.id: o for o in outcomes if o.id is not None}

    def render(family: bool) -> str:
        notes = _latest_notes(f, actions, family=family)
        parts = []
        for outcome in _outcomes_in_view(f, outcomes):
            if family and not outcome.shared_with_family:
                continue
            under = [
                a
                for a in actions
                if a.outcome_id == outcome.id
                and a.status != ActionStatus.CANCELLED
                and _visible(a, by_id, family=family)
            ]
            done, total = outcome_progress(under)
            status = "" if outcome.status == OutcomeStatus.ACTIVE else f" ({outcome.status})"
            lines = [f"Outcome {outcome.number}: {outcome.title}{status}"]
            lines.append(
                f"  Progress: {done} of {total} actions done" if total else "  No actions yet"
            )
            for action in under:
                lines.append("  " + _action_line(f, action, with_outcome=False))
                if action.id in notes:
                    lines.append(notes[action.id])
            parts.append("\n".join(lines))
        return "\n".join(parts) if parts else "No outcomes have been added to the plan yet."

    return render(False), render(True)


def _section_7(f: _Facts, *, family: bool = False) -> str:
    def gathered(key: str) -> list[str]:
        return [
            f"- {said} ({f.name(pid)})"
            for pid in f.answers
            if (said := f.said(pid, key, family=family))
        ]

    decisions = [f"- {line.strip()}" for line in f.meeting.decisions.splitlines() if line.strip()]
    empty = "- The key worker will talk this through with you." if family else f"- {NOT_RECORDED}"
    return _lines(
        "What is working well:",
        "\n".join(gathered("going_well")) or empty,
        "What we are worried about:",
        "\n".join(gathered("worries")) or empty,
        "What needs to happen:",
        "\n".join(decisions) or "- See the actions in section 8.",
    )


def _section_8(f: _Facts, outcomes: list[Outcome], actions: list[Action]) -> tuple[str, str]:
    by_id = {o.id: o for o in outcomes if o.id is not None}
    start = f.meeting.starts_at
    since = f.previous.starts_at if f.previous else None
    closed = (ActionStatus.DONE, ActionStatus.DECLINED, ActionStatus.CANCELLED)

    def render(family: bool) -> str:
        shown = [a for a in actions if _visible(a, by_id, family=family)]
        before = [a for a in shown if a.created_at < start]
        finished = [
            a for a in before if a.status in closed and (since is None or a.updated_at >= since)
        ]
        open_ = [a for a in before if a.status not in closed]
        new = [a for a in shown if a.created_at >= start and a.status != ActionStatus.CANCELLED]

        def block(title: str, rows: list[Action], empty: str) -> str:
            lines = [_action_line(f, a, with_outcome=True) for a in rows]
            return "\n".join([title, *(lines or [f"- {empty}"])])

        return _lines(
            block(
                "Previous actions and their result:",
                finished,
                "none finished since the last meeting",
            ),
            block("Still to do:", open_, "none"),
            block("New actions agreed:", new, "none yet"),
        )

    return render(False), render(True)


def _section_9(f: _Facts, *, family: bool = False) -> str:
    """The contingency plan and new concerns: from the updates' "must know" answers and from
    anything a professional wrote that reads like a new concern (see concerns.py).

    The family's copy has the contingency plan and what the family themselves said; the
    concerns professionals raised stay with the professionals.
    """
    contingency = [line.strip() for line in f.meeting.contingency.splitlines() if line.strip()]
    plan = "Contingency plan: " + ("; ".join(contingency) if contingency else NOT_RECORDED)
    must_know = {
        answer.id: pid
        for pid, answers in f.answers.items()
        if (answer := answers.get("must_know")) is not None and answer.id is not None
    }
    if family:
        said = [
            f"- {text} ({f.name(pid)})"
            for pid in must_know.values()
            if (text := f.said(pid, "must_know", family=True))
        ]
        return _lines(plan, *(["What you told the group:", *said] if said else []))
    found = concerns.listed(f.session, meeting=f.meeting, tz=f.tz, must_know=frozenset(must_know))
    lines = [
        f"- {text} ({f.name(pid)}){found.marks.get(answer_id, '')}"
        for answer_id, pid in must_know.items()
        if (text := f.said(pid, "must_know"))
    ]
    lines += [f"- {line}" for line in found.concerns]
    if not lines:
        lines = ["- None raised in the updates."] if not found.not_new else ["- None confirmed."]
    also = [f"- {line}" for line in found.not_new]
    return _lines(
        plan,
        "New concerns:",
        "\n".join(lines),
        *(["Also written, though its author says it is not a new concern:", *also] if also else []),
    )


def disagreement_line(
    session: Session, disagreement: Disagreement, *, group_id: int, tz: ZoneInfo
) -> str:
    """A disagreement as section 10 records it: who, when, what, and to whom it went."""
    person = session.get(Person, disagreement.raised_by)
    name = person.display_name if person else "A former member"
    membership = session.exec(
        select(Membership).where(
            Membership.group_id == group_id, Membership.person_id == disagreement.raised_by
        )
    ).first()
    role = f" ({Role(membership.role).label})" if membership else ""
    when = format_day(disagreement.raised_at.astimezone(tz).date())
    escalated = disagreement.escalated_to or "Not shared with anyone outside the group yet."
    return f'- {name}{role}, {when}: "{disagreement.detail}" {escalated}'


def disagreements_for(session: Session, *, meeting: Meeting) -> list[Disagreement]:
    """The disagreements the minutes of `meeting` record.

    Those raised about it, plus those raised about no meeting between the previous meeting and
    this one (before any meeting, or after the previous minutes were published).
    """
    previous = _previous_meeting(session, meeting)
    unattached = (col(Disagreement.meeting_id).is_(None)) & (
        col(Disagreement.raised_at) < meeting.starts_at
    )
    if previous is not None:
        unattached = unattached & (col(Disagreement.raised_at) >= previous.starts_at)
    return list(
        session.exec(
            select(Disagreement)
            .where(
                Disagreement.group_id == meeting.group_id,
                (col(Disagreement.meeting_id) == meeting.id) | unattached,
            )
            .order_by(col(Disagreement.raised_at), col(Disagreement.id))
        ).all()
    )


def _section_10(f: _Facts) -> str:
    rows = disagreements_for(f.session, meeting=f.meeting)
    lines = [disagreement_line(f.session, d, group_id=f.meeting.group_id, tz=f.tz) for d in rows]
    return "\n".join(lines) or NO_DISAGREEMENT


def _section_11(
    f: _Facts, *, calendar: WorkingCalendar, policy: Policy, family: bool = False
) -> str:
    deadline = next_meeting_deadline(last_meeting=f.day, calendar=calendar, policy=policy)
    upcoming = f.session.exec(
        select(Meeting)
        .where(
            Meeting.group_id == f.meeting.group_id,
            Meeting.status == MeetingStatus.SCHEDULED,
            col(Meeting.starts_at) > f.meeting.starts_at,
        )
        .order_by(col(Meeting.starts_at))
    ).first()
    if upcoming is None and family:
        next_line = (
            f"Next meeting: not booked yet. It should be by {format_day(deadline.due)}; your key "
            "worker will let you know the date."
        )
    elif upcoming is None:
        next_line = (
            f"Next meeting: not booked yet. It must be held by {format_day(deadline.due)} "
            f"({deadline.rule})."
        )
    elif family:
        place = upcoming.venue or ("video call" if upcoming.call_link else "place to be confirmed")
        next_line = f"Next meeting: {format_when(upcoming.starts_at, f.tz)} at {place}."
    else:
        place = upcoming.venue or ("video call" if upcoming.call_link else "venue to be confirmed")
        on_time = upcoming.starts_at.astimezone(f.tz).date() <= deadline.due
        timing = "in time for" if on_time else "later than"
        next_line = (
            f"Next meeting: {format_when(upcoming.starts_at, f.tz)} at {place} — {timing} the "
            f"deadline of {format_day(deadline.due)} ({deadline.rule})."
        )
    members = [f.who(p.id) for _, p in members_of(f.session, group_id=f.meeting.group_id) if p.id]
    return _lines(next_line, f"Copies of these minutes go to: {_listed(members)}")


FAMILY_WITHHELD = (10,)
PROFESSIONALS_ONLY = (
    "Shared with professionals only for now. The key worker will talk this part through with you."
)


def assemble(
    session: Session,
    *,
    meeting: Meeting,
    author_id: int,
    tz: ZoneInfo,
    calendar: WorkingCalendar,
    policy: Policy,
) -> MinutesBody:
    """The draft minutes of `meeting`, assembled from the database, section by section."""
    f = _facts(session, meeting=meeting, tz=tz)
    outcomes = outcomes_of(session, group_id=meeting.group_id)
    actions = actions_of(session, group_id=meeting.group_id)
    s3, s3_family = _section_3(f)
    s6, s6_family = _section_6(f, outcomes, actions)
    s8, s8_family = _section_8(f, outcomes, actions)
    by_id = {a.id: a for a in actions if a.id is not None}
    sections = {
        1: _section_1(f, author_id),
        2: _section_2(f),
        3: s3,
        4: _section_4(f),
        5: _section_5(f, by_id),
        6: s6,
        7: _section_7(f),
        8: s8,
        9: _section_9(f),
        10: _section_10(f),
        11: _section_11(f, calendar=calendar, policy=policy),
    }
    # Professionals-only unless marked: the family's copy has the family's own answers, the
    # contingency plan, and only what a professional shared with them (or the chair words for
    # them with `amend <n> family "…"`).
    family = {
        1: _section_1(f, author_id, family=True),
        2: _section_2(f, family=True),
        3: s3_family,
        4: _section_4(f, family=True),
        5: _section_5(f, by_id, family=True),
        6: s6_family,
        7: _section_7(f, family=True),
        8: s8_family,
        9: _section_9(f, family=True),
        11: _section_11(f, calendar=calendar, policy=policy, family=True),
    }
    family |= {n: PROFESSIONALS_ONLY for n in FAMILY_WITHHELD}
    return MinutesBody(sections, family)


def with_disagreement(body: MinutesBody, line: str) -> MinutesBody:
    """The body with a disagreement added to section 10 (replacing "none recorded")."""
    current = body.text(10).strip()
    text = line if current in ("", NO_DISAGREEMENT) else f"{current}\n{line}"
    return body.amended(10, text)


# --- minutes rows, versions and reviews ---------------------------------------------------------


def minutes_of(session: Session, *, meeting: Meeting) -> Minutes | None:
    """The minutes of a meeting, if drafted."""
    return session.exec(select(Minutes).where(Minutes.meeting_id == meeting.id)).first()


def latest_minutes(session: Session, *, group_id: int) -> Minutes | None:
    """The minutes of the group's most recent minuted meeting."""
    return session.exec(
        select(Minutes)
        .join(Meeting, col(Meeting.id) == Minutes.meeting_id)
        .where(Meeting.group_id == group_id)
        .order_by(col(Meeting.starts_at).desc())
    ).first()


def minutes_due(session: Session, *, group_id: int) -> list[Minutes]:
    """The group's minutes not yet recorded on the case system or not yet sent to members."""
    return list(
        session.exec(
            select(Minutes)
            .join(Meeting, col(Meeting.id) == Minutes.meeting_id)
            .where(
                Meeting.group_id == group_id,
                col(Minutes.recorded_at).is_(None) | col(Minutes.circulated_at).is_(None),
            )
            .order_by(col(Minutes.record_due), col(Meeting.starts_at))
        ).all()
    )


def create_minutes(
    session: Session,
    *,
    meeting: Meeting,
    body: MinutesBody,
    author_id: int,
    now: datetime,
    tz: ZoneInfo,
    calendar: WorkingCalendar,
    policy: Policy,
) -> tuple[Minutes, MinutesVersion]:
    """The Minutes row (with its record and circulation deadlines) and version 1."""
    assert meeting.id is not None
    day = meeting.starts_at.astimezone(tz).date()
    minutes = Minutes(
        meeting_id=meeting.id,
        record_due=record_deadline(meeting=day, calendar=calendar, policy=policy).due,
        circulate_due=circulate_deadline(meeting=day, calendar=calendar, policy=policy).due,
        created_at=now,
    )
    session.add(minutes)
    session.flush()
    version = _add_version(session, minutes, body, author_id, "First draft", now)
    return minutes, version


def _add_version(
    session: Session,
    minutes: Minutes,
    body: MinutesBody,
    author_id: int,
    note: str,
    now: datetime,
) -> MinutesVersion:
    assert minutes.id is not None
    current = versions_of(session, minutes=minutes)
    version = MinutesVersion(
        minutes_id=minutes.id,
        number=(current[-1].number + 1) if current else 1,
        body=body.dumps(),
        change_note=note,
        created_by=author_id,
        created_at=now,
    )
    session.add(version)
    minutes.status = MinutesStatus.DRAFT
    session.add(minutes)
    session.flush()
    return version


def add_version(
    session: Session,
    *,
    minutes: Minutes,
    body: MinutesBody,
    author_id: int,
    note: str,
    now: datetime,
) -> MinutesVersion:
    """A new version (every earlier one is kept); approvals start again."""
    if minutes.status == MinutesStatus.PUBLISHED:
        raise Conflict(
            "These minutes are already published, so they can't be changed.",
            hint="Record any correction in the minutes of the next meeting.",
        )
    return _add_version(session, minutes, body, author_id, note, now)


def versions_of(session: Session, *, minutes: Minutes) -> list[MinutesVersion]:
    """Every version, oldest first."""
    return list(
        session.exec(
            select(MinutesVersion)
            .where(MinutesVersion.minutes_id == minutes.id)
            .order_by(col(MinutesVersion.number))
        ).all()
    )


def latest_version(session: Session, *, minutes: Minutes) -> MinutesVersion:
    """The current version."""
    return versions_of(session, minutes=minutes)[-1]


def reviews_of(session: Session, *, version: MinutesVersion) -> list[MinutesReview]:
    """The approvals and change requests on one version, oldest first."""
    return list(
        session.exec(
            select(MinutesReview)
            .where(MinutesReview.version_id == version.id)
            .order_by(col(MinutesReview.at), col(MinutesReview.id))
        ).all()
    )


@dataclass(frozen=True)
class Approval:
    """Where one version stands: who approved it and which change requests are open."""

    version: MinutesVersion
    approvals: list[MinutesReview]
    changes: list[MinutesReview]

    @property
    def ready(self) -> bool:
        """Approved by someone other than its author, with no change request open on it."""
        return bool(self.approvals) and not self.changes


def approval_of(session: Session, *, version: MinutesVersion) -> Approval:
    """The approvals (not the author's own) and open change requests on a version."""
    reviews = reviews_of(session, version=version)
    return Approval(
        version=version,
        approvals=[
            r for r in reviews if r.verdict == Verdict.APPROVE and r.person_id != version.created_by
        ],
        changes=[r for r in reviews if r.verdict == Verdict.CHANGE],
    )


def review(
    session: Session,
    *,
    minutes: Minutes,
    version: MinutesVersion,
    person_id: int,
    verdict: Verdict,
    comment: str,
    now: datetime,
) -> MinutesReview:
    """Record a member's approval of, or change request on, a version (their latest word counts)."""
    row = session.exec(
        select(MinutesReview).where(
            MinutesReview.version_id == version.id, MinutesReview.person_id == person_id
        )
    ).first()
    if row is None:
        assert version.id is not None
        row = MinutesReview(version_id=version.id, person_id=person_id, verdict=verdict)
    row.verdict, row.comment, row.at = verdict, comment, now
    session.add(row)
    session.flush()
    ready = approval_of(session, version=version).ready
    minutes.status = MinutesStatus.APPROVED if ready else MinutesStatus.DRAFT
    session.add(minutes)
    session.flush()
    return row


def publish(
    session: Session,
    *,
    minutes: Minutes,
    actor_id: int,
    override_reason: str | None,
    now: datetime,
) -> None:
    """Mark the minutes published; the copies are queued and logged by bot.core.distribution."""
    minutes.status = MinutesStatus.PUBLISHED
    minutes.published_at = now
    minutes.published_by = actor_id
    minutes.override_reason = override_reason
    session.add(minutes)
    session.flush()


def mark_recorded(session: Session, *, minutes: Minutes, now: datetime) -> None:
    """Note that the minutes are on the case system."""
    minutes.recorded_at = now
    session.add(minutes)
    session.flush()


def record_disagreement(
    session: Session,
    *,
    group_id: int,
    meeting_id: int | None,
    raised_by: int,
    detail: str,
    escalated_to: str,
    now: datetime,
    told_manager: bool = False,
    told_chair: bool = False,
) -> Disagreement:
    """Record a disagreement and to whom it was escalated (now: a team manager, the chair)."""
    row = Disagreement(
        group_id=group_id,
        meeting_id=meeting_id,
        raised_by=raised_by,
        detail=detail,
        escalated_to=escalated_to,
        raised_at=now,
        manager_told_at=now if told_manager else None,
        chair_told_at=now if told_chair else None,
    )
    session.add(row)
    session.flush()
    return row


def escalation_note(
    *, managers: Sequence[Person], conference_chair: Person | None, when: datetime, tz: ZoneInfo
) -> str:
    """How a disagreement was escalated, in words for the minutes."""
    told = []
    if managers:
        names = ", ".join(p.display_name for p in managers)
        told.append(f"the team manager ({names})")
    if conference_chair is not None:
        told.append(f"the conference chair ({conference_chair.display_name})")
    if not told:
        return "Not shared yet: no team manager or conference chair is known for this group."
    return f"Shared with {' and '.join(told)} on {format_when(when, tz)}."


# --- deadlines ----------------------------------------------------------------------------------


def deadlines_line(minutes: Minutes, *, policy: Policy) -> str:
    """The two deadlines in one line, as shown under a draft."""
    return (
        f"Record on the case system by {format_day(minutes.record_due)} "
        f"({policy.record_working_days} working days); copies to all members by "
        f"{format_day(minutes.circulate_due)} ({policy.circulate_working_days} working days)"
    )


def _deadline_status(
    what: str, due: date, done_at: datetime | None, today: date, tz: ZoneInfo
) -> str:
    if done_at is not None:
        day = done_at.astimezone(tz).date()
        verdict = "on time" if day <= due else "LATE"
        return f"{what}: done {format_day(day)} — {verdict} (due by {format_day(due)})"
    if today > due:
        return f"{what}: not done yet — OVERDUE (due by {format_day(due)})"
    when = "today" if today == due else f"by {format_day(due)}"
    return f"{what}: not done yet — due {when}"


def deadline_statuses(minutes: Minutes, *, today: date, tz: ZoneInfo) -> list[str]:
    """Whether each deadline was met: recorded on the case system, copies sent to members."""
    return [
        _deadline_status(
            "Recorded on the case system", minutes.record_due, minutes.recorded_at, today, tz
        ),
        _deadline_status(
            "Copies sent to all members", minutes.circulate_due, minutes.circulated_at, today, tz
        ),
    ]


# --- messages -----------------------------------------------------------------------------------


def recorded_button(minutes_id: int) -> Button:
    """The chair's one click once the minutes are on the case system."""
    return Button("Recorded on the case system", RECORDED, str(minutes_id), style="primary")


def section_title(number: int, *, family: bool) -> str:
    """A section's title, as the professionals' or the family's copy names it."""
    if family and number == 3:
        return "The purpose of this meeting"
    return SECTIONS[number]


def family_shares(body: MinutesBody, number: int) -> bool:
    """Whether the family's copy of a section says something (it is not held back for now)."""
    return body.text(number, family=True).strip() != PROFESSIONALS_ONLY


def section_blocks(body: MinutesBody, *, family: bool) -> list[Block]:
    """The minutes as neutral blocks: a heading and the text of each section."""
    blocks: list[Block] = []
    for number in SECTIONS:
        title = section_title(number, family=family)
        blocks += [Heading(f"{number}. {title}"), Text(body.text(number, family=family))]
    return blocks


@dataclass(frozen=True)
class MinutesFacts:
    """What names a set of minutes in messages: the case reference and the meeting."""

    reference: str
    meeting_number: int
    meeting_when: str


def facts_of(session: Session, *, minutes: Minutes, tz: ZoneInfo) -> MinutesFacts:
    """The reference, meeting number and meeting time of a set of minutes."""
    meeting = session.get(Meeting, minutes.meeting_id)
    assert meeting is not None
    return MinutesFacts(
        reference=case_of_group(session, group_id=meeting.group_id).reference,
        meeting_number=number_of(session, meeting=meeting),
        meeting_when=format_when(meeting.starts_at, tz),
    )


def version_message(
    version: MinutesVersion,
    *,
    facts: MinutesFacts,
    minutes: Minutes,
    policy: Policy,
    headline: str,
    glossary: Glossary | None = None,
) -> Message:
    """A version for checking: every section, the deadlines, plain English, and the buttons."""
    body = body_of(version)
    assert version.id is not None
    title = (
        f"{headline} — {facts.reference}, meeting {facts.meeting_number} (version {version.number})"
    )
    blocks: list[Block] = [
        Heading(title),
        Context(f"The core group on {facts.meeting_when}. {version.change_note}."),
        *section_blocks(body, family=False),
        Context(deadlines_line(minutes, policy=policy)),
        Context(jargon_note(body.whole_text(), glossary)),
        Buttons(
            (
                Button("Approve", APPROVE, str(version.id), style="primary"),
                Button("Request a change", CHANGE, str(version.id), ask=CHANGE_ASK),
            )
        ),
    ]
    return Message(
        text=f"{facts.reference}: minutes version {version.number} ready to check",
        blocks=tuple(blocks),
    )


def notice_message(
    version: MinutesVersion, *, facts: MinutesFacts, minutes: Minutes, policy: Policy
) -> Message:
    """What the group's space (which the family can see) is told about a version to check."""
    return Message(
        text=f"{facts.reference}: minutes version {version.number} sent to the professionals",
        blocks=(
            Text(
                f"Version {version.number} of the minutes of the core group on "
                f"{facts.meeting_when} has gone to the professionals in the group to check. "
                "Everyone gets their copy once the minutes are published."
            ),
            Context(deadlines_line(minutes, policy=policy)),
        ),
    )


def copy_message(
    version: MinutesVersion,
    *,
    facts: MinutesFacts,
    minutes: Minutes,
    family: bool,
    tz: ZoneInfo,
    approved_by: Sequence[str],
    published_by: str,
) -> Message:
    """A member's copy of the published minutes (the family view for family members)."""
    assert minutes.published_at is not None
    published = format_when(minutes.published_at, tz)
    note = f"Version {version.number}, published {published} by {published_by}."
    if approved_by:
        note += f" Approved by {', '.join(approved_by)}."
    if minutes.override_reason:
        note += f" Published without approval: {minutes.override_reason}"
    if family:
        # Who approved it, and why it went out without, are the professionals' business.
        note = f"Version {version.number}, sent out {published} by {published_by}."
    heading = (
        f"What was agreed at your family's meeting on {facts.meeting_when}"
        if family
        else f"Minutes — {facts.reference}, core group on {facts.meeting_when}"
    )
    blocks: list[Block] = [
        Heading(heading),
        *section_blocks(body_of(version), family=family),
        Context(note),
    ]
    if family:
        blocks.append(
            Context(
                "This is your copy of the minutes (the notes of the meeting). Some information "
                "for the professionals only is left out. If anything is unclear or wrong, tell "
                "your key worker."
            )
        )
        return Message(text="What was agreed at your family's meeting", blocks=tuple(blocks))
    return Message(text=f"{facts.reference}: the minutes of the core group", blocks=tuple(blocks))


def approval_pairs(session: Session, *, approval: Approval, tz: ZoneInfo) -> list[tuple[str, str]]:
    """Who approved a version, and the changes asked for on it, as label/value pairs."""
    ids = [r.person_id for r in approval.approvals + approval.changes]
    names = names_of(session, ids)
    approved = ", ".join(names.get(r.person_id, "a former member") for r in approval.approvals)
    pairs = [("Approved by", approved or "nobody yet")]
    for r in approval.changes:
        when = format_when(r.at, tz)
        pairs.append(
            (
                f"Change asked by {names.get(r.person_id, 'a former member')}",
                f"{r.comment} ({when})",
            )
        )
    return pairs


def status_words(minutes: Minutes, approval: Approval) -> str:
    """The state of the minutes in a few words."""
    if minutes.status == MinutesStatus.PUBLISHED:
        return "published"
    if approval.ready:
        return "approved — ready to publish"
    if approval.changes:
        return "draft — changes asked for"
    return "draft — waiting for approval"


def overview_message(
    session: Session,
    *,
    minutes: Minutes,
    facts: MinutesFacts,
    today: date,
    tz: ZoneInfo,
    addresses: bool = False,
) -> Message:
    """The current version for a professional: status, approvals, sections, deadlines, copies.

    `addresses` (for those who run the group) shows how each email copy was addressed, masked.
    """
    version = latest_version(session, minutes=minutes)
    approval = approval_of(session, version=version)
    author = names_of(session, [version.created_by]).get(version.created_by, "a former member")
    pairs = [
        ("Status", status_words(minutes, approval)),
        ("Version", f"{version.number}, by {author}, {format_when(version.created_at, tz)}"),
        *approval_pairs(session, approval=approval, tz=tz),
    ]
    if minutes.override_reason:
        by = names_of(session, [minutes.published_by or 0]).get(
            minutes.published_by or 0, "the chair"
        )
        pairs.append(("Published without approval", f"{minutes.override_reason} ({by})"))
    blocks: list[Block] = [
        Heading(
            f"Minutes — {facts.reference}, meeting {facts.meeting_number} ({facts.meeting_when})"
        ),
        Fields(tuple(pairs)),
        *section_blocks(body_of(version), family=False),
        Context("\n".join(deadline_statuses(minutes, today=today, tz=tz))),
    ]
    log = distribution.log_of(session, minutes=minutes)
    if log:
        counts = distribution.tally(log)
        blocks += [
            Heading(f"Copies: {counts.delivered} of {counts.total} members have theirs"),
            Bullets(tuple(distribution.log_lines(log, tz, addresses=addresses))),
        ]
    return Message(
        text=f"{facts.reference}: minutes of meeting {facts.meeting_number}, v{version.number}",
        blocks=tuple(blocks),
    )


def history_message(
    session: Session, *, minutes: Minutes, facts: MinutesFacts, tz: ZoneInfo
) -> Message:
    """Every version: who wrote it, when, what changed, and who approved or asked for changes."""
    blocks: list[Block] = [
        Heading(f"Versions of the minutes — {facts.reference}, meeting {facts.meeting_number}")
    ]
    versions = versions_of(session, minutes=minutes)
    names = names_of(session, [v.created_by for v in versions])
    for version in versions:
        who = names.get(version.created_by, "a former member")
        blocks.append(
            Text(
                f"Version {version.number} — {who}, {format_when(version.created_at, tz)}: "
                f"{version.change_note}"
            )
        )
        approval = approval_of(session, version=version)
        blocks.append(Fields(tuple(approval_pairs(session, approval=approval, tz=tz))))
    blocks.append(
        Context("Every version is kept. `/coregroup minutes` shows the current one in full.")
    )
    return Message(
        text=f"{facts.reference}: versions of the minutes of meeting {facts.meeting_number}",
        blocks=tuple(blocks),
    )


def gaps_in(body: MinutesBody) -> list[int]:
    """The sections with something still to be added."""
    return [n for n in SECTIONS if NOT_RECORDED in body.text(n)]
