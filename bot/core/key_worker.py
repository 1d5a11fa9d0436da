"""Exactly one key worker per group: who it is, when leaving needs a successor, handing over."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.core.errors import BadInput
from storage.enums import Role
from storage.models import Membership

SOCIAL_WORK = (Role.KEY_WORKER, Role.SOCIAL_WORKER)


def _active(session: Session, group_id: int, *roles: Role) -> list[Membership]:
    return list(
        session.exec(
            select(Membership).where(
                Membership.group_id == group_id,
                col(Membership.active).is_(True),
                col(Membership.role).in_(roles),
            )
        ).all()
    )


def current(session: Session, *, group_id: int) -> Membership | None:
    """The group's key worker's membership, if the group has one."""
    rows = _active(session, group_id, Role.KEY_WORKER)
    return rows[0] if rows else None


def needs_successor(session: Session, *, row: Membership) -> bool:
    """Whether this member can only leave (or change role) once someone takes over: the key
    worker, or the group's last social worker."""
    if row.role == Role.KEY_WORKER:
        return True
    others = [m for m in _active(session, row.group_id, *SOCIAL_WORK) if m.id != row.id]
    return row.role == Role.SOCIAL_WORKER and not others


def take_over(session: Session, *, row: Membership, name: str) -> None:
    """Make this member the key worker; the one before stays in the group as a social worker."""
    if Role(row.role).is_family:
        raise BadInput(
            f"Family members can't be the key worker, so {name} can't take over.",
            hint="Name a social worker in the group, e.g. `/coregroup key-worker @alex`.",
        )
    for before in _active(session, row.group_id, Role.KEY_WORKER):
        if before.id != row.id:
            before.role = Role.SOCIAL_WORKER
            session.add(before)
    row.role = Role.KEY_WORKER
    session.add(row)
    session.flush()
