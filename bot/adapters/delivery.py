"""What every adapter tells the actor when copies for others could not be delivered."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from bot.messages import Bullets, InPlace, Message, Outbound, Text, ToGroup, ToPerson
from bot.render.preview import kind_of


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
