"""Finding a time: the chair proposes 3 to 5 slots, the family ranks them (and says whether each
place feels right) on their page, members rank them in chat, and the chair sees the slots ranked
family first — a time that suits the family and a neutral venue, never presumed (seed 004) —
then books one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import mean

from sqlmodel import Session, col, select

from bot.core.access import members_of
from bot.core.errors import BadInput
from storage.enums import Role
from storage.models import MeetingSlot, SlotChoice

MIN_SLOTS, MAX_SLOTS = 3, 5
MAX_NOTE = 1000


def open_slots(session: Session, *, group_id: int) -> list[MeetingSlot]:
    """The slots proposed and not yet closed, in time order (their numbers are 1, 2, …)."""
    return list(
        session.exec(
            select(MeetingSlot)
            .where(MeetingSlot.group_id == group_id, col(MeetingSlot.closed_at).is_(None))
            .order_by(col(MeetingSlot.starts_at), col(MeetingSlot.id))
        ).all()
    )


def propose(
    session: Session,
    *,
    group_id: int,
    slots: list[tuple[datetime, str]],
    actor_id: int,
    now: datetime,
) -> list[MeetingSlot]:
    """Replace any open proposal with these 3–5 slots (time, venue)."""
    if not MIN_SLOTS <= len(slots) <= MAX_SLOTS:
        raise BadInput(
            f"Please offer {MIN_SLOTS} to {MAX_SLOTS} times, so the family has a real choice "
            f"(you gave {len(slots)}).",
            hint='For example: `/coregroup times propose "12/1 10am at Family Centre" '
            '"13/1 4pm" "15/1 11am at Oak Library"`',
        )
    if len({when for when, _ in slots}) != len(slots):
        raise BadInput("Two of those times are the same; please offer different times.")
    if any(when <= now for when, _ in slots):
        raise BadInput("Each time must be in the future.")
    close_slots(session, group_id=group_id, now=now)
    made = [
        MeetingSlot(
            group_id=group_id, starts_at=when, venue=venue, proposed_by=actor_id, proposed_at=now
        )
        for when, venue in sorted(slots)
    ]
    session.add_all(made)
    session.flush()
    return made


def close_slots(
    session: Session, *, group_id: int, now: datetime, meeting_id: int | None = None
) -> None:
    """Close the open proposal (a new one replaces it, or a slot was booked)."""
    for slot in open_slots(session, group_id=group_id):
        slot.closed_at, slot.meeting_id = now, meeting_id
        session.add(slot)
    session.flush()


def choices_of(
    session: Session, *, person_id: int, slots: list[MeetingSlot]
) -> dict[int, SlotChoice]:
    """A person's choices for these slots, by slot id."""
    ids = [s.id for s in slots]
    rows = session.exec(
        select(SlotChoice).where(
            SlotChoice.person_id == person_id, col(SlotChoice.slot_id).in_(ids)
        )
    ).all()
    return {r.slot_id: r for r in rows}


def choose(
    session: Session,
    *,
    person_id: int,
    slots: list[MeetingSlot],
    ranks: dict[int, int | None],
    venue_ok: dict[int, bool | None] | None = None,
    note: str = "",
    now: datetime,
) -> None:
    """Save someone's ranking (slot id → 1 for best, None for "can't make it") and, for the
    family, whether each place feels right and anything else about where to meet."""
    chosen = [r for r in ranks.values() if r is not None]
    if len(chosen) != len(set(chosen)):
        raise BadInput(
            "Each choice can only be used once: please give each time a different place."
        )
    if len(note) > MAX_NOTE:
        raise BadInput(f"The note about the place is too long ({MAX_NOTE:,} characters at most).")
    existing = choices_of(session, person_id=person_id, slots=slots)
    for slot in slots:
        assert slot.id is not None
        row = existing.get(slot.id) or SlotChoice(slot_id=slot.id, person_id=person_id)
        row.rank, row.at = ranks.get(slot.id), now
        if venue_ok is not None:
            row.venue_ok = venue_ok.get(slot.id)
        row.note = note.strip()
        session.add(row)
    session.flush()


@dataclass(frozen=True)
class Ranked:
    """One slot as the chair sees it: the family's view first, then the members'."""

    number: int
    slot: MeetingSlot
    family_ranks: tuple[int, ...]
    family_cant: int
    family_venue_no: int
    member_ranks: tuple[int, ...]
    member_cant: int
    notes: tuple[str, ...]

    @property
    def key(self) -> tuple[float, ...]:
        """Family first: fewest in the family who can't come, then the family's choice, then
        whether the place feels right to them, then the members'."""
        family = mean(self.family_ranks) if self.family_ranks else 99.0
        members = mean(self.member_ranks) if self.member_ranks else 99.0
        return (
            self.family_cant,
            family,
            self.family_venue_no,
            self.member_cant,
            members,
            self.slot.starts_at.timestamp(),
        )


def ranked(session: Session, *, group_id: int) -> list[Ranked]:
    """The open slots, best for the family first."""
    slots = open_slots(session, group_id=group_id)
    if not slots:
        return []
    family = {
        p.id
        for m, p in members_of(session, group_id=group_id)
        if Role(m.role).is_family or p.is_family
    }
    rows = session.exec(
        select(SlotChoice).where(col(SlotChoice.slot_id).in_([s.id for s in slots]))
    ).all()
    result = []
    for number, slot in enumerate(slots, 1):
        mine = [r for r in rows if r.slot_id == slot.id]
        fam = [r for r in mine if r.person_id in family]
        others = [r for r in mine if r.person_id not in family]
        result.append(
            Ranked(
                number=number,
                slot=slot,
                family_ranks=tuple(r.rank for r in fam if r.rank is not None),
                family_cant=sum(1 for r in fam if r.rank is None),
                family_venue_no=sum(1 for r in fam if r.venue_ok is False),
                member_ranks=tuple(r.rank for r in others if r.rank is not None),
                member_cant=sum(1 for r in others if r.rank is None),
                notes=tuple(dict.fromkeys(r.note for r in fam if r.note)),
            )
        )
    return sorted(result, key=lambda r: r.key)
