"""Reading update rows: an update's answers, a member's update for a meeting, and the update a
direct message answers."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.enums import GroupStatus, MeetingStatus, UpdateState
from storage.models import CoreGroup, Meeting, Membership, MemberUpdate, UpdateAnswer


def answers_of(session: Session, *, update: MemberUpdate) -> dict[str, UpdateAnswer]:
    """An update's answers, by question."""
    rows = session.exec(select(UpdateAnswer).where(UpdateAnswer.update_id == update.id)).all()
    return {row.question: row for row in rows}


def update_for(session: Session, *, meeting_id: int, person_id: int) -> MemberUpdate | None:
    """A member's update for a meeting, if the conversation was ever opened."""
    return session.exec(
        select(MemberUpdate).where(
            MemberUpdate.meeting_id == meeting_id, MemberUpdate.person_id == person_id
        )
    ).first()


def active_update(session: Session, *, person_id: int, now: datetime) -> MemberUpdate | None:
    """The update conversation a member's direct message answers: the one asked most recently.

    Only in-progress updates for booked meetings still to come, in active groups the person is
    still a member of.
    """
    return session.exec(
        select(MemberUpdate)
        .join(Meeting, col(Meeting.id) == MemberUpdate.meeting_id)
        .join(CoreGroup, col(CoreGroup.id) == Meeting.group_id)
        .join(
            Membership,
            (col(Membership.group_id) == Meeting.group_id)
            & (col(Membership.person_id) == MemberUpdate.person_id),
        )
        .where(
            MemberUpdate.person_id == person_id,
            MemberUpdate.state == UpdateState.IN_PROGRESS,
            Meeting.status == MeetingStatus.SCHEDULED,
            col(Meeting.starts_at) > now,
            CoreGroup.status == GroupStatus.ACTIVE,
            col(Membership.active).is_(True),
        )
        .order_by(col(MemberUpdate.updated_at).desc(), col(MemberUpdate.id).desc())
    ).first()
