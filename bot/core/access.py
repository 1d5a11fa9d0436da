"""Who may see or do what — the one place authorisation is decided, and where it is audited.

Rules: active members see their group; chair and key worker manage it; a team manager sees and
manages the groups of their team; the case's conference chair, once told of a disagreement in the
group, may read its status and minutes (nothing else, and never change them); anyone else gets
NotFound, worded exactly as for a group that
does not exist, so they cannot even learn that it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists
from sqlmodel import Session, and_, col, func, or_, select

from bot.core.context import Ctx
from bot.core.errors import BadInput, NotAllowed, NotFound
from storage.enums import AuditKind, GroupStatus, Role
from storage.models import AuditEntry, Case, CoreGroup, Disagreement, Membership, Person


@dataclass
class GroupView:
    """A group as seen by the actor: the rows, and the actor's standing in it."""

    group: CoreGroup
    case: Case
    membership: Membership | None
    is_manager: bool  # team manager of the group's team
    is_observer: bool = False  # the conference chair told of a disagreement: reads only

    @property
    def id(self) -> int:
        """The group's id."""
        assert self.group.id is not None
        return self.group.id

    @property
    def reference(self) -> str:
        """The case reference: the only identifier shown in chat."""
        return self.case.reference

    @property
    def can_manage(self) -> bool:
        """Chair, key worker or the team's manager may manage the group."""
        m = self.membership
        return self.is_manager or (m is not None and (m.is_chair or m.role == Role.KEY_WORKER))

    @property
    def is_family(self) -> bool:
        """Whether the actor sees the family view of the group."""
        m = self.membership
        return m is not None and not self.is_manager and Role(m.role).is_family

    @property
    def is_active(self) -> bool:
        """Whether the group is still open."""
        return self.group.status == GroupStatus.ACTIVE


DENIALS = "denied"  # session.info key: the refusals audited in a request, kept past a rollback


def audit(ctx: Ctx, *, group_id: int | None, kind: AuditKind, what: str, detail: str = "") -> None:
    """Append to the audit log (never contains the child's name: only ids and references).

    A refusal is also noted on the session, so the dispatch boundary can record it again after
    the refusal's error rolled the request back (see `denials`)."""
    entry = AuditEntry(
        at=ctx.now(),
        actor_id=ctx.actor.id,
        group_id=group_id,
        kind=kind,
        what=what,
        detail=detail[:500],
    )
    ctx.session.add(entry)
    if kind == AuditKind.DENIED:
        ctx.session.info.setdefault(DENIALS, []).append((group_id, what, entry.detail))


def denials(session: Session) -> list[tuple[int | None, str, str]]:
    """The refusals `audit` noted on `session`: (group id, what, detail)."""
    return list(session.info.get(DENIALS, []))


def audit_reads(ctx: Ctx, *, group_ids: Sequence[int], what: str) -> None:
    """One read entry per group looked at; chained into the audit log at commit with the
    request's other entries, inserted together (storage.models holds them until then)."""
    at, actor = ctx.now(), ctx.actor.id
    ctx.session.add_all(
        AuditEntry(at=at, actor_id=actor, group_id=g, kind=AuditKind.READ, what=what, detail="")
        for g in group_ids
    )


# For the family: the same reply whether the group is not there or not theirs.
FAMILY_NOT_FOUND = ("I can't find that.", "Check what you typed, or ask your key worker.")
FAMILY_NOT_YOURS = (
    "That's something your key worker does.",
    "If you'd like it done or changed, ask your key worker.",
)
FAMILY_CLOSED = (
    "The group supporting your family has finished its work, so nothing can be changed now.",
    "You can still read what was agreed. If you have questions, ask your key worker.",
)


def _not_found(reference: str | None) -> NotFound:
    shown = f" matching {reference}" if reference else ""
    return NotFound(
        f"I can't find a core group{shown} that you belong to.",
        hint="Check the case reference, or ask the group's chair to add you.",
        family=FAMILY_NOT_FOUND,
    )


def _standing(
    ctx: Ctx,
    group: CoreGroup,
    case: Case,
    membership: Membership | None,
    *,
    chair_told: bool = False,
) -> GroupView | None:
    """The actor's view of a group given their membership there (None: not theirs to see);
    `chair_told`: the case's conference chair was told of a disagreement in it."""
    actor = ctx.actor
    is_manager = bool(
        actor.is_team_manager and actor.team_id is not None and actor.team_id == group.team_id
    )
    if membership is None and not is_manager:
        if case.conference_chair_id == actor.id and chair_told:
            return GroupView(group, case, None, is_manager=False, is_observer=True)
        return None
    return GroupView(group=group, case=case, membership=membership, is_manager=is_manager)


def _told_chair(group_id: object) -> ColumnElement[bool]:
    """Whether the case's conference chair was told of a disagreement in the group."""
    return exists(
        select(Disagreement.id).where(
            Disagreement.group_id == group_id, col(Disagreement.chair_told_at).is_not(None)
        )
    )


def _view(ctx: Ctx, group: CoreGroup, case: Case) -> GroupView | None:
    membership = ctx.session.exec(
        select(Membership).where(
            Membership.group_id == group.id,
            Membership.person_id == ctx.actor.id,
            col(Membership.active).is_(True),
        )
    ).first()
    told = membership is None and case.conference_chair_id == ctx.actor.id
    if told:
        told = bool(ctx.session.exec(select(_told_chair(group.id))).one())
    return _standing(ctx, group, case, membership, chair_told=told)


def _visible(
    ctx: Ctx, *, include_closed: bool, observing: bool, reference: str | None = None
) -> list[GroupView]:
    """The groups the actor may see (only the one with `reference` if given), in one query;
    `observing` (reading status or minutes) adds those they are the conference chair told of."""
    actor = ctx.actor
    mine = and_(
        col(Membership.group_id) == CoreGroup.id,
        Membership.person_id == actor.id,
        col(Membership.active).is_(True),
    )
    told = and_(col(Case.conference_chair_id) == actor.id, _told_chair(CoreGroup.id))
    query = (
        select(CoreGroup, Case, Membership, told.label("told"))
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .outerjoin(Membership, mine)
    )
    seen: list[ColumnElement[bool]] = [col(Membership.id).is_not(None)]
    if observing:
        seen.append(told)
    if actor.is_team_manager and actor.team_id is not None:
        seen.append(col(CoreGroup.team_id) == actor.team_id)
    query = query.where(or_(*seen))
    if not include_closed:
        query = query.where(CoreGroup.status == GroupStatus.ACTIVE)
    if reference is not None:
        query = query.where(func.lower(Case.reference) == reference.casefold())
    rows = ctx.session.exec(query.order_by(Case.reference)).all()
    views = [_standing(ctx, g, c, m, chair_told=bool(t)) for g, c, m, t in rows]
    return [v for v in views if v is not None and (observing or not v.is_observer)]


def visible_groups(
    ctx: Ctx, *, include_closed: bool = False, observing: bool = False
) -> list[GroupView]:
    """Every group the actor may see: their memberships, for managers their team's groups, and
    `observing` (reading status or minutes), those they are the conference chair told of."""
    return _visible(ctx, include_closed=include_closed, observing=observing)


def group_by_id(ctx: Ctx, group_id: int) -> GroupView:
    """The group with this id if the actor may see it; NotFound otherwise (and audited)."""
    row = ctx.session.exec(
        select(CoreGroup, Case)
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .where(CoreGroup.id == group_id)
    ).first()
    view = _view(ctx, *row) if row else None
    if view is None or view.is_observer:  # buttons act on the group: observers only read
        audit(ctx, group_id=None, kind=AuditKind.DENIED, what="group", detail=f"id={group_id}")
        raise _not_found(None)
    return view


def hidden(ctx: Ctx, *, what: str, detail: str) -> NotFound:
    """Audit a denied look-up (ids only); return the NotFound to raise, worded as for no group."""
    audit(ctx, group_id=None, kind=AuditKind.DENIED, what=what, detail=detail)
    return _not_found(None)


def _space_of(ctx: Ctx) -> tuple[CoreGroup, Case] | None:
    """The group whose space the request came from, whoever may see it."""
    if not ctx.channel_id:
        return None
    row = ctx.session.exec(
        select(CoreGroup, Case)
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .where(CoreGroup.channel_id == ctx.channel_id, CoreGroup.platform == ctx.platform)
    ).first()
    return (row[0], row[1]) if row else None


def group_for_channel(ctx: Ctx) -> GroupView | None:
    """The group whose space the request came from, if the actor may see it."""
    row = _space_of(ctx)
    view = _view(ctx, *row) if row else None
    return None if view is None or view.is_observer else view


def observer_only(view: GroupView) -> NotAllowed:
    """The refusal for the conference chair doing more than reading status and minutes."""
    return NotAllowed(
        "As the conference chair you can read the status and minutes of the core group for "
        f"{view.reference}, but not change anything or see more.",
        hint=f"`/coregroup status {view.reference}` or `/coregroup minutes {view.reference}`. "
        "To take part, ask the chair to add you.",
    )


def resolve_group(
    ctx: Ctx, reference: str | None, *, include_closed: bool = False, observing: bool = False
) -> GroupView:
    """Find the group a request is about: named by reference, implied by channel, or the only one.

    A conference chair told of a disagreement finds the group only when `observing` (reading
    its status or minutes); for anything else they are told they may only read.

    A reference the actor cannot see gives the same NotFound as one that does not exist; so does
    a group's space whose group they cannot see. "Your only group" is for direct messages and
    spaces that belong to no group.
    """
    if reference:
        for view in _visible(ctx, include_closed=True, observing=True, reference=reference):
            if view.reference.casefold() == reference.casefold():
                if view.is_observer and not observing:
                    raise observer_only(view)
                if not include_closed and not view.is_active:
                    raise BadInput(
                        f"The core group for {view.reference} is closed.", family=FAMILY_CLOSED
                    )
                return view
        audit(ctx, group_id=None, kind=AuditKind.DENIED, what="group", detail=f"ref={reference}")
        raise _not_found(reference)
    space = _space_of(ctx)
    if space is not None:
        # A group's space means that group only: never the actor's other group, even when they
        # cannot see this one (still in the channel after a failed removal, a Teams channel).
        here = _view(ctx, *space)
        if here is not None and (observing or not here.is_observer):
            return here
        # Not theirs: answered as in a space of no group, except that their only group is never
        # taken for it; they are asked which group they mean.
        audit(ctx, group_id=space[0].id, kind=AuditKind.DENIED, what="group", detail="space")
    mine = visible_groups(ctx, include_closed=include_closed, observing=observing)
    if len(mine) == 1 and space is None:
        return mine[0]
    if not mine:  # worded as anywhere else, so a space tells a stranger nothing
        raise NotFound(
            "You're not in any core group yet.",
            hint="Start one with `/coregroup new CP-2026-0142 icpc 18/12/2026`, "
            "or ask a chair to add you.",
            family=(
                "You're not in a group with me at the moment.",
                "If you think you should be, ask your key worker.",
            ),
        )
    refs = ", ".join(v.reference for v in mine[:10])
    raise BadInput(
        "Which core group do you mean?",
        hint=f"Add the case reference, e.g. `/coregroup status {mine[0].reference}`. "
        f"Your groups: {refs}.",
    )


def require_manager(view: GroupView, doing: str) -> None:
    """Raise NotAllowed unless the actor chairs, is key worker for, or manages the group."""
    if view.is_observer:
        raise observer_only(view)
    if not view.can_manage:
        raise NotAllowed(
            f"Only the chair or key worker can {doing} for {view.reference}.",
            hint="Ask the chair, or ask them to make you a co-chair with `/coregroup chair @you`.",
            family=FAMILY_NOT_YOURS,
        )


def require_member(view: GroupView, doing: str) -> Membership:
    """The actor's membership, or NotAllowed for a manager who is not a member."""
    if view.is_observer:
        raise observer_only(view)
    if view.membership is None:
        raise NotAllowed(
            f"Only members of the core group for {view.reference} can {doing}.",
            hint="Managers can see the group; ask the chair to add you as a member to take part.",
        )
    return view.membership


def require_active(view: GroupView) -> None:
    """Refuse changes to a closed group."""
    if not view.is_active:
        raise BadInput(
            f"The core group for {view.reference} is closed, so it can't be changed.",
            hint="Its record stays available to members; start a new group if the plan resumes.",
            family=FAMILY_CLOSED,
        )


def members_of(session: Session, *, group_id: int) -> list[tuple[Membership, Person]]:
    """The group's current members with their people, chairs first."""
    rows = session.exec(
        select(Membership, Person)
        .join(Person, col(Person.id) == Membership.person_id)
        .where(Membership.group_id == group_id, col(Membership.active).is_(True))
        .order_by(col(Membership.is_chair).desc(), col(Membership.id))
    ).all()
    return [(m, p) for m, p in rows]


def takes_part_as_family(session: Session, *, group_id: int, person_id: int) -> bool:
    """Whether someone is in the group as family (their role there, else their own record)."""
    membership = session.exec(
        select(Membership).where(Membership.group_id == group_id, Membership.person_id == person_id)
    ).first()
    if membership is not None:
        return Role(membership.role).is_family
    person = session.get(Person, person_id)
    return bool(person and person.is_family)


def has_family(session: Session, *, group_id: int) -> bool:
    """Whether any current member takes part as family (they can see the group's space)."""
    return any(Role(m.role).is_family for m, _ in members_of(session, group_id=group_id))


def active_members(ctx: Ctx, group_id: int) -> list[tuple[Membership, Person]]:
    """The group's current members with their people, chairs first."""
    return members_of(ctx.session, group_id=group_id)
