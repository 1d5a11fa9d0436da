"""The planning rules: every reminder occurrence of a group inside a time window.

Derivation is a pure function of one group's state and a time window: it lists every reminder
occurrence ("meeting 12 at 10:00 on Wed, 5 working days before, to person 7") with a unique
de-duplication key.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.core.calendar import Nation, WorkingCalendar
from bot.core.concerns import escalates_at
from bot.core.context import Locale
from bot.core.deadline_plan import Lead, plan_deadline_reminders, statutory_due
from bot.core.policy import (
    Policy,
    circulate_deadline,
    pre_review_meeting_target,
    record_deadline,
    review_conference_deadlines,
)
from bot.core.reminders.settings import (
    Kind,
    Occurrence,
    ReminderSettings,
)
from bot.core.reminders.state import GroupState
from bot.core.working_hours import (
    FastCalendar,
    Hours,
    day_start,
    next_allowed,
    person_hours,
    working_days_before,
)
from storage.enums import (
    ActionStatus,
    GroupStatus,
    MeetingStatus,
    Platform,
    Role,
)
from storage.models import (
    Case,
    Meeting,
    Person,
)


def _lead(working_days: int) -> timedelta:
    """More calendar time than `working_days` working days can span (weekends, Christmas)."""
    return timedelta(days=2 * working_days + 10)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


_DEADLINE_KINDS = {
    "first": Kind.FIRST_UNBOOKED,
    "next": Kind.NEXT_UNBOOKED,
    "review": Kind.REVIEW_UNBOOKED,
}


# Which part of derivation yields each kind (each part's keys have their own prefixes, so no
# two parts ever yield the same key): a check of some rows derives only the parts they need.
_PART_OF: dict[str, str] = {
    **dict.fromkeys(
        (Kind.BRIEF, Kind.MEETING_AHEAD, Kind.MEETING_SOON, Kind.UPDATE_OPEN, Kind.UPDATE_NUDGE),
        "meetings",
    ),
    **dict.fromkeys(
        (Kind.ACTION_SOON, Kind.ACTION_DUE, Kind.ACTION_OVERDUE, Kind.ESCALATE), "actions"
    ),
    **dict.fromkeys(
        (*_DEADLINE_KINDS.values(), Kind.MINUTES_RECORD, Kind.MINUTES_CIRCULATE), "deadlines"
    ),
    Kind.REVIEW_UPDATE: "review_updates",
    Kind.DRIFT_MEETING: "drift",
    Kind.DRIFT_OUTCOME: "drift",
    Kind.CONCERN: "concerns",
}
_PARTS = ("meetings", "actions", "deadlines", "review_updates", "drift", "concerns")
# What each part reads of a group's state beyond the group, its case and its members (the
# names of `GroupState`'s fields): a check of some rows loads only what their parts read.
_READS: dict[str, frozenset[str]] = {
    "meetings": frozenset({"meetings"}),
    "actions": frozenset({"actions"}),
    "deadlines": frozenset({"meetings", "minutes", "reviews"}),
    "review_updates": frozenset({"reviews"}),
    "drift": frozenset({"meetings", "outcomes", "touched", "managers"}),
    "concerns": frozenset({"concerns"}),
}


def derivation_reads(kinds: Collection[str]) -> frozenset[str]:
    """The parts of a group's state (`GroupState` field names, besides the group, case and
    members) that deriving the occurrences of `kinds` reads."""
    parts = {_PART_OF[k] for k in kinds if k in _PART_OF}
    return frozenset().union(*(_READS[p] for p in parts))


# A day whose opening hour (in any time zone, UTC-12 to UTC+14) can fall inside a window lies
# within a day of the window's UTC dates; two days leave room to spare.
_DAY_MARGIN = timedelta(days=2)

# One action reminder as the same for every action due on a day to someone with the same hours:
# which (in the key), kind, due, not after, detail.
_ActionReminder = tuple[str, Kind, datetime, datetime | None, dict[str, Any]]
# The ones inside a window, and the escalation day if it can fall in it.
_ActionPlan = tuple[tuple[_ActionReminder, ...], date | None]
_WINDOWS_KEPT = 8  # windows whose action plans a planner remembers


class _Found:
    """Collects occurrences inside the window [lo, hi], never from before their subject existed.

    Derivation asks `wants` (and, for a whole day's reminders, `near`) before building an
    occurrence, so what falls outside the window costs a comparison, not an object.
    """

    def __init__(self, lo: datetime, hi: datetime, people: Collection[int] | None = None) -> None:
        self.lo, self.hi = lo, hi
        self.people = people
        self.first_day = lo.astimezone(UTC).date() - _DAY_MARGIN
        self.last_day = hi.astimezone(UTC).date() + _DAY_MARGIN
        self.items: dict[str, Occurrence] = {}

    def wants(self, due: datetime, since: datetime) -> bool:
        """Whether a reminder due at `due` belongs in the window."""
        # Nothing is owed for a moment before the meeting, action or membership existed.
        return self.lo <= due <= self.hi and due > since

    def to(self, person_id: int | None) -> bool:
        """Whether occurrences to this person (None: to the group's space) are collected."""
        return person_id is None or self.people is None or person_id in self.people

    def near(self, day: date) -> bool:
        """Whether a reminder sent at the opening of someone's hours on `day` can be in it."""
        return self.first_day <= day <= self.last_day

    def add(self, occurrence: Occurrence, *, since: datetime) -> None:
        """Keep `occurrence` if it belongs in the window and goes to someone collected for (the
        first one of a key wins)."""
        if self.wants(occurrence.due_at, since) and self.to(occurrence.person_id):
            self.items.setdefault(occurrence.key, occurrence)


def _to_member(
    found: _Found,
    st: GroupState,
    m: Meeting,
    key: str,
    kind: Kind,
    due: datetime,
    since: datetime,
    pid: int,
    detail: dict[str, Any],
) -> None:
    """A meeting's reminder to one member, if it is due before the meeting and in the window."""
    if _owed(found, m, due, since):
        found.add(Occurrence(key, kind, st.id, pid, m.id, due, m.starts_at, detail), since=since)


def _owed(found: _Found, m: Meeting, due: datetime, since: datetime) -> bool:
    """Whether a meeting's reminder due at `due` comes before the meeting and in the window."""
    return due < m.starts_at and found.wants(due, since)


def _drift_day(basis: date, cal: WorkingCalendar, policy: Policy) -> date:
    """The first working day after the longest allowed gap after a meeting on `basis`."""
    return cal.on_or_after(policy.meeting_gap_end(basis) + timedelta(days=1))


class Planner:
    """Derives reminder occurrences from group state, with calendars and policies cached."""

    def __init__(self, *, locale: Locale, settings: ReminderSettings) -> None:
        self.locale = locale
        self.settings = settings
        self.channel = Hours(*settings.channel_hours, locale.tz)
        self._calendars: dict[str, WorkingCalendar] = {}
        self._policies: dict[str, Policy] = {}
        # Statutory dates depend only on the nation and a date or two; thousands of groups share
        # them, so each is worked out once.
        self._dates: dict[tuple[Any, ...], Any] = {}
        # Action plans by window, then by (calendar, due date, hours): see `_action_plan`.
        self._windows: dict[tuple[datetime, datetime], dict[tuple[Any, ...], _ActionPlan]] = {}

    def calendar(self, case: Case | None) -> WorkingCalendar:
        """The working-day calendar for a case's nation (or the digest nation without a case)."""
        nation = case.nation if case is not None else self.settings.digest_nation
        if nation not in self._calendars:
            plain = WorkingCalendar(Nation(nation), self.locale.closure_days)
            self._calendars[nation] = FastCalendar(plain)
        return self._calendars[nation]

    def policy(self, case: Case) -> Policy:
        """The timescale policy for a case's nation."""
        if case.nation not in self._policies:
            self._policies[case.nation] = self.locale.policy(case)
        return self._policies[case.nation]

    def _once(self, key: tuple[Any, ...], make: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        found = self._dates.get(key)
        if found is None:
            found = self._dates[key] = make(*args, **kw)
        return found

    def local_date(self, when: datetime) -> date:
        """The date of `when` in the council's timezone."""
        return when.astimezone(self.locale.tz).date()

    def derive(
        self,
        state: GroupState,
        *,
        lo: datetime,
        hi: datetime,
        kinds: Collection[str] | None = None,
        people: Collection[int] | None = None,
    ) -> dict[str, Occurrence]:
        """Every reminder of one group due in [lo, hi], by key; nothing for a closed group.
        With `kinds` (`Kind` values), only the parts of derivation that yield those kinds are
        run: every occurrence of those kinds is there, exactly as in a whole derivation. With
        `people` (person ids), only the occurrences to them and to the group's space."""
        if state.group.status != GroupStatus.ACTIVE:
            return {}
        found = _Found(lo, hi, people)
        wanted = _PARTS if kinds is None else {_PART_OF[k] for k in kinds if k in _PART_OF}
        parts = {
            "meetings": self._meetings,
            "actions": self._actions,
            "deadlines": self._deadlines,
            "review_updates": self._review_updates,
            "drift": self._drift,
            "concerns": self._concerns,
        }
        for name in _PARTS:
            if name in wanted:
                parts[name](state, found)
        return found.items

    def _concerns(self, st: GroupState, found: _Found) -> None:
        """An unanswered question about a possible new concern goes to the chairs."""
        for concern in st.concerns:
            due = escalates_at(concern)
            for chair in st.chairs:
                if chair.id == concern.author_id:
                    continue
                found.add(
                    Occurrence(
                        f"concern:{concern.id}:{chair.id}",
                        Kind.CONCERN,
                        st.id,
                        chair.id,
                        concern.id,
                        due,
                    ),
                    since=concern.raised_at,
                )

    # Meetings: notices, update conversations and the brief -----------------------------------

    def _meetings(self, st: GroupState, found: _Found) -> None:
        cal, s = self.calendar(st.case), self.settings
        update_days = self.policy(st.case).update_prompt_working_days
        lead = _lead(max(*s.meeting_notice_working_days, update_days, 1))
        for m in st.meetings:
            if m.status != MeetingStatus.SCHEDULED or m.starts_at <= found.lo:
                continue
            if m.starts_at - lead > found.hi:
                continue  # even its first notice is beyond the window
            assert m.id is not None
            day, start = self.local_date(m.starts_at), _stamp(m.starts_at)
            brief = self.channel.opens(working_days_before(day, 1, cal))
            if brief < m.starts_at:
                found.add(
                    Occurrence(
                        f"brief:{m.id}:{start}", Kind.BRIEF, st.id, None, m.id, brief, m.starts_at
                    ),
                    since=m.created_at,
                )
            open_day = working_days_before(day, update_days, cal)
            nudge_day = cal.next_working_day(open_day)
            # The notice days are the same for every member: those far outside the window are
            # dropped once here, not member by member.
            notices = [
                (n, notice)
                for n in s.meeting_notice_working_days
                if found.near(notice := working_days_before(day, n, cal))
            ]
            final = m.starts_at - s.meeting_final_notice
            soon = final <= found.hi  # the next allowed moment is never earlier
            open_near, nudge_near = found.near(open_day), found.near(nudge_day)
            if not (notices or soon or open_near or nudge_near):
                continue  # none of its notices to members falls in the window

            # Each reminder's key and detail are made only once it is known to be owed.
            for ms, person in st.members:
                assert person.id is not None
                if not found.to(person.id):
                    continue
                pid, hours = person.id, st.hours(person)
                since = max(m.created_at, ms.joined_at)
                for n, notice in notices:
                    if _owed(found, m, due := hours.opens(notice), since):
                        key = f"meeting:{m.id}:{start}:{n}wd:{pid}"
                        _to_member(
                            found, st, m, key, Kind.MEETING_AHEAD, due, since, pid, {"days": n}
                        )
                if soon:
                    due = next_allowed(final, hours=hours, calendar=cal)
                    if _owed(found, m, due, since):
                        key = f"meeting:{m.id}:{start}:soon:{pid}"
                        _to_member(found, st, m, key, Kind.MEETING_SOON, due, since, pid, {})
                if not (open_near or nudge_near):
                    continue  # neither update reminder can fall in the window
                opened = hours.opens(open_day)
                if open_near and _owed(found, m, opened, since):
                    key = f"update:{m.id}:{start}:open:{pid}"
                    _to_member(found, st, m, key, Kind.UPDATE_OPEN, opened, since, pid, {})
                # No nudge about an update that was never asked for.
                if (
                    nudge_near
                    and opened > since
                    and _owed(found, m, due := hours.opens(nudge_day), since)
                ):
                    key = f"update:{m.id}:{start}:nudge:{pid}"
                    _to_member(found, st, m, key, Kind.UPDATE_NUDGE, due, since, pid, {})

    # Actions: before, on and after the due date; the chair after the second overdue nudge -----

    def _overdue_days(
        self, due_on: date, cal: WorkingCalendar, hours: Hours, hi: datetime
    ) -> list[date]:
        """The days of the overdue reminders up to `hi` (the first one even if later)."""
        days = [cal.add_working_days(due_on, self.settings.action_overdue_every_working_days)]
        while hours.opens(days[-1]) <= hi:
            days.append(
                cal.add_working_days(days[-1], self.settings.action_overdue_every_working_days)
            )
        return days

    def action_horizon(self, hi: datetime) -> date:
        """The last due date of an action that can have a reminder by `hi` (later ones have
        none yet: a bulk read leaves them out)."""
        return (hi + _lead(self.settings.action_before_working_days)).date()

    def _action_plan(
        self, cal: WorkingCalendar, due_on: date, hours: Hours, found: _Found
    ) -> _ActionPlan:
        """The reminders in the window about an action due on `due_on` to an owner with `hours`
        (each still to be checked against when the action and membership began), and the day
        of the escalation to the chairs if it can fall in the window. The same for every action
        due that day to someone with those hours: worked out once per window."""
        cache = self._windows.setdefault((found.lo, found.hi), {})
        if len(self._windows) > _WINDOWS_KEPT:  # routine re-plans move the window every tick
            self._windows.clear()
            cache = self._windows[found.lo, found.hi] = {}
        plan = cache.get((cal, due_on, hours))
        if plan is None:
            s, opens = self.settings, hours.opens
            working = cal.is_working_day(due_on)
            on_due = opens(due_on if working else cal.previous_working_day(due_on))
            overdue = self._overdue_days(due_on, cal, hours, found.hi)
            before = s.action_before_working_days
            every: list[_ActionReminder] = [
                (
                    "soon",
                    Kind.ACTION_SOON,
                    opens(working_days_before(due_on, before, cal)),
                    on_due,
                    {"days": before},
                ),
                ("due", Kind.ACTION_DUE, on_due, opens(overdue[0]), {}),
            ]
            every += [
                (f"overdue{k}", Kind.ACTION_OVERDUE, opens(day), None, {"n": k})
                for k, day in enumerate(overdue, start=1)
            ]
            inside = tuple(r for r in every if found.lo <= r[2] <= found.hi)
            n = s.escalate_after_overdue
            escalate = overdue[n - 1] if len(overdue) >= n else None
            plan = inside, escalate if escalate is not None and found.near(escalate) else None
            cache[cal, due_on, hours] = plan
        return plan

    def _actions(self, st: GroupState, found: _Found) -> None:
        cal, s = self.calendar(st.case), self.settings
        horizon = self.action_horizon(found.hi)
        for a in st.actions:
            owned = st.member(a.owner_id)
            if a.due_on > horizon or owned is None or ActionStatus(a.status).is_closed:
                continue
            assert a.id is not None
            ms, owner = owned
            inside, escalate = self._action_plan(cal, a.due_on, st.hours(owner), found)
            if not inside and escalate is None:
                continue
            since = max(a.created_at, ms.joined_at)
            base = f"action:{a.id}:{a.due_on.isoformat()}"
            for which, kind, due, not_after, detail in inside:
                if due > since:
                    found.add(
                        Occurrence(
                            f"{base}:{which}:{a.owner_id}",
                            kind,
                            st.id,
                            a.owner_id,
                            a.id,
                            due,
                            not_after,
                            dict(detail),
                        ),
                        since=since,
                    )
            if escalate is None:
                continue
            for chair in st.chairs:
                if chair.id != a.owner_id:
                    found.add(
                        Occurrence(
                            f"{base}:escalate:{chair.id}",
                            Kind.ESCALATE,
                            st.id,
                            chair.id,
                            a.id,
                            st.hours(chair).opens(escalate),
                            None,
                            {"n": s.escalate_after_overdue},
                        ),
                        since=since,
                    )

    # Statutory deadlines, to the chairs -------------------------------------------------------

    def _to_chairs(
        self,
        st: GroupState,
        found: _Found,
        *,
        key: str,
        kind: Kind,
        day: date,
        since: datetime,
        subject: int | None = None,
        writers: bool = False,
        **detail: Any,
    ) -> None:
        opens_on = self.calendar(st.case).on_or_after(day)  # each one's working morning
        if not found.near(opens_on):
            return
        for chair in st.writers if writers else st.chairs:
            assert chair.id is not None
            due = st.hours(chair).opens(opens_on)
            found.add(
                Occurrence(f"{key}:{chair.id}", kind, st.id, chair.id, subject, due, None, detail),
                since=since,
            )

    def _deadlines(self, st: GroupState, found: _Found) -> None:
        cal, s = self.calendar(st.case), self.settings
        dates = [self.local_date(m.starts_at) for m in st.meetings]
        lead = Lead(
            s.first_meeting_unbooked_working_days,
            s.next_meeting_warning_working_days,
            s.after_review_unbooked_working_days,
        )
        for r in plan_deadline_reminders(
            group_id=st.id,
            icpc=st.case.icpc_date,
            created=st.group.created_at,
            dates=dates,
            reviews=st.reviews,
            calendar=cal,
            policy=self.policy(st.case),
            lead=lead,
            tz=self.locale.tz,
            due_on=lambda which, day: self._once(
                (which, st.case.nation, day),
                statutory_due,
                which,
                day,
                calendar=cal,
                policy=self.policy(st.case),
            ),
        ):
            kind = _DEADLINE_KINDS[r.which]
            self._to_chairs(st, found, key=r.key, kind=kind, day=r.day, since=r.since, **r.detail)
        for m, held in zip(st.meetings, dates, strict=True):
            self._minutes(st, found, m, held)

    def _minutes(self, st: GroupState, found: _Found, m: Meeting, held: date) -> None:
        cal, policy = self.calendar(st.case), self.policy(st.case)
        minutes = st.minutes.get(m.id or 0)
        nation = st.case.nation
        record = (
            minutes.record_due
            if minutes
            else self._once(
                ("record", nation, held), record_deadline, meeting=held, calendar=cal, policy=policy
            ).due
        )
        send = (
            minutes.circulate_due
            if minutes
            else self._once(
                ("circulate", nation, held),
                circulate_deadline,
                meeting=held,
                calendar=cal,
                policy=policy,
            ).due
        )
        recorded = minutes.recorded_at if minutes else None
        circulated = minutes.circulated_at if minutes else None
        for done, due, kind, what in (
            (recorded, record, Kind.MINUTES_RECORD, "record"),
            (circulated, send, Kind.MINUTES_CIRCULATE, "circulate"),
        ):
            # Nothing is made for a deadline far from the window (`_to_chairs` would drop it).
            if done is None and found.near(cal.on_or_after(due)):
                self._to_chairs(
                    st,
                    found,
                    key=f"minutes:{m.id}:{due}:{what}",
                    kind=kind,
                    day=due,
                    since=m.created_at,
                    subject=m.id,
                    writers=True,
                    deadline=due.isoformat(),
                    drafted=minutes is not None,
                    published=minutes is not None and minutes.published_at is not None,
                )

    def _review_updates(self, st: GroupState, found: _Found) -> None:
        """Every agency is asked for a written update ahead of each review conference."""
        cal, policy = self.calendar(st.case), self.policy(st.case)
        held = tuple(r.held_on for r in st.reviews)
        statutory = self._once(
            ("reviews", st.case.nation, st.case.icpc_date, held),
            review_conference_deadlines,
            icpc=st.case.icpc_date,
            reviews=held,
            calendar=cal,
            policy=policy,
        )[-1].due
        known = {statutory: st.group.created_at}
        known.update({r.held_on: r.recorded_at for r in st.reviews})
        for review, recorded in known.items():
            day = working_days_before(review, self.settings.review_update_working_days, cal)
            if not found.near(day):
                continue
            aim = self._once(
                ("aim", st.case.nation, review),
                pre_review_meeting_target,
                review=review,
                calendar=cal,
                policy=policy,
            ).due
            for ms, person in st.members:
                if Role(ms.role).is_family:
                    continue
                assert person.id is not None
                found.add(
                    Occurrence(
                        f"review-update:{st.id}:{review}:{person.id}",
                        Kind.REVIEW_UPDATE,
                        st.id,
                        person.id,
                        None,
                        st.hours(person).opens(day),
                        day_start(review, self.locale.tz),
                        {"review": review.isoformat(), "aim": aim.isoformat()},
                    ),
                    since=max(recorded, ms.joined_at, st.group.created_at),
                )

    # Drift, to the chairs and the team's managers ---------------------------------------------

    def _drift(self, st: GroupState, found: _Found) -> None:
        cal, policy = self.calendar(st.case), self.policy(st.case)
        created = st.group.created_at
        people: list[Person] | None = None  # worked out once something is near the window

        def tell(
            key: str, kind: Kind, day: date, subject: int | None, since: datetime, basis: date
        ) -> None:
            nonlocal people
            people = st.overseers() if people is None else people
            for person in people:
                assert person.id is not None
                due = st.hours(person).opens(day)
                occurrence = Occurrence(
                    f"{key}:{person.id}",
                    kind,
                    st.id,
                    person.id,
                    subject,
                    due,
                    None,
                    {"since": basis.isoformat()},
                )
                found.add(occurrence, since=since)

        bases = [st.case.icpc_date, *(self.local_date(m.starts_at) for m in st.meetings)]
        for basis, following in zip(bases, [*bases[1:], None], strict=True):
            # The first working day after the limit; a meeting that very day is not drift.
            day = self._once(("drift", st.case.nation, basis), _drift_day, basis, cal, policy)
            if (following is None or following > day) and found.near(day):  # a working day
                key = f"drift:meeting:{st.id}:{basis}"
                tell(key, Kind.DRIFT_MEETING, day, None, created, basis)
        for outcome in st.outcomes:
            assert outcome.id is not None
            touched = st.touched.get(outcome.id, outcome.created_at)
            last = self.local_date(max(outcome.last_activity_at, touched))
            day = cal.on_or_after(last + timedelta(days=self.settings.outcome_idle_days))
            if found.near(day):  # each one's working morning
                key = f"drift:outcome:{outcome.id}:{last}"
                since = max(created, outcome.created_at)
                tell(key, Kind.DRIFT_OUTCOME, day, outcome.id, since, last)

    # The weekly digest, to each team manager --------------------------------------------------

    def digests(
        self,
        managers: Sequence[Person],
        *,
        platforms: dict[int, Platform],
        lo: datetime,
        hi: datetime,
    ) -> dict[str, Occurrence]:
        """Each team manager's weekly digest, on the first working day of each week in [lo, hi]."""
        cal = self.calendar(None)
        found = _Found(lo, hi)
        first = self.local_date(lo)
        monday = first - timedelta(days=first.weekday())
        while day_start(monday, self.locale.tz) <= hi:
            day = cal.on_or_after(monday)
            year, week, _ = monday.isocalendar()
            if day < monday + timedelta(days=7):  # a whole week of holidays has no digest
                for person in managers:
                    assert person.id is not None
                    hours = person_hours(person)
                    platform = platforms.get(person.team_id or 0, Platform.LOCAL)
                    found.add(
                        Occurrence(
                            f"digest:{person.id}:{year}-W{week:02d}",
                            Kind.DIGEST,
                            None,
                            person.id,
                            person.team_id,
                            hours.opens(day),
                            day_start(monday + timedelta(days=7), hours.tz),
                            {"platform": platform.value, "week": monday.isoformat()},
                        ),
                        since=person.created_at,
                    )
            monday += timedelta(days=7)
        return found.items
