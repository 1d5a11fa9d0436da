"""Deciding what goes out now: claimed rows checked against the current state, then merged.

Sending re-derives the groups it is about to remind, so nothing stale goes out even if
planning has not caught up, then merges what is due for one person into one message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Any

from sqlmodel import Session, col, select

from bot.core.calendar import WorkingCalendar
from bot.core.reminders.asking import UpdateFacts, load_update_facts, record_asked
from bot.core.reminders.briefing import load_brief_facts
from bot.core.reminders.digest import Watched, load_watched
from bot.core.reminders.ledger import defer, set_aside, set_batch_keys
from bot.core.reminders.message import (
    Outgoing,
    Part,
    Prepared,
    Recipient,
    batch_key,
    compose,
    recipient_of,
)
from bot.core.reminders.plan import Planner, derivation_reads
from bot.core.reminders.settings import (
    NOT_SNOOZABLE,
    NOTICE_KINDS,
    Kind,
    Occurrence,
)
from bot.core.reminders.state import GroupState, load_states
from bot.core.reminders.wording import (
    ActionFacts,
    build_part,
    load_action_facts,
    wording_reads,
)
from bot.core.updates import BriefFacts
from bot.core.working_hours import (
    Hours,
    is_allowed,
    next_allowed,
    person_hours,
)
from bot.messages import (
    ToPerson,
)
from storage.enums import (
    GroupStatus,
    ReminderStatus,
)
from storage.models import (
    Person,
    Reminder,
)


def _origin_key(row: Reminder) -> str:
    """The key of the occurrence a row stands for (a snoozed copy stands for its original)."""
    if row.dedup_key.startswith("snooze:"):
        return str((row.payload or {}).get("of", row.dedup_key))
    return row.dedup_key


def _nominal(row: Reminder, occurrence: Occurrence | None) -> datetime:
    if row.payload and "nominal" in row.payload:
        return datetime.fromisoformat(row.payload["nominal"])
    return occurrence.due_at if occurrence is not None else row.due_at


_FAMILY = {
    Kind.MEETING_AHEAD: "meeting",
    Kind.MEETING_SOON: "meeting",
    Kind.UPDATE_OPEN: "update",
    Kind.UPDATE_NUDGE: "update",
    Kind.ACTION_SOON: "action",
    Kind.ACTION_DUE: "action",
    Kind.ACTION_OVERDUE: "action",
}


def _supersede_key(row: Reminder) -> tuple[Any, ...]:
    kind = Kind(row.kind)
    if kind in NOTICE_KINDS:
        return (kind, row.id)
    return (_FAMILY.get(kind, kind.value), row.group_id, row.subject_id, row.person_id)


def _rank(row: Reminder, occurrence: Occurrence | None) -> tuple[int, datetime, int]:
    # Of two update reminders the opening question wins; otherwise the latest occurrence does.
    first = 1 if row.kind == Kind.UPDATE_OPEN else 0
    return first, _nominal(row, occurrence), row.id or 0


class Triage:
    """Checks claimed rows against the current state: still wanted, still in time, in hours."""

    def __init__(
        self, session: Session, *, planner: Planner, now: datetime, read_at: datetime | None = None
    ) -> None:
        self.session, self.planner, self.now = session, planner, now
        self.read_at = max(now, read_at or now)
        self.states: dict[int, GroupState] = {}
        self.people: dict[int, Person] = {}
        self._derived: dict[int | None, dict[str, Occurrence]] = {}
        self.facts: ActionFacts | None = None
        self.updates = UpdateFacts({}, {})
        self.briefs: dict[int, BriefFacts] = {}
        self.watched: dict[int, list[Watched]] = {}

    def load(self, rows: Sequence[Reminder]) -> None:
        """Load the groups and people the rows are about."""
        kinds_of: dict[int, set[str]] = defaultdict(set)
        for row in rows:
            if row.group_id is not None:
                kinds_of[row.group_id].add(row.kind)
        # Each group's state as far as checking and wording its rows' kinds read it.
        reads = {g: derivation_reads(k) | wording_reads(k) for g, k in kinds_of.items()}
        self.states = load_states(self.session, kinds_of, reads=reads)
        self.facts = load_action_facts(self.session, rows, self.states)
        ids = {r.person_id for r in rows if r.person_id is not None}
        members = {p.id: p for s in self.states.values() for _, p in s.members}
        self.people = {i: members[i] for i in ids if i in members}
        if others := ids - set(self.people):  # team managers, and people who left a group
            found = self.session.exec(select(Person).where(col(Person.id).in_(others))).all()
            self.people.update({p.id: p for p in found if p.id is not None})
        settings = self.planner.settings
        hi = self.now + settings.horizon
        by_group: dict[int | None, list[Reminder]] = defaultdict(list)
        for row in rows:
            by_group[row.group_id].append(row)
        for gid, mine in by_group.items():
            lo = min(r.created_at for r in mine) - settings.catch_up - timedelta(days=1)
            if gid is None:
                managers = [
                    self.people[r.person_id]
                    for r in mine
                    if r.person_id in self.people and self.people[r.person_id].is_team_manager
                ]
                self._derived[None] = self.planner.digests(managers, platforms={}, lo=lo, hi=hi)
            elif gid in self.states:
                # Only the kinds of the rows in hand (the occurrence a row stands for has its kind)
                # and its person: nothing is derived for the members who have no row in hand.
                kinds = {r.kind for r in mine}
                people = {r.person_id for r in mine if r.person_id is not None}
                self._derived[gid] = self.planner.derive(
                    self.states[gid], lo=lo, hi=hi, kinds=kinds, people=people
                )

    def occurrence(self, row: Reminder) -> Occurrence | None:
        """The occurrence a row stands for, as derived from the state now."""
        return self._derived.get(row.group_id, {}).get(_origin_key(row))

    def verdict(self, row: Reminder) -> tuple[str, datetime | None] | None:
        """None when the row may go now; else why not, and when to try again (None: never)."""
        state = self.states.get(row.group_id or 0)
        if row.group_id is not None and (state is None or state.group.status != GroupStatus.ACTIVE):
            return "the group is closed", None
        if row.person_id is not None and row.person_id not in self.people:
            return "the person is gone", None
        if row.kind in NOTICE_KINDS:
            return None
        occurrence = self.occurrence(row)
        if occurrence is None:
            return "no longer applies", None
        not_after = row.not_after if row.dedup_key.startswith("snooze:") else occurrence.not_after
        if not_after is not None and not_after <= self.read_at:
            return "too late", None
        if not row.dedup_key.startswith("snooze:") and occurrence.due_at > self.now:
            return "not due yet", occurrence.due_at
        return None

    def hours(self, row: Reminder) -> tuple[Hours, WorkingCalendar]:
        """The window a row's message must arrive in, and the calendar of its group's nation."""
        state = self.states.get(row.group_id or 0)
        calendar = self.planner.calendar(state.case if state else None)
        if row.person_id is None:
            return self.planner.channel, calendar
        return person_hours(self.people[row.person_id]), calendar


def prepare(
    session: Session,
    rows: Sequence[Reminder],
    *,
    planner: Planner,
    now: datetime,
    read_at: datetime | None = None,
) -> Prepared:
    """Turn claimed rows into merged messages; drop the stale, defer what may not go yet.
    `read_at`: when a catch-up's messages are read (later than `now`), for staleness."""
    result = Prepared()
    triage = Triage(session, planner=planner, now=now, read_at=read_at)
    triage.load(rows)
    keep: dict[tuple[Any, ...], Reminder] = {}
    for row in rows:
        verdict = triage.verdict(row)
        if verdict is not None:
            reason, later = verdict
            if later is not None:
                defer(session, row, until=later)
                result.deferred += 1
            else:
                set_aside(session, row, status=ReminderStatus.DROPPED, reason=reason)
                result.dropped += 1
            continue
        slot = _supersede_key(row)
        rival = keep.get(slot)
        if rival is not None:
            loser, winner = sorted((rival, row), key=lambda r: _rank(r, triage.occurrence(r)))
            keep[slot] = winner
            set_aside(session, loser, status=ReminderStatus.DROPPED, reason="superseded")
            result.dropped += 1
        else:
            keep[slot] = row
    by_recipient: dict[Recipient, list[Reminder]] = defaultdict(list)
    for row in sorted(keep.values(), key=lambda r: (r.due_at, r.id or 0)):
        hours, calendar = triage.hours(row)
        if not is_allowed(now, hours=hours, calendar=calendar):
            defer(session, row, until=next_allowed(now, hours=hours, calendar=calendar))
            result.deferred += 1
            continue
        state = triage.states.get(row.group_id or 0)
        by_recipient[recipient_of(row, state.group if state else None)].append(row)
    messages = []
    # The update rows the chunk's questions need exist before wording (so an answer has
    # somewhere to go); wording only reads: what it decides (dropped, deferred, batch keys,
    # the questions asked) is written after it.
    wording = [r for mine in by_recipient.values() for r in mine]
    triage.updates = load_update_facts(session, wording, now=now)
    triage.briefs = load_brief_facts(session, wording, triage.states)
    managers = [triage.people.get(r.person_id or 0) for r in wording if r.kind == Kind.DIGEST]
    triage.watched = load_watched(
        session,
        team_ids={p.team_id for p in managers if p is not None and p.team_id is not None},
        today=planner.local_date(now),
    )
    with session.no_autoflush:
        for recipient, mine in by_recipient.items():
            outgoing = _outgoing(session, recipient, mine, triage=triage, now=now)
            result.dropped += len(mine) - sum(len(o.rows) for o in outgoing)
            messages.append(outgoing)
    # Everyone's first message, then anyone's second: a platform paces each channel (Slack about
    # one message a second), so a person's two messages are best sent apart.
    result.outgoing = [o for turn in zip_longest(*messages) for o in turn if o is not None]
    session.flush()
    set_batch_keys(session, result.outgoing)
    record_asked(session, triage.updates)
    return result


def _outgoing(
    session: Session, recipient: Recipient, rows: list[Reminder], *, triage: Triage, now: datetime
) -> list[Outgoing]:
    parts: list[Part] = []
    sending: list[Reminder] = []
    for row in rows:
        state = triage.states.get(row.group_id or 0)
        person = triage.people.get(row.person_id or 0)
        part = build_part(
            session,
            row=row,
            occurrence=triage.occurrence(row),
            state=state,
            person=person,
            planner=triage.planner,
            now=now,
            updates=triage.updates,
            briefs=triage.briefs,
            watched=triage.watched,
            facts=triage.facts,
        )
        if part is None:
            set_aside(session, row, status=ReminderStatus.DROPPED, reason="nothing to send")
            continue
        parts.append(part)
        sending.append(row)
    if not sending:
        return []
    # A question the next reply answers (an update) goes alone: nothing merged into it can
    # catch the answers meant for it. The rest share one message.
    news = [(p, r) for p, r in zip(parts, sending, strict=True) if not p.conversation]
    batches = [news] if news else []
    batches += [[(p, r)] for p, r in zip(parts, sending, strict=True) if p.conversation]
    result = []
    for batch in batches:
        rows = [r for _, r in batch]
        key = batch_key(rows)
        snooze = None
        if isinstance(recipient.to, ToPerson):
            snooze = next((r.id for r in rows if r.kind not in NOT_SNOOZABLE), None)
        message = compose([p for p, _ in batch], key=key, snooze=snooze)
        result.append(Outgoing(recipient, rows, message))
    return result
