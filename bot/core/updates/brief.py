"""The pre-meeting brief: what it reads (`BriefFacts`) and the message (agenda, apologies, who
has not replied, the updates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core import concerns, young_voice
from bot.core.access import members_of
from bot.core.calendar import WorkingCalendar, format_day
from bot.core.meetings import (
    KIND_LABELS,
    case_of_group,
    format_when,
    last_held_meeting,
    place_pairs,
)
from bot.core.plan import STATUS_LABELS, is_overdue
from bot.core.policy import Policy, next_meeting_deadline
from bot.core.updates.nudges import member_label, updates_of
from bot.core.updates.questions import (
    NOTHING_KEYS,
    STATUS_EFFECT,
    STATUS_OPTIONS,
    _value,
    says_nothing,
)
from bot.messages import Block, Bullets, Context, Fields, Heading, Message, Text
from storage.enums import (
    ActionStatus,
    AttendanceStatus,
    MeetingKind,
    OutcomeStatus,
    Role,
    UpdateState,
)
from storage.models import (
    Action,
    Attendance,
    Concern,
    Meeting,
    Membership,
    MemberUpdate,
    Outcome,
    Person,
    UpdateAnswer,
)

# --- the brief ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """A member with their attendance and update for the meeting."""

    person: Person
    membership: Membership
    attendance: Attendance | None
    update: MemberUpdate | None
    answers: dict[str, UpdateAnswer]

    @property
    def who(self) -> str:
        return member_label(self.person, self.membership)

    @property
    def state(self) -> UpdateState:
        return UpdateState(self.update.state) if self.update else UpdateState.NOT_STARTED

    def status(self) -> AttendanceStatus | None:
        return AttendanceStatus(self.attendance.status) if self.attendance else None

    def said(self, key: str, *, family_view: bool = False) -> str | None:
        """Their answer to one question; None if skipped, "nothing", or not for this view."""
        answer = self.answers.get(key)
        if answer is None or answer.skipped or not answer.answer.strip():
            return None
        if key in NOTHING_KEYS and says_nothing(answer.answer):
            return None
        if family_view and not answer.shared_with_family:
            return None
        return answer.answer


@dataclass(frozen=True)
class BriefFacts:
    """Everything a meeting's brief reads, loaded beforehand (for many meetings at once by the
    reminders, or for one by `brief_facts`)."""

    reference: str
    members: list[tuple[Membership, Person]]  # current ones, chairs first
    updates: dict[int, MemberUpdate]  # by person
    answers: dict[int, dict[str, UpdateAnswer]]  # by update id, then question
    attendance: dict[int, Attendance]  # by person
    previous: Meeting | None  # the last meeting held before this one
    outcomes: list[Outcome]  # active, by number
    actions: list[Action]  # every one of the group's, by number
    concerns: list[Concern]  # the ones this meeting hears (`concerns.concerns_for`)


def brief_facts(session: Session, *, meeting: Meeting) -> BriefFacts:
    """What one meeting's brief reads."""
    updates = updates_of(session, meeting=meeting)
    attendance = {
        a.person_id: a
        for a in session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
    }
    ids = [u.id for u in updates.values()]
    by_update: dict[int, dict[str, UpdateAnswer]] = {}
    for row in session.exec(select(UpdateAnswer).where(col(UpdateAnswer.update_id).in_(ids))).all():
        by_update.setdefault(row.update_id, {})[row.question] = row
    outcomes = session.exec(
        select(Outcome)
        .where(Outcome.group_id == meeting.group_id, Outcome.status == OutcomeStatus.ACTIVE)
        .order_by(col(Outcome.number))
    ).all()
    actions = session.exec(
        select(Action).where(Action.group_id == meeting.group_id).order_by(col(Action.number))
    ).all()
    return BriefFacts(
        reference=case_of_group(session, group_id=meeting.group_id).reference,
        members=members_of(session, group_id=meeting.group_id),
        updates=updates,
        answers=by_update,
        attendance=attendance,
        previous=_previous_held(session, meeting),
        outcomes=list(outcomes),
        actions=list(actions),
        concerns=concerns.concerns_for(session, meeting=meeting),
    )


def _members_with_updates(facts: BriefFacts) -> list[_Member]:
    result = []
    for membership, person in facts.members:
        assert person.id is not None
        update = facts.updates.get(person.id)
        answers = facts.answers.get(update.id or 0, {}) if update is not None else {}
        result.append(_Member(person, membership, facts.attendance.get(person.id), update, answers))
    return result


def brief_message(
    session: Session,
    *,
    meeting: Meeting,
    tz: ZoneInfo,
    now: datetime,
    calendar: WorkingCalendar,
    policy: Policy,
    private: bool = False,
    facts: BriefFacts | None = None,
) -> Message:
    """The pre-meeting brief: agenda from the plan, apologies, who has not replied, the updates
    (from `facts` when loaded beforehand; else read now).

    The group's space may include the family, so unless `private` (the chair's own copy) the
    brief leaves out what is for professionals only when a family member is in the group:
    outcomes and actions not shared with the family, and everyone's written answers.
    """
    facts = facts or brief_facts(session, meeting=meeting)
    members = _members_with_updates(facts)
    family_view = not private and any(Role(m.membership.role).is_family for m in members)
    previous = facts.previous
    today = now.astimezone(tz).date()
    brief = _Brief(session, meeting, members, previous, tz, today, family_view, facts)
    blocks: list[Block] = [
        Heading(f"Before the meeting — {facts.reference}"),
        Fields(
            (
                ("When", format_when(meeting.starts_at, tz)),
                *place_pairs(meeting),
                ("Meeting", KIND_LABELS[MeetingKind(meeting.kind)]),
            )
        ),
        Heading("Agenda"),
        Bullets(
            (
                "1. Introductions and apologies",
                "2. The child's voice, and updates from the family and each agency",
                "3. The plan, outcome by outcome",
                "4. Actions from the last meeting: what was done"
                if previous
                else "4. Actions so far: what was done",
                "5. New concerns",
                "6. The next meeting: date and venue",
            )
        ),
        *brief.replies(),
        *brief.plan(),
        *brief.previous_actions(),
    ]
    if family_view:
        blocks.append(
            Context(
                "Written updates and the child's voice are not posted here because the family "
                "can see this space; the chair has them for the meeting."
            )
        )
    else:
        blocks += brief.answers()
    deadline = next_meeting_deadline(
        last_meeting=meeting.starts_at.astimezone(tz).date(), calendar=calendar, policy=policy
    )
    blocks += [
        Heading("Next meeting"),
        Text(
            f"To agree at this meeting. It is due by {format_day(deadline.due)}: {deadline.rule}."
        ),
    ]
    when = format_when(meeting.starts_at, tz)
    text = f"{facts.reference}: the brief for the meeting on {when}"
    return Message(text=text, blocks=tuple(blocks))


def _previous_held(session: Session, meeting: Meeting) -> Meeting | None:
    last = last_held_meeting(session, group_id=meeting.group_id)
    return last if last is not None and last.starts_at < meeting.starts_at else None


@dataclass
class _Brief:
    """The parts of the brief, built from one meeting's members, plan and updates."""

    session: Session
    meeting: Meeting
    members: list[_Member]
    previous: Meeting | None
    tz: ZoneInfo
    today: date
    family_view: bool
    facts: BriefFacts

    def replies(self) -> list[Block]:
        """Apologies (with written updates), who is coming, and who has not replied."""
        apologies = [
            m.who + (" — written update sent" if m.said("written_update") else "")
            for m in self.members
            if m.status() == AttendanceStatus.APOLOGIES
        ]
        coming = [m.who for m in self.members if m.status() == AttendanceStatus.ATTENDING]
        # Nobody drops out of every list: who hasn't said (or skipped the question) is listed.
        unknown = [m.who for m in self.members if m.status() in (None, AttendanceStatus.INVITED)]
        waiting = [m for m in self.members if m.state != UpdateState.COMPLETE]
        missing = [m.who for m in waiting if not m.answers]
        partway = [m.who for m in waiting if m.answers]
        lines = []
        if missing:
            lines.append("No reply yet: " + "; ".join(missing))
        if partway:
            lines.append("Part-way through: " + "; ".join(partway))
        blocks: list[Block] = [Heading("Apologies"), Text("; ".join(apologies) or "None so far.")]
        if coming:
            blocks.append(Context("Coming: " + "; ".join(coming)))
        if unknown:
            blocks.append(Context("Attendance not known: " + "; ".join(unknown)))
        return [
            *blocks,
            Heading("Not replied yet"),
            Text("\n".join(lines) or "Everyone has sent their update."),
        ]

    def _visible(self, shared: bool) -> bool:
        return shared or not self.family_view

    def plan(self) -> list[Block]:
        """Each outcome with its actions (open, or closed since the last meeting) and updates."""
        outcomes = [o for o in self.facts.outcomes if self._visible(o.shared_with_family)]
        actions = [a for a in self._actions_to_review() if self._visible(a.shared_with_family)]
        blocks: list[Block] = [Heading("The plan")]
        if not outcomes and not actions:
            return [*blocks, Text("No outcomes have been added to the plan yet.")]
        for outcome in outcomes:
            lines = [self._action_line(a) for a in actions if a.outcome_id == outcome.id]
            blocks += [
                Text(f"Outcome {outcome.number}: {outcome.title}"),
                Bullets(tuple(lines or ["No actions yet."])),
            ]
        shown = {o.id for o in outcomes}
        others = [self._action_line(a) for a in actions if a.outcome_id not in shown]
        if others:
            blocks += [Text("Other actions"), Bullets(tuple(others))]
        return blocks

    def _actions_to_review(self) -> list[Action]:
        rows = [a for a in self.facts.actions if a.status != ActionStatus.CANCELLED]
        since = self.previous.starts_at if self.previous else None
        return [
            a
            for a in rows
            if not ActionStatus(a.status).is_closed or since is None or a.updated_at >= since
        ]

    def _owner(self, action: Action) -> _Member | None:
        return next((m for m in self.members if m.person.id == action.owner_id), None)

    def _action_line(self, action: Action) -> str:
        owner = self._owner(action)
        name = owner.person.display_name if owner else "a former member"
        status = STATUS_LABELS[ActionStatus(action.status)].lower()
        if is_overdue(action, self.today):
            status += " (overdue)"
        line = (
            f"Action {action.number} — {name}: {action.description} — due "
            f"{format_day(action.due_on)} — {status}"
        )
        said = owner.answers.get(f"action:{action.id}:status") if owner else None
        option = next((o for o in STATUS_OPTIONS if o.value == _value(said)), None)
        if owner is None or option is None:
            return line
        # The status they gave is already the action's status unless it has changed since.
        parts = [] if STATUS_EFFECT[option.value] == action.status else [option.label.lower()]
        note = owner.said(f"action:{action.id}:note", family_view=self.family_view)
        if note:
            parts.append(note)
        return line + (f". Update from {name}: " + " — ".join(parts) if parts else "")

    def previous_actions(self) -> list[Block]:
        """The actions agreed at (or since) the last meeting, with their result now."""
        if self.previous is None:
            return []
        since = self.previous.starts_at
        rows = [a for a in self.facts.actions if a.created_at >= since]
        lines = []
        for action in rows:
            if self._visible(action.shared_with_family):
                owner = self._owner(action)
                name = owner.person.display_name if owner else "a former member"
                result = STATUS_LABELS[ActionStatus(action.status)].lower()
                lines.append(f"Action {action.number} — {name}: {action.description} — {result}")
        day = format_day(self.previous.starts_at.astimezone(self.tz).date())
        return [
            Heading(f"Actions from the last meeting ({day})"),
            Bullets(tuple(lines)) if lines else Text("No actions were added at the last meeting."),
        ]

    def answers(self) -> list[Block]:
        """New concerns, the child's voice and each member's written update."""
        must_know = {
            row.id: (m, row)
            for m in self.members
            if (row := m.answers.get("must_know")) is not None and row.id is not None
        }
        found = concerns.listed(
            self.session,
            meeting=self.meeting,
            tz=self.tz,
            must_know=frozenset(must_know),
            heard=self.facts.concerns,
        )
        lines = [
            f"{m.who}: {text}{found.marks.get(answer_id, '')}"
            for answer_id, (m, _) in must_know.items()
            if (text := m.said("must_know"))
        ]
        lines += found.concerns
        blocks: list[Block] = [Heading("New concerns: what the group must know")]
        if lines:
            blocks.append(Bullets(tuple(lines)))
        elif not found.not_new:
            blocks.append(Text("None raised in the updates."))
        if found.not_new:
            # Never "none raised" while words that read like a concern are on record.
            blocks += [
                Text("Also written, though its author says it is not a new concern:"),
                Bullets(tuple(found.not_new)),
            ]
        voice = []
        for m in self.members:
            seen, alone, says = (
                m.said("child_seen"),
                m.said("child_seen_alone"),
                m.said("child_says"),
            )
            if seen:
                voice.append(
                    f"Seen ({m.who}): {seen}" + (f"; seen alone: {alone}" if alone else "")
                )
            if says:
                voice.append(f"What the child says: {says}")
            own = young_voice.voice_lines(m.said)
            if own:
                voice.append(f"The young person ({young_voice.OWN_WORDS}): " + " · ".join(own))
        if voice:
            blocks += [Heading("The child's voice"), Bullets(tuple(voice))]
        updates = []
        for m in self.members:
            parts = [f"{label}: {text}" for key, label in _ANSWER_PARTS if (text := m.said(key))]
            if parts:
                updates.append(f"{m.who} — " + " · ".join(parts))
        return [
            *blocks,
            Heading("Updates from members"),
            Bullets(tuple(updates)) if updates else Text("No written updates yet."),
        ]


_ANSWER_PARTS = (
    ("going_well", "Working well"),
    ("worries", "Worries"),
    ("written_update", "Written update"),
)
