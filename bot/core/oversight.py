"""Seeing what needs attention: one group at a glance, a team manager's view of the team's
groups, and a person's own summary across their groups (also the Slack Home tab).

Everything takes the session, the time and the locale (keyword-only) and returns neutral
messages; who may see which group is decided by the caller (commands/ and bot.core.access).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from bot.core.calendar import format_day
from bot.core.context import Locale
from bot.core.groups import (
    OpenDeadline,
    chairs,
    member_count,
    minute_takers,
    open_deadlines,
)
from bot.core.meetings import format_when
from bot.core.plan import OPEN_STATUSES, days_phrase, names_of, open_actions_for
from bot.core.policy import DeadlineKind, Policy, circulate_deadline, record_deadline
from bot.core.updates import pending_updates, updates_of
from bot.messages import Block, Button, Buttons, Context, Fields, Heading, Message, Text, bullets
from storage.enums import GroupStatus, MeetingStatus, OutcomeStatus, UpdateState
from storage.models import (
    Action,
    Case,
    CoreGroup,
    Meeting,
    Membership,
    MemberUpdate,
    Minutes,
    Outcome,
    Person,
    ReviewConference,
    Team,
)

OVERDUE = "⚠ OVERDUE"
SCHEDULE_ASK = 'When? e.g. "5/1 10am" or "next Tue 2pm"'


# --- one group ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinutesDue:
    """A meeting whose record is not yet on the case system or not yet sent to everyone."""

    meeting: Meeting
    day: date  # the meeting's local date
    minutes: Minutes | None  # None: nobody has drafted them yet
    record_due: date
    circulate_due: date

    def late(self, today: date) -> str | None:
        """What is late and by how long ("not sent to all members (due …, 2 days late)")."""
        rec = self.minutes.recorded_at if self.minutes else None
        sent = self.minutes.circulated_at if self.minutes else None
        for done, due, what in (
            (rec, self.record_due, "recorded on the case system"),
            (sent, self.circulate_due, "sent to all members"),
        ):
            if done is None and due < today:
                days = days_phrase((today - due).days)
                unwritten = "not written yet, so " if self.minutes is None else ""
                return f"{unwritten}not {what} (due {format_day(due)}, {days} late)"
        return None

    def todo(self) -> str:
        """What still has to happen, by when."""
        steps = []
        if self.minutes is None:
            steps.append("not written yet")
        if self.minutes is None or self.minutes.recorded_at is None:
            steps.append(f"record on the case system by {format_day(self.record_due)}")
        if self.minutes is None or self.minutes.circulated_at is None:
            steps.append(f"send to all members by {format_day(self.circulate_due)}")
        return "; ".join(steps)


@dataclass
class Glance:
    """What matters in one group today: the next meeting, open deadlines, what is late."""

    group: CoreGroup
    case: Case
    today: date
    next_meeting: Meeting | None
    last_met: date | None
    deadlines: list[OpenDeadline]
    overdue: list[Action]
    minutes: list[MinutesDue]
    interval_days: int
    interval: str  # the same in words: "6 weeks", "1 month"

    @property
    def reference(self) -> str:
        """The case reference."""
        return self.case.reference

    def late_minutes(self) -> list[tuple[MinutesDue, str]]:
        """Minutes past a deadline, each with a line saying which and by how long."""
        found = [(m, m.late(self.today)) for m in self.minutes]
        return [(m, why) for m, why in found if why]

    def quiet_for(self) -> int | None:
        """Days since the group last met, when that is longer than the policy allows."""
        if self.last_met is None:
            return None
        days = (self.today - self.last_met).days
        return days if days > self.interval_days else None


@dataclass
class _Rows:
    """What the glances of many groups are made from, loaded in four queries."""

    meetings: dict[int, list[Meeting]] = field(default_factory=lambda: defaultdict(list))
    reviews: dict[int, list[date]] = field(default_factory=lambda: defaultdict(list))
    overdue: dict[int, list[Action]] = field(default_factory=lambda: defaultdict(list))
    minutes: dict[int, list[tuple[Minutes, Meeting]]] = field(
        default_factory=lambda: defaultdict(list)
    )


def _load(session: Session, groups: Sequence[tuple[CoreGroup, Case]], *, today: date) -> _Rows:
    ids = [g.id for g, _ in groups if g.id is not None]
    found = _Rows()
    if not ids:
        return found
    for meeting in session.exec(
        select(Meeting)
        .where(col(Meeting.group_id).in_(ids), Meeting.status != MeetingStatus.CANCELLED)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all():
        found.meetings[meeting.group_id].append(meeting)
    for case_id, held_on in session.exec(
        select(col(ReviewConference.case_id), col(ReviewConference.held_on))
        .where(col(ReviewConference.case_id).in_([c.id for _, c in groups]))
        .order_by(col(ReviewConference.held_on))
    ).all():
        found.reviews[case_id].append(held_on)
    for action in session.exec(
        select(Action)
        .where(
            col(Action.group_id).in_(ids),
            col(Action.status).in_(OPEN_STATUSES),
            col(Action.due_on) < today,
        )
        .order_by(col(Action.due_on), col(Action.number))
    ).all():
        found.overdue[action.group_id].append(action)
    for minutes, meeting in session.exec(
        select(Minutes, Meeting)
        .join(Meeting, col(Meeting.id) == Minutes.meeting_id)
        .where(col(Meeting.group_id).in_(ids))
        .order_by(col(Minutes.record_due), col(Meeting.starts_at))
    ).all():
        found.minutes[meeting.group_id].append((minutes, meeting))
    return found


def _minutes_due(
    rows: _Rows, *, group_id: int, case: Case, now: datetime, locale: Locale
) -> list[MinutesDue]:
    """Minutes drafted but not recorded or sent, and the latest meeting's if not drafted yet."""
    tz = locale.tz
    found = []
    drafted = set()
    for minutes, meeting in rows.minutes.get(group_id, []):
        drafted.add(meeting.id)
        if minutes.recorded_at is None or minutes.circulated_at is None:
            day = meeting.starts_at.astimezone(tz).date()
            found.append(
                MinutesDue(meeting, day, minutes, minutes.record_due, minutes.circulate_due)
            )
    started = [m for m in rows.meetings.get(group_id, []) if m.starts_at <= now]
    latest = started[-1] if started else None
    if latest is not None and latest.id not in drafted:
        day = latest.starts_at.astimezone(tz).date()
        calendar, policy = locale.calendar(case), locale.policy(case)
        record = record_deadline(meeting=day, calendar=calendar, policy=policy).due
        circulate = circulate_deadline(meeting=day, calendar=calendar, policy=policy).due
        found.append(MinutesDue(latest, day, None, record, circulate))
    return sorted(found, key=lambda m: m.day)


def glances(
    session: Session, groups: Sequence[tuple[CoreGroup, Case]], *, now: datetime, locale: Locale
) -> list[Glance]:
    """What matters today in each of many groups, in a fixed number of queries, in their order."""
    tz = locale.tz
    today = now.astimezone(tz).date()
    rows = _load(session, groups, today=today)
    return [_glance(rows, group=g, case=c, now=now, locale=locale) for g, c in groups]


def glance(
    session: Session, *, group: CoreGroup, case: Case, now: datetime, locale: Locale
) -> Glance:
    """Gather what matters in one group today."""
    return glances(session, [(group, case)], now=now, locale=locale)[0]


def _glance(rows: _Rows, *, group: CoreGroup, case: Case, now: datetime, locale: Locale) -> Glance:
    assert group.id is not None and case.id is not None
    tz = locale.tz
    today = now.astimezone(tz).date()
    policy = locale.policy(case)
    meetings = rows.meetings.get(group.id, [])
    held = sorted(m.starts_at.astimezone(tz).date() for m in meetings if m.starts_at <= now)
    booked = sorted(m.starts_at.astimezone(tz).date() for m in meetings if m.starts_at > now)
    deadlines = open_deadlines(
        icpc=case.icpc_date,
        held=held,
        booked=booked,
        reviews=rows.reviews.get(case.id, []),
        today=today,
        calendar=locale.calendar(case),
        policy=policy,
    )
    active = group.status == GroupStatus.ACTIVE
    basis = held[-1] if held else case.icpc_date
    coming = [m for m in meetings if m.status == MeetingStatus.SCHEDULED and m.starts_at > now]
    return Glance(
        group=group,
        case=case,
        today=today,
        next_meeting=coming[0] if coming else None,
        last_met=held[-1] if held else None,
        deadlines=deadlines if active else [],
        overdue=rows.overdue.get(group.id, []),
        minutes=_minutes_due(rows, group_id=group.id, case=case, now=now, locale=locale)
        if active
        else [],
        interval_days=(policy.meeting_gap_end(basis) - basis).days,
        interval=policy.meeting_interval,
    )


def _overdue_line(action: Action, today: date, owner: str) -> str:
    days = days_phrase((today - action.due_on).days)
    return (
        f"{OVERDUE} by {days}: #{action.number} {action.description} — {owner} "
        f"(due {format_day(action.due_on)})"
    )


def _action_line(action: Action, today: date) -> str:
    if action.due_on < today:
        return _overdue_line(action, today, "you")
    return f"#{action.number} {action.description} — due {format_day(action.due_on)}"


def _meeting_text(meeting: Meeting | None, locale: Locale) -> str:
    if meeting is None:
        return "none booked yet"
    place = meeting.venue or ("video call" if meeting.call_link else "place to be confirmed")
    return f"{format_when(meeting.starts_at, locale.tz)} — {place}"


def _names(people: Sequence[Person]) -> str:
    return ", ".join(p.display_name for p in people) or "none yet"


def status_message(
    session: Session,
    *,
    view: Glance,
    viewer_id: int,
    family: bool,
    can_manage: bool,
    locale: Locale,
) -> Message:
    """The group at a glance; family members get the family view (nothing professionals-only)."""
    if family:
        return _family_status(session, view=view, viewer_id=viewer_id, locale=locale)
    assert view.group.id is not None
    group_id = view.group.id
    plan = f"active since the ICPC on {format_day(view.case.icpc_date)}"
    if view.group.status == GroupStatus.CLOSED and view.group.closed_at is not None:
        closed = format_day(view.group.closed_at.astimezone(locale.tz).date())
        reason = f": {view.group.close_reason}" if view.group.close_reason else ""
        plan = f"closed on {closed}{reason}"
    blocks: list[Block] = [
        Heading(f"{view.reference} — the core group at a glance"),
        Fields(
            (
                ("Plan", plan),
                ("Chair", _names(chairs(session, group_id=group_id))),
                ("Minute-taker", _names(minute_takers(session, group_id=group_id))),
                ("Members", str(member_count(session, group_id=group_id))),
                ("Next meeting", _meeting_text(view.next_meeting, locale)),
            )
        ),
    ]
    if view.deadlines:
        blocks += [Text("Deadlines:"), bullets([d.describe() for d in view.deadlines])]
    blocks += _overdue_blocks(session, view)
    blocks += _updates_blocks(session, view, locale)
    blocks += _minutes_blocks(view)
    if view.group.status == GroupStatus.ACTIVE and can_manage and view.next_meeting is None:
        blocks.append(
            Buttons(
                (
                    Button(
                        "Schedule the next meeting"
                        if view.last_met
                        else "Schedule the first meeting",
                        "meeting.schedule",
                        str(group_id),
                        style="primary",
                        ask=SCHEDULE_ASK,
                    ),
                )
            )
        )
    blocks.append(Context(f"As of {format_day(view.today)}. `/coregroup members` lists who's in."))
    return Message(text=_summary(view), blocks=tuple(blocks))


def _summary(view: Glance) -> str:
    parts = [f"{view.reference}: status"]
    if view.overdue:
        parts.append(f"{len(view.overdue)} overdue action{'s' if len(view.overdue) != 1 else ''}")
    if any(d.overdue for d in view.deadlines):
        parts.append("a deadline has passed")
    return " — ".join(parts)


def _overdue_blocks(session: Session, view: Glance) -> list[Block]:
    if not view.overdue:
        return [Text("Overdue actions: none.")]
    names = names_of(session, [a.owner_id for a in view.overdue])
    return [
        Text(f"Overdue actions ({len(view.overdue)}):"),
        bullets(
            [_overdue_line(a, view.today, names.get(a.owner_id, "someone")) for a in view.overdue]
        ),
    ]


def _updates_blocks(session: Session, view: Glance, locale: Locale) -> list[Block]:
    meeting = view.next_meeting
    if meeting is None:
        return []
    when = format_day(meeting.starts_at.astimezone(locale.tz).date())
    if not updates_of(session, meeting=meeting):
        days = locale.policy(view.case).update_prompt_working_days
        return [
            Text(
                f"Updates for the meeting on {when}: members are asked {days} working days before."
            )
        ]
    waiting = pending_updates(session, meeting=meeting)
    if not waiting:
        return [Text(f"Updates for the meeting on {when}: everyone has replied.")]
    return [Text(f"Updates for the meeting on {when} — not replied yet: {_names(waiting)}.")]


def _minutes_blocks(view: Glance) -> list[Block]:
    lines = []
    for due in view.minutes:
        late = due.late(view.today)
        what = f"minutes of the meeting on {format_day(due.day)}"
        # Upper-case the first letter only: str.capitalize() would lower-case the date too.
        lines.append(f"{OVERDUE}: {what} {late}" if late else f"M{what[1:]}: {due.todo()}")
    return [Text("Minutes:"), bullets(lines)] if lines else []


def _family_status(session: Session, *, view: Glance, viewer_id: int, locale: Locale) -> Message:
    """What a parent, carer or young person sees: their own actions and what's shared."""
    assert view.group.id is not None
    group_id = view.group.id
    outcomes = session.exec(
        select(Outcome)
        .where(
            Outcome.group_id == group_id,
            Outcome.status == OutcomeStatus.ACTIVE,
            col(Outcome.shared_with_family).is_(True),
        )
        .order_by(col(Outcome.number))
    ).all()
    shared = {o.id for o in outcomes}
    mine = open_actions_for(session, group_id=group_id, person_id=viewer_id)
    late = [
        a
        for a in view.overdue
        if a.owner_id != viewer_id
        and a.shared_with_family
        and (a.outcome_id is None or a.outcome_id in shared)
    ]
    blocks: list[Block] = [
        Heading("What's next"),
        Fields((("Next meeting", _meeting_text(view.next_meeting, locale)),)),
        Text("Your actions:" if mine else "Your actions: none at the moment."),
    ]
    if mine:
        blocks.append(bullets([_action_line(a, view.today) for a in mine]))
    if outcomes:
        blocks += [
            Text("What the plan is working towards:"),
            bullets([f"{o.number}. {o.title}" for o in outcomes]),
        ]
    if late:
        names = names_of(session, [a.owner_id for a in late])
        blocks += [
            Text("Running late:"),
            bullets([_overdue_line(a, view.today, names.get(a.owner_id, "")) for a in late]),
        ]
    if view.group.status != GroupStatus.ACTIVE:
        blocks.insert(1, Text("The group supporting your family has finished its work."))
    blocks.append(Context("If anything here isn't clear, ask your key worker."))
    return Message(text="What's next", blocks=tuple(blocks))


# --- a team manager's view ----------------------------------------------------------------------


def team_groups(session: Session, *, team_id: int) -> list[tuple[CoreGroup, Case]]:
    """The team's open groups, by case reference."""
    rows = session.exec(
        select(CoreGroup, Case)
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .where(CoreGroup.team_id == team_id, CoreGroup.status == GroupStatus.ACTIVE)
        .order_by(col(Case.reference))
    ).all()
    return [(g, c) for g, c in rows]


# How far ahead the team view looks for first meetings due.
FIRST_MEETING_HORIZON_WORKING_DAYS = 10


def _deadline_line(view: Glance, due: OpenDeadline, what: str) -> str:
    line = f"{view.reference}: {what} due by {format_day(due.deadline.due)}"
    if due.overdue:
        line = f"{OVERDUE} — {line}"
    if due.booked is None:
        return line + " — not booked yet"
    return line + f" — booked for {format_day(due.booked)}, after the deadline"


def _first_meeting_line(view: Glance, horizon: date) -> str | None:
    """A first meeting due by `horizon` (or overdue) that is unbooked or booked too late."""
    first = next((d for d in view.deadlines if d.deadline.kind is DeadlineKind.FIRST_MEETING), None)
    if first is None or first.in_time or first.deadline.due > horizon:
        return None
    return _deadline_line(view, first, "first core group")


_NEXT_MEETINGS = {
    DeadlineKind.NEXT_MEETING: "next core group",
    DeadlineKind.AFTER_REVIEW: "core group after the review",
}


def _next_meeting_lines(view: Glance) -> list[str]:
    """The group's next statutory meeting dates that are unbooked or booked too late."""
    return [
        _deadline_line(view, d, _NEXT_MEETINGS[d.deadline.kind])
        for d in view.deadlines
        if d.deadline.kind in _NEXT_MEETINGS and not d.in_time
    ]


def _quiet_line(view: Glance, locale: Locale) -> str | None:
    days = view.quiet_for()
    if days is None or view.last_met is None:
        return None
    weeks = days // 7
    line = f"{view.reference}: last met {format_day(view.last_met)} ({weeks} weeks ago)"
    nxt = view.next_meeting
    return line + (
        f"; next booked {format_when(nxt.starts_at, locale.tz)}" if nxt else "; nothing booked"
    )


def _overdue_summary(view: Glance, names: dict[int, str]) -> str | None:
    if not view.overdue:
        return None
    oldest = days_phrase((view.today - view.overdue[0].due_on).days)
    owners = sorted({names[a.owner_id] for a in view.overdue if a.owner_id in names})
    count = len(view.overdue)
    return (
        f"{view.reference}: {count} overdue action{'s' if count != 1 else ''}, the oldest by "
        f"{oldest} ({', '.join(owners)})"
    )


def team_overview(
    session: Session, *, team: Team, now: datetime, locale: Locale
) -> tuple[Message, list[int]]:
    """What needs a team manager's attention across the team's groups, and the ids looked at."""
    assert team.id is not None
    views = glances(session, team_groups(session, team_id=team.id), now=now, locale=locale)
    names = names_of(session, [a.owner_id for v in views for a in v.overdue])
    span = views[0].interval if views else Policy().meeting_interval
    days = FIRST_MEETING_HORIZON_WORKING_DAYS
    sections = (
        (
            f"First meetings due in the next {days} working days, not booked in time",
            [
                _first_meeting_line(v, locale.calendar(v.case).add_working_days(v.today, days))
                for v in views
            ],
        ),
        (
            "Next meetings not booked in time",
            [line for v in views for line in _next_meeting_lines(v)],
        ),
        (f"No core group for over {span}", [_quiet_line(v, locale) for v in views]),
        (
            "Late minutes",
            [
                f"{v.reference}: minutes of the meeting on {format_day(m.day)} {why}"
                for v in views
                for m, why in v.late_minutes()
            ],
        ),
        ("Overdue actions", [_overdue_summary(v, names) for v in views]),
    )
    count, today = len(views), now.astimezone(locale.tz).date()
    blocks: list[Block] = [
        Heading(f"{team.name} — your team's core groups"),
        Text(f"{count} open group{'s' if count != 1 else ''}, as of {format_day(today)}."),
    ]
    attention = False
    for title, lines in sections:
        found = [line for line in lines if line]
        if found:
            attention = True
            blocks += [Text(f"{title}:"), bullets(found)]
    if not attention:
        blocks.append(Text("Nothing needs your attention today."))
    if views:
        blocks.append(
            Context(f"Look into one group with `/coregroup status {views[0].reference}`.")
        )
    ids = [v.group.id for v in views if v.group.id is not None]
    return Message(text=f"{team.name}: your team's core groups", blocks=tuple(blocks)), ids


def make_team_manager(session: Session, *, person: Person, team_name: str) -> Team:
    """Make `person` a manager of the team called `team_name` (created if new)."""
    return join_team(session, person=person, team_name=team_name, manager=True)


def join_team(session: Session, *, person: Person, team_name: str, manager: bool) -> Team:
    """Put `person` in the team called `team_name` (created if new), as a manager or not.

    Groups a person creates belong to their team, so its managers oversee them.
    """
    name = " ".join(team_name.split())
    team = session.exec(select(Team).where(Team.name == name)).first()
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
    person.team_id, person.is_team_manager = team.id, manager
    session.add(person)
    session.flush()
    return team


# --- a person's own summary ---------------------------------------------------------------------


def my_groups(session: Session, *, person_id: int) -> list[tuple[CoreGroup, Case, Membership]]:
    """The open groups a person is a member of, by case reference."""
    rows = session.exec(
        select(CoreGroup, Case, Membership)
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .join(Membership, col(Membership.group_id) == CoreGroup.id)
        .where(
            Membership.person_id == person_id,
            col(Membership.active).is_(True),
            CoreGroup.status == GroupStatus.ACTIVE,
        )
        .order_by(col(Case.reference))
    ).all()
    return [(g, c, m) for g, c, m in rows]


def home_message(
    session: Session, *, person: Person, now: datetime, locale: Locale
) -> tuple[Message, list[int]]:
    """A person's own summary across their groups, and the ids of the groups it read."""
    assert person.id is not None
    today = now.astimezone(locale.tz).date()
    actions: list[tuple[Action, str]] = []
    meetings, owed, chaired = [], [], []
    groups = my_groups(session, person_id=person.id)
    views = glances(session, [(g, c) for g, c, _ in groups], now=now, locale=locale)
    refs = {g.id: c.reference for g, c, _ in groups if g.id is not None}
    actions += [(a, refs[a.group_id]) for a in _open_actions(session, person.id, list(refs))]
    coming = [v.next_meeting for v in views if v.next_meeting is not None]
    updates = _updates_by(session, person_id=person.id, meetings=coming)
    for view, (_, case, membership) in zip(views, groups, strict=True):
        meeting = view.next_meeting
        if meeting is not None:
            meetings.append((meeting, case.reference))
            # Only once the member has been asked: before that nothing is owed yet.
            update = updates.get(meeting.id or 0)
            if update is not None and update.state != UpdateState.COMPLETE:
                owed.append(
                    f"{case.reference}: your update for the meeting on "
                    f"{format_day(meeting.starts_at.astimezone(locale.tz).date())}"
                )
        if membership.is_chair:
            chaired.append(_chair_line(view))
    actions.sort(key=lambda pair: (pair[0].due_on, pair[1], pair[0].number))
    meetings.sort(key=lambda pair: pair[0].starts_at)
    blocks: list[Block] = [Heading("Your core groups")]
    if not groups:
        blocks.append(Text("You're not in any core group yet. A chair can add you."))
    else:
        blocks += _section(
            "Your actions",
            [f"{ref}: {_action_line(a, today)}" for a, ref in actions],
            "nothing open.",
        )
        blocks += _section(
            "Your next meetings",
            [f"{ref}: {_meeting_text(m, locale)}" for m, ref in meetings],
            "none booked.",
        )
        blocks += _section("Updates you owe", owed, "none — thank you.")
        if chaired:
            blocks += [Text("Groups you chair:"), bullets(chaired)]
    if person.is_team_manager:
        blocks.append(Context("`/coregroup team` shows your team's groups."))
    overdue = sum(1 for a, _ in actions if a.due_on < today)
    text = "Your core groups" + (
        f": {overdue} overdue action{'s' if overdue != 1 else ''}" if overdue else ""
    )
    return Message(text=text, blocks=tuple(blocks)), [g.id for g, _, _ in groups if g.id]


def _open_actions(session: Session, person_id: int, group_ids: list[int]) -> list[Action]:
    """A person's unfinished actions in these groups, soonest first."""
    if not group_ids:
        return []
    return list(
        session.exec(
            select(Action)
            .where(
                col(Action.group_id).in_(group_ids),
                Action.owner_id == person_id,
                col(Action.status).in_(OPEN_STATUSES),
            )
            .order_by(col(Action.due_on), col(Action.number))
        ).all()
    )


def _updates_by(
    session: Session, *, person_id: int, meetings: Sequence[Meeting]
) -> dict[int, MemberUpdate]:
    """A person's update for each of these meetings they have been asked about, by meeting."""
    ids = [m.id for m in meetings if m.id is not None]
    if not ids:
        return {}
    rows = session.exec(
        select(MemberUpdate).where(
            col(MemberUpdate.meeting_id).in_(ids), MemberUpdate.person_id == person_id
        )
    ).all()
    return {row.meeting_id: row for row in rows}


def _section(title: str, lines: list[str], empty: str) -> list[Block]:
    if not lines:
        return [Text(f"{title}: {empty}")]
    return [Text(f"{title}:"), bullets(lines)]


def _chair_line(view: Glance) -> str:
    upcoming = view.deadlines[0].describe() if view.deadlines else "no deadline open"
    return f"{view.reference}: {upcoming}"
