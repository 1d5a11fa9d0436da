"""What each reminder says."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core import disagreements
from bot.core.calendar import Nation, format_day
from bot.core.concerns import chair_message
from bot.core.deadline_plan import booked_too_late
from bot.core.meetings import format_when, place_pairs
from bot.core.plan import action_message, names_of
from bot.core.policy import (
    Policy,
)
from bot.core.reminders.asking import UpdateFacts
from bot.core.reminders.digest import Watched, digest_part
from bot.core.reminders.message import (
    Part,
)
from bot.core.reminders.plan import Planner
from bot.core.reminders.settings import (
    SCHEDULE_ASK,
    Kind,
    Occurrence,
)
from bot.core.reminders.state import GroupState
from bot.core.updates import BriefFacts, brief_message, nudge, opening
from bot.messages import (
    Block,
    Button,
    Buttons,
    Context,
    Fields,
    Heading,
    Text,
)
from storage.enums import (
    ActionStatus,
    Role,
    UpdateState,
)
from storage.models import (
    Action,
    ActionEvent,
    Person,
    Reminder,
)


@dataclass(frozen=True)
class ActionFacts:
    """What the action cards of a chunk of reminders need, loaded for the chunk at once."""

    events: dict[int, list[ActionEvent]]
    names: dict[int, str]


def load_action_facts(
    session: Session, rows: Sequence[Reminder], states: dict[int, GroupState]
) -> ActionFacts:
    """The histories of the actions `rows` remind about, and the names in them: two queries."""
    ids = {r.subject_id for r in rows if r.kind in _ACTION_KINDS and r.subject_id is not None}
    events: dict[int, list[ActionEvent]] = {i: [] for i in ids}
    if ids:
        for event in session.exec(
            select(ActionEvent)
            .where(col(ActionEvent.action_id).in_(ids))
            .order_by(col(ActionEvent.id))
        ).all():
            events[event.action_id].append(event)
    names = {
        p.id: p.display_name for s in states.values() for _, p in s.members if p.id is not None
    }
    wanted = {e.actor_id for found in events.values() for e in found} - set(names)
    wanted |= {a.owner_id for s in states.values() for a in s.actions if a.id in ids} - set(names)
    names.update(names_of(session, wanted))
    return ActionFacts(events, names)


@dataclass(frozen=True)
class _About:
    """Everything a reminder's wording may need."""

    session: Session
    row: Reminder
    occurrence: Occurrence
    state: GroupState
    person: Person | None
    planner: Planner
    now: datetime
    updates: UpdateFacts
    briefs: dict[int, BriefFacts]
    facts: ActionFacts | None = None

    @property
    def ref(self) -> str:
        return self.state.case.reference

    @property
    def to_family(self) -> bool:
        """Whether the reminder goes to a parent, carer or young person (family words)."""
        if self.person is None or self.person.id is None:
            return False
        member = self.state.member(self.person.id)
        return Role(member[0].role).is_family if member else bool(self.person.is_family)

    @property
    def tz(self) -> ZoneInfo:
        return self.planner.locale.tz

    @property
    def policy(self) -> Policy:
        return self.planner.policy(self.state.case)

    def card(self) -> dict[str, Any]:
        """The action card's history and names, when loaded for the chunk."""
        facts, action = self.facts, self.row.subject_id
        if facts is None or action not in facts.events:
            return {}
        return {"events": facts.events[action], "names": facts.names}

    def day(self, name: str) -> str:
        """A date from the occurrence's details, written the chat way."""
        return format_day(date.fromisoformat(self.occurrence.detail[name]))

    def schedule_button(self, label: str) -> Buttons:
        """The button that books a meeting for this group."""
        return Buttons((Button(label, "meeting.schedule", str(self.state.id), ask=SCHEDULE_ASK),))


def _span(days: int) -> str:
    if days % 7 == 0:
        weeks = days // 7
        return "1 week" if weeks == 1 else f"{weeks} weeks"
    return f"{days} days"


def _meeting_ahead(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None:
        return None
    when = format_when(m.starts_at, a.tz)
    if a.to_family:
        blocks = (
            Heading("Your family's meeting is coming up"),
            Text(f"The group supporting your family meets on {when}."),
            Fields((("When", f"{when} (about {m.duration_minutes} minutes)"), *place_pairs(m))),
            Context(
                "Can't make it? Let your key worker know, or say so when I ask how things are."
            ),
        )
        return Part(f"Your family's meeting is on {when}", blocks, a.ref)
    days = int(a.occurrence.detail.get("days", 1))
    soon = "on the next working day" if days == 1 else f"in {days} working days"
    blocks = (
        Heading(f"Core group meeting {soon} · {a.ref}"),
        Text(f"The core group for {a.ref} meets on {when}."),
        Fields((("When", f"{when} (about {m.duration_minutes} minutes)"), *place_pairs(m))),
        Context("Can't make it? Let the chair know, or say so in your update before the meeting."),
    )
    return Part(f"{a.ref}: core group meeting on {when}", blocks, a.ref)


def _meeting_soon(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None:
        return None
    at = f"{m.starts_at.astimezone(a.tz):%H:%M}"
    if a.to_family:
        blocks = (
            Heading("Starting soon"),
            Text(f"Your family's meeting starts at {at} ({format_when(m.starts_at, a.tz)})."),
            Fields(tuple(place_pairs(m))),
        )
        return Part(f"Your family's meeting starts at {at}", blocks, a.ref)
    blocks = (
        Heading(f"Starting soon · {a.ref}"),
        Text(
            f"The core group meeting for {a.ref} starts at {at} ({format_when(m.starts_at, a.tz)})."
        ),
        Fields(tuple(place_pairs(m))),
    )
    return Part(f"{a.ref}: core group meeting at {at}", blocks, a.ref)


def _update_open(a: _About) -> Part | None:
    """The opening question of a member's update (its row was made with the chunk's facts)."""
    m = a.state.meeting(a.row.subject_id)
    if m is None or m.id is None or a.person is None or a.person.id is None:
        return None
    found = a.updates.update(m.id, a.person.id)
    convo = a.updates.conversation(a.session, a.state, found, tz=a.tz) if found else None
    if found is None or found.id is None or convo is None:
        return None
    question, asking = opening(convo, now=a.now)
    if asking is not None:
        a.updates.asked[found.id] = asking
    if question is None:
        return None
    return Part(question.text, question.blocks, a.ref, conversation=True, expects=question.expects)


def _update_nudge(a: _About) -> Part | None:
    """A nudge to a current member whose update is not complete."""
    m = a.state.meeting(a.row.subject_id)
    if m is None or m.id is None or a.person is None or a.person.id is None:
        return None
    found = a.updates.update(m.id, a.person.id)
    if a.state.member(a.person.id) is None or (found and found.state == UpdateState.COMPLETE):
        return None
    convo = a.updates.conversation(a.session, a.state, found, tz=a.tz) if found else None
    said, asking = nudge(convo, meeting=m, person=a.person, reference=a.ref, tz=a.tz, now=a.now)
    if found is not None and found.id is not None and asking is not None:
        a.updates.asked[found.id] = asking
    return Part(said.text, said.blocks, a.ref, conversation=True, expects=said.expects)


def _brief(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None:
        return None
    brief = brief_message(
        a.session,
        meeting=m,
        tz=a.tz,
        now=a.now,
        calendar=a.planner.calendar(a.state.case),
        policy=a.policy,
        facts=a.briefs.get(m.id or 0),
    )
    return Part(brief.text, brief.blocks, a.ref)


def _open_action(a: _About) -> Action | None:
    action = a.state.action(a.row.subject_id)
    return None if action is None or ActionStatus(action.status).is_closed else action


def _action(a: _About) -> Part | None:
    action = _open_action(a)
    if action is None:
        return None
    owner = a.state.member(action.owner_id)
    family = owner is not None and Role(owner[0].role).is_family
    card = action_message(
        a.session, action=action, tz=a.tz, now=a.now, family=family, to_family=family, **a.card()
    )
    due, n = format_day(action.due_on), action.number
    kind = Kind(a.row.kind)
    if family:
        today = a.now.astimezone(a.tz).date() == action.due_on
        if kind is Kind.ACTION_SOON:
            intro = f"A reminder: you agreed to do this by {due}."
        elif kind is Kind.ACTION_DUE:
            intro = f"A reminder: you agreed to do this by {'today' if today else due}."
        else:
            intro = f"This was due on {due}. How is it going? It's fine to say if you're stuck."
            if int(a.occurrence.detail.get("n", 1)) >= a.planner.settings.escalate_after_overdue:
                intro += " Your key worker knows too, so they can help."
        summary = f"A reminder about something you agreed to do by {due}"
    elif kind is Kind.ACTION_SOON:
        days = a.occurrence.detail.get("days", 2)
        intro = f"Action {n} for {a.ref} is due on {due}, in {days} working days."
        summary = f"{a.ref}: action {n} is due on {due}"
    elif kind is Kind.ACTION_DUE:
        today = a.now.astimezone(a.tz).date() == action.due_on
        intro = f"Action {n} for {a.ref} is due {'today' if today else 'on ' + due}."
        summary = f"{a.ref}: action {n} is due {'today' if today else 'on ' + due}"
    else:
        intro = f"Action {n} for {a.ref} was due on {due} and is still open."
        if int(a.occurrence.detail.get("n", 1)) >= a.planner.settings.escalate_after_overdue:
            intro += " The chair has been told too, so the group can help."
        summary = f"{a.ref}: action {n} is overdue (due {due})"
    how = Context(
        f"Reply to this message in words to update action {n}, e.g. \u201cdone \u2014 referral "
        "sent\u201d or \u201cneed until next Friday\u201d."
        if not family
        else "Reply to this message in your own words, e.g. \u201cdone\u201d or \u201cneed "
        "until next Friday\u201d."
    )
    return Part(summary, (Text(intro), *card.blocks, how), a.ref, expects=f"action:{action.id}")


def _escalate(a: _About) -> Part | None:
    action = _open_action(a)
    if action is None:
        return None
    owner = a.state.member(action.owner_id)
    who = owner[1].display_name if owner else "its owner"
    times = int(a.occurrence.detail.get("n", 2))
    card = action_message(a.session, action=action, tz=a.tz, now=a.now, **a.card())
    intro = (
        f"Action {action.number} for {a.ref} ({who}) was due on {format_day(action.due_on)} "
        f"and is still open after {times} overdue reminders. It may be time to check in: is "
        "something in the way, or does it need a new date?"
    )
    blocks = (Heading(f"An action needs a nudge · {a.ref}"), Text(intro), *card.blocks)
    return Part(f"{a.ref}: action {action.number} is still overdue", blocks, a.ref)


def _conference(a: _About) -> tuple[str, str]:
    if a.state.case.nation == Nation.SCOTLAND.value:
        return "CPPM", "review CPPM"
    return "ICPC", "review conference"


def _unbooked(a: _About) -> str:
    return "booked too late" if "booked" in a.occurrence.detail else "not booked yet"


def _first_unbooked(a: _About) -> Part | None:
    deadline, icpc = a.day("deadline"), format_day(a.state.case.icpc_date)
    days = a.policy.first_meeting_working_days
    blocks = (
        Heading(f"First meeting {_unbooked(a)} · {a.ref}"),
        Text(
            f"The first core group for {a.ref} must meet by {deadline} — within {days} working "
            f"days of the {_conference(a)[0]} on {icpc} "
            f"({a.policy.source_of('first_meeting_working_days')}). "
            + booked_too_late(a.occurrence.detail, unbooked="None is booked yet.")
        ),
        a.schedule_button("Schedule the first meeting"),
    )
    return Part(f"{a.ref}: first core group {_unbooked(a)} (due by {deadline})", blocks, a.ref)


def _next_unbooked(a: _About) -> Part | None:
    deadline, span = a.day("deadline"), a.policy.meeting_interval
    blocks = (
        Heading(f"Next meeting {_unbooked(a)} · {a.ref}"),
        Text(
            f"The next core group for {a.ref} must meet by {deadline} — within {span} of the "
            f"meeting on {a.day('last')} ({a.policy.meeting_interval_source}). "
            + booked_too_late(a.occurrence.detail, unbooked="None is booked yet.")
        ),
        a.schedule_button("Schedule the next meeting"),
    )
    return Part(f"{a.ref}: next core group {_unbooked(a)} (due by {deadline})", blocks, a.ref)


def _review_unbooked(a: _About) -> Part | None:
    deadline, days = a.day("deadline"), a.policy.after_review_working_days
    blocks = (
        Heading(f"Meeting after the review {_unbooked(a)} · {a.ref}"),
        Text(
            f"A core group must meet within {days} working days of the {_conference(a)[1]} on "
            f"{a.day('review')}, so by {deadline}. "
            + booked_too_late(a.occurrence.detail, unbooked="None is booked yet.")
        ),
        a.schedule_button("Schedule the meeting"),
    )
    return Part(f"{a.ref}: core group after the review {_unbooked(a)}", blocks, a.ref)


def _minutes_due(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None:
        return None
    held, deadline = format_day(m.starts_at.astimezone(a.tz).date()), a.day("deadline")
    if a.row.kind == Kind.MINUTES_RECORD:
        blocks: list[Block] = [
            Heading(f"Minutes due on the case system · {a.ref}"),
            Text(
                f"The record of the core group meeting on {held} must be on the case system by "
                f"{deadline} (within {a.policy.record_working_days} working days)."
            ),
        ]
        done = f"Once it's there, type `/coregroup {a.ref} recorded`."
        summary = f"{a.ref}: minutes to record on the case system by {deadline}"
    else:
        blocks = [
            Heading(f"Minutes due to every member · {a.ref}"),
            Text(
                f"The minutes of the core group meeting on {held} must be sent to every member by "
                f"{deadline} (within {a.policy.circulate_working_days} working days)."
            ),
        ]
        done = f"Publishing them sends everyone a copy: `/coregroup {a.ref} publish`."
        if a.occurrence.detail.get("published"):
            done = (
                f"They're published, but not every member has their copy yet: `/coregroup {a.ref} "
                "minutes` shows who. Log a copy given another way with `/coregroup minutes sent "
                '@name "by post"`.'
            )
        summary = f"{a.ref}: minutes to send to members by {deadline}"
    if not a.occurrence.detail.get("drafted", True):
        blocks.append(Text(f"They haven't been drafted yet: `/coregroup {a.ref} draft` starts."))
    blocks.append(Context(done))
    return Part(summary, tuple(blocks), a.ref)


def _review_update(a: _About) -> Part | None:
    member = a.state.member(a.row.person_id or 0)
    if member is None:
        return None
    ms, person = member
    agency = ms.agency or person.agency or "your agency"
    review, aim = a.day("review"), a.day("aim")
    verb = "is on" if a.occurrence.detail.get("booked") else "is due by"
    blocks: list[Block] = [
        Heading(f"Written update for the review · {a.ref}"),
        Text(
            f"The {_conference(a)[1]} for {a.ref} {verb} {review}. Please prepare a written "
            f"update from {agency} for the last core group before it (aim for about {aim}), so "
            "everyone can read it beforehand."
        ),
    ]
    if ms.is_chair:
        blocks.append(Context("Every agency in the group has been asked for one."))
    return Part(f"{a.ref}: written update needed for the review ({review})", tuple(blocks), a.ref)


def _concern(a: _About) -> Part | None:
    """The chair hears of a possible new concern its author has not answered about in time."""
    concern = a.state.concern(a.row.subject_id)
    if concern is None:
        return None
    message = chair_message(a.session, concern=concern, reference=a.ref, tz=a.tz, confirmed=False)
    return Part(message.text, message.blocks, a.ref)


def _drift_meeting(a: _About) -> Part | None:
    since, span = a.day("since"), a.policy.meeting_interval
    if a.occurrence.detail["since"] == a.state.case.icpc_date.isoformat():
        last = f"hasn't met since the {_conference(a)[0]} on {since}"
    else:
        last = f"last met on {since}"
    blocks = (
        Heading(f"No meeting for over {span} · {a.ref}"),
        Text(
            f"The core group for {a.ref} {last} — over {span} ago. Core groups should meet at "
            f"least every {span} ({a.policy.meeting_interval_source}), so the plan doesn't drift."
        ),
        a.schedule_button("Schedule a meeting"),
    )
    return Part(f"{a.ref}: no core group meeting for over {span}", blocks, a.ref)


def _drift_outcome(a: _About) -> Part | None:
    outcome = a.state.outcome(a.row.subject_id)
    if outcome is None:
        return None
    span = _span(a.planner.settings.outcome_idle_days)
    blocks = (
        Heading(f"A plan outcome has gone quiet · {a.ref}"),
        Text(
            f"Nothing has moved on outcome {outcome.number} of the plan for {a.ref} since "
            f"{a.day('since')} — {span}. Is it still on track?"
        ),
        Fields((("Outcome", f"{outcome.number}. {outcome.title}"),)),
        Context(f"See its actions with `/coregroup {a.ref} actions all`."),
    )
    return Part(f"{a.ref}: no activity on outcome {outcome.number} for {span}", blocks, a.ref)


_WHAT = {
    Kind.MEETING_AHEAD: "a meeting reminder",
    Kind.MEETING_SOON: "a meeting reminder",
    Kind.UPDATE_OPEN: "the request for their update",
    Kind.UPDATE_NUDGE: "a reminder about their update",
    Kind.BRIEF: "the pre-meeting brief",
    Kind.ACTION_SOON: "an action reminder",
    Kind.ACTION_DUE: "an action reminder",
    Kind.ACTION_OVERDUE: "an action reminder",
    Kind.ESCALATE: "a note about an overdue action",
    Kind.FIRST_UNBOOKED: "a deadline reminder",
    Kind.NEXT_UNBOOKED: "a deadline reminder",
    Kind.REVIEW_UNBOOKED: "a deadline reminder",
    Kind.MINUTES_RECORD: "a minutes deadline reminder",
    Kind.MINUTES_CIRCULATE: "a minutes deadline reminder",
    Kind.REVIEW_UPDATE: "the request for a written update",
    Kind.DRIFT_MEETING: "a note about the gap between meetings",
    Kind.DRIFT_OUTCOME: "a note about a quiet outcome",
    Kind.DIGEST: "the weekly digest",
    Kind.DELIVERY_FAILED: "a delivery notice",
    Kind.CONCERN: "a note about a possible new concern",
    Kind.EARLIER_DISAGREEMENTS: "a note about the group's earlier disagreements",
}


def _delivery_failed(session: Session, *, row: Reminder, state: GroupState) -> Part:
    facts = row.payload or {}
    person = session.get(Person, facts["person"]) if facts.get("person") else None
    who = person.display_name if person else "the group's space"
    what = _WHAT.get(Kind(facts.get("kind", Kind.DELIVERY_FAILED)), "a message")
    tries = int(facts.get("tries", 1))
    ref = state.case.reference
    blocks = (
        Heading(f"A reminder couldn't be delivered · {ref}"),
        Text(
            f"I couldn't deliver {what} to {who} for {ref}"
            + (f", even after {tries} tries" if tries > 1 else "")
            + ". Please pass it on another way, and check they can get messages from me."
        ),
    )
    return Part(f"{ref}: a reminder couldn't be delivered", blocks, ref)


def _earlier_disagreements(
    session: Session, *, row: Reminder, state: GroupState, tz: ZoneInfo
) -> Part | None:
    ids = [int(i) for i in (row.payload or {}).get("ids", [])]
    rows = disagreements.of_group(session, group_id=row.group_id or 0, ids=ids)
    if not rows:
        return None  # erased since (the group closed and its working copies went)
    ref = state.case.reference
    message = disagreements.earlier_notice(
        session,
        rows,
        group_id=row.group_id or 0,
        reference=ref,
        intro=f"You now oversee the core group for {ref} as a team manager. Before you joined, "
        f"the core group recorded {disagreements.count_words(len(rows))}:",
        tz=tz,
    )
    return Part(message.text, message.blocks, ref)


_ACTION_KINDS = frozenset({Kind.ACTION_SOON, Kind.ACTION_DUE, Kind.ACTION_OVERDUE, Kind.ESCALATE})
# What wording a kind reads of its group's state beyond what deriving it reads (see
# `plan.derivation_reads`): an update conversation asks about the member's open actions; a
# brief lists the plan's outcomes; an action card names its outcome (found in the session).
_READS: dict[str, frozenset[str]] = {
    Kind.UPDATE_OPEN: frozenset({"actions"}),
    Kind.UPDATE_NUDGE: frozenset({"actions"}),
    Kind.BRIEF: frozenset({"outcomes"}),
    **dict.fromkeys(_ACTION_KINDS, frozenset({"outcomes"})),
}


def wording_reads(kinds: Collection[str]) -> frozenset[str]:
    """The parts of a group's state (`GroupState` field names) that wording `kinds` reads
    besides its group, case, members and what deriving them reads."""
    return frozenset().union(*(_READS.get(k, frozenset()) for k in kinds))


_BUILDERS = {
    Kind.MEETING_AHEAD: _meeting_ahead,
    Kind.MEETING_SOON: _meeting_soon,
    Kind.UPDATE_OPEN: _update_open,
    Kind.UPDATE_NUDGE: _update_nudge,
    Kind.BRIEF: _brief,
    Kind.ACTION_SOON: _action,
    Kind.ACTION_DUE: _action,
    Kind.ACTION_OVERDUE: _action,
    Kind.ESCALATE: _escalate,
    Kind.FIRST_UNBOOKED: _first_unbooked,
    Kind.NEXT_UNBOOKED: _next_unbooked,
    Kind.REVIEW_UNBOOKED: _review_unbooked,
    Kind.MINUTES_RECORD: _minutes_due,
    Kind.MINUTES_CIRCULATE: _minutes_due,
    Kind.REVIEW_UPDATE: _review_update,
    Kind.DRIFT_MEETING: _drift_meeting,
    Kind.DRIFT_OUTCOME: _drift_outcome,
    Kind.CONCERN: _concern,
}


def build_part(
    session: Session,
    *,
    row: Reminder,
    occurrence: Occurrence | None,
    state: GroupState | None,
    person: Person | None,
    planner: Planner,
    now: datetime,
    updates: UpdateFacts,
    briefs: dict[int, BriefFacts],
    watched: dict[int, list[Watched]],
    facts: ActionFacts | None = None,
) -> Part | None:
    """What one reminder says, from facts loaded for its chunk: update conversations from
    `updates` (whose `asked` it adds to), briefs from `briefs` (by meeting), digests from
    `watched` (by team), action cards from `facts` when given. None when there is nothing to
    say any more. It writes nothing."""
    kind = Kind(row.kind)
    if kind is Kind.DIGEST:
        if person is None:
            return None
        return digest_part(person=person, planner=planner, now=now, watched=watched)
    if state is None:
        return None
    if kind is Kind.DELIVERY_FAILED:
        return _delivery_failed(session, row=row, state=state)
    if kind is Kind.EARLIER_DISAGREEMENTS:
        return _earlier_disagreements(session, row=row, state=state, tz=planner.locale.tz)
    if occurrence is None:
        return None
    about = _About(session, row, occurrence, state, person, planner, now, updates, briefs, facts)
    return _BUILDERS[kind](about)
