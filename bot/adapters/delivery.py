"""What every adapter tells the actor when copies for others could not be delivered."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Engine

from bot.core.groups import chairs
from bot.core.ports import DeliveryError
from bot.core.reminders.ledger import refused_after_all
from bot.messages import Bullets, Heading, InPlace, Message, Outbound, Text, ToGroup, ToPerson
from bot.render.preview import kind_of
from storage.db import session_scope
from storage.models import Case, CoreGroup

log = logging.getLogger(__name__)


def describe(to: object) -> str:
    """A destination for a log line: ids only, never names."""
    match to:
        case ToGroup(group_id=group_id):
            return f"to group {group_id}"
        case ToPerson(person_id=person_id):
            return f"to person {person_id}"
        case InPlace():
            return "in place"
    return "to the actor"


def undelivered_report(
    outbound: Sequence[Outbound],
    failed: Sequence[Outbound],
    names: Callable[[Iterable[int]], dict[int, str]],
) -> Message | None:
    """A private note naming the copies for others the platform refused; None if all went."""
    lost = [o for o in failed if isinstance(o.to, ToGroup | ToPerson)]
    if not lost:
        return None
    meant = [o for o in outbound if isinstance(o.to, ToGroup | ToPerson)]
    who = names([o.to.person_id for o in lost if isinstance(o.to, ToPerson)])
    lines = []
    for item in lost:
        kind = kind_of(item.message)
        if isinstance(item.to, ToPerson):
            lines.append(f"{kind} for {who.get(item.to.person_id, 'a member')}")
        else:
            lines.append(f"{kind} for the group's space")
    return Message(
        text=f"{len(lost)} not delivered",
        kind="not delivered",
        blocks=(
            Text(
                f"Not delivered: {len(lost)} of the {len(meant)} messages this sends to others "
                "could not be delivered, so they have not seen them:"
            ),
            Bullets(tuple(lines)),
            Text(
                "Everything else is done and recorded. Try again later, and if it keeps "
                "happening ask your administrator to check Core Group Bot's access."
            ),
        ),
    )


def refused_for_good(
    engine: Engine,
    *,
    refs: Sequence[str],
    group_id: int | None,
    error: str,
    now: datetime,
    send: Callable[[ToPerson, Message], object],
    lost: str,
) -> None:
    """After the platform refused for good a post it had kept to send later (`refs`: the refs
    `send` returned for it): reminders it carried are failed after all and their chairs told
    through the ledger; else, for a group's post, its chairs are told privately through `send`
    (`lost` names the post in a log line: ids only)."""
    with session_scope(engine) as session:
        if refused_after_all(session, refs=refs, error=error, now=now) or group_id is None:
            return
        group = session.get(CoreGroup, group_id)
        case = session.get(Case, group.case_id) if group is not None else None
        if case is None:
            return
        told = [c.id for c in chairs(session, group_id=group_id) if c.id is not None]
        message = space_not_delivered(case.reference)
    for person_id in told:
        try:
            send(ToPerson(person_id), message)
        except DeliveryError as exc:
            log.error("could not tell chair %s of %s: %s", person_id, lost, exc)


def space_not_delivered(reference: str) -> Message:
    """A chair's private note that a message to the group's space could not be delivered."""
    return Message(
        text=f"{reference}: a message to the group could not be delivered",
        kind="not delivered",
        blocks=(
            Heading(f"A message to the group wasn't delivered · {reference}"),
            Text(
                f"A message for the group's space for {reference} could not be delivered: the "
                "platform refused it, so the members have not seen it. Please pass on anything "
                "that matters another way, and ask your administrator to check Core Group Bot's "
                "access to the group's space."
            ),
        ),
    )
