"""/coregroup share and unshare: a professional's note or update answer, shown to the family.

share                           what you wrote that is for professionals only, with buttons
share action 2                  the latest note on action 2
share action 2 note 1           note 1 of action 2 (`/coregroup action 2` numbers them)
share update worries            your answer to "worries" for the next (or last) meeting
share update @priya worries     the chair shares a member's answer
unshare …                       the same words: professionals only again
"""

from __future__ import annotations

from bot.core import plan, updates
from bot.core import sharing as core
from bot.core.access import GroupView, audit, group_by_id, hidden, require_active
from bot.core.context import Ctx
from bot.core.errors import BadInput, NotAllowed
from bot.core.meetings import latest_started, next_meeting
from bot.core.people import resolve_person
from bot.messages import Block, Button, Buttons, Context, Heading, Message, Reply, Text
from commands.parse import Args, pick
from commands.registry import Command, Registry
from storage.enums import AuditKind
from storage.models import ActionEvent, MemberUpdate, UpdateAnswer

SHARE_EXAMPLE = "/coregroup share action 2"
# How many items `share` on its own lists.
LISTED = 10
_HINT = (
    f"For example: `{SHARE_EXAMPLE}` (its latest note), `/coregroup share action 2 note 1`, "
    "`/coregroup share update worries`, or `/coregroup share` to see what you could share."
)
_QUESTIONS = {
    "going-well": "going_well",
    "going_well": "going_well",
    "working-well": "going_well",
    "well": "going_well",
    "worries": "worries",
    "worry": "worries",
    "worried": "worries",
    "must-know": "must_know",
    "must_know": "must_know",
    "know": "must_know",
    "child": "child_says",
    "voice": "child_says",
    "child-says": "child_says",
    "written": "written_update",
    "written-update": "written_update",
    "update": "written_update",
}
_WHAT = {"action": "action", "note": "action", "update": "update", "answer": "update"}


def register(registry: Registry) -> None:
    """Add `share` and `unshare`, and the buttons that share or take back one item."""
    for command in COMMANDS:
        registry.command(command)
    registry.click(core.SHARE, click_share)
    registry.click(core.UNSHARE, click_unshare)


# --- the commands -------------------------------------------------------------------------------


def share_command(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """`share …`: make one note or answer visible to the family."""
    assert view is not None
    if not args.tokens:
        return _listing(ctx, view)
    return _set(ctx, view, _named(ctx, view, args), shared=True)


def unshare_command(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """`unshare …`: make a note or answer professionals-only again."""
    assert view is not None
    if not args.tokens:
        raise BadInput("What should be for professionals only again?", hint=_unshare_hint())
    return _set(ctx, view, _named(ctx, view, args), shared=False)


def _unshare_hint() -> str:
    return _HINT.replace("/coregroup share", "/coregroup unshare").split(", or")[0] + "."


def _named(ctx: Ctx, view: GroupView, args: Args) -> core.Shareable:
    if view.is_family:
        raise NotAllowed(
            "What you write is already in your family's copy. Notes from professionals are "
            "shared by whoever wrote them, or the chair.",
            hint="If there is something you'd like to know, ask your key worker.",
        )
    what = pick(args.need("what to share", SHARE_EXAMPLE), _WHAT, what="thing", example=_HINT)
    if what == "action":
        return _action_note(ctx, view, args)
    return _update_answer(ctx, view, args)


def _action_note(ctx: Ctx, view: GroupView, args: Args) -> core.Shareable:
    number = args.take_int("the action number", SHARE_EXAMPLE)
    action = plan.action_by_number(ctx.session, group_id=view.id, number=number)
    if action is None or action.id is None or view.is_family:
        raise BadInput(
            f"There's no action {number} in the plan for {view.reference}.",
            hint="`/coregroup actions all` lists them with their numbers.",
        )
    notes = plan.notes_of(plan.history(ctx.session, action_id=action.id))
    which = None
    if args.take_keyword("note"):
        which = args.take_int("the note number", "/coregroup share action 2 note 1")
    _nothing_more(args)
    if not notes:
        raise BadInput(
            f"Action {number} has no notes to share yet.",
            hint=f"`/coregroup action {number}` shows its history.",
        )
    if which is not None and not 1 <= which <= len(notes):
        raise BadInput(
            f"Action {number} has {len(notes)} note{'s' if len(notes) != 1 else ''}, so there's "
            f"no note {which}.",
            hint=f"`/coregroup action {number}` shows its history with each note's number.",
        )
    event = notes[-1] if which is None else notes[which - 1]
    item = core.note_item(ctx.session, event=event)
    assert item is not None
    return item


def _update_answer(ctx: Ctx, view: GroupView, args: Args) -> core.Shareable:
    example = "/coregroup share update worries"
    person = ctx.actor
    first = args.peek()
    if first is not None and first.startswith(("@", "<@")):
        args.take()
        person = resolve_person(
            ctx.session,
            first.rstrip(":,;"),
            platform=ctx.platform,
            directory=ctx.directory,
            clock=ctx.clock,
            group_id=view.id,
        )
    words = [t.lower() for t in args.tokens]
    args.tokens.clear()
    key = _question_key(ctx, view, words, example)
    assert person.id is not None
    meeting = next_meeting(ctx.session, group_id=view.id, now=ctx.now()) or latest_started(
        ctx.session, group_id=view.id, now=ctx.now()
    )
    update = (
        updates.update_for(ctx.session, meeting_id=meeting.id, person_id=person.id)
        if meeting is not None and meeting.id is not None
        else None
    )
    answer = updates.answers_of(ctx.session, update=update).get(key) if update else None
    item = (
        core.answer_item(ctx.session, answer=answer, label=_label(ctx, update, key))
        if answer is not None and update is not None
        else None
    )
    if item is None:
        whose = "You haven't" if person.id == ctx.actor_id else f"{person.display_name} hasn't"
        raise BadInput(
            f"{whose} answered that question in the update for the latest meeting.",
            hint=f"`/coregroup myupdate` shows your answers. For example: `{example}`",
        )
    return item


def _question_key(ctx: Ctx, view: GroupView, words: list[str], example: str) -> str:
    if len(words) >= 2 and words[0] == "action" and words[1].lstrip("#").isdigit():
        action = plan.action_by_number(ctx.session, group_id=view.id, number=int(words[1]))
        if action is not None:
            return f"action:{action.id}:note"
    joined = "-".join(words)
    key = _QUESTIONS.get(joined) or next((_QUESTIONS[w] for w in words if w in _QUESTIONS), None)
    if key is None:
        raise BadInput(
            f"Which answer? I don't know \u201c{' '.join(words)}\u201d."
            if words
            else "Which answer should be shared?",
            hint="Say going-well, worries, must-know, child, written-update or action 2, "
            f"e.g. `{example}`.",
        )
    return key


def _label(ctx: Ctx, update: MemberUpdate, key: str) -> str:
    convo = updates.Conversation.load(ctx.session, update=update, tz=ctx.locale.tz)
    return next((q.label for q in convo.questions() if q.key == key), key)


def _nothing_more(args: Args) -> None:
    if args.tokens:
        raise BadInput(f"I didn't understand \u201c{' '.join(args.tokens)}\u201d.", hint=_HINT)


def _listing(ctx: Ctx, view: GroupView) -> Reply:
    """What the actor wrote (or, for the chair, anyone) that is for professionals only."""
    if view.is_family:
        return Reply().say(
            "What you write is already in your family's copy, so there's nothing to share."
        )
    items: list[core.Shareable] = []
    for action in reversed(plan.actions_of(ctx.session, group_id=view.id)):
        assert action.id is not None
        for event in reversed(plan.notes_of(plan.history(ctx.session, action_id=action.id))):
            if not event.shared_with_family and (view.can_manage or event.actor_id == ctx.actor_id):
                item = core.note_item(ctx.session, event=event)
                if item is not None:
                    items.append(item)
    items.sort(key=lambda i: i.row.at if isinstance(i.row, ActionEvent) else i.row.answered_at)
    items = items[-LISTED:][::-1]
    blocks: list[Block] = [Heading(f"For professionals only · {view.reference}")]
    if not items:
        blocks.append(Text("No notes on actions are waiting to be shared."))
    for item in items:
        blocks += [
            Text(f"{_sentence(item.label)}: \u201c{item.text}\u201d"[:2900]),
            Buttons((Button("Share with the family", core.SHARE, item.value),)),
        ]
    blocks.append(
        Context(
            "Update answers: `/coregroup share update worries` (or going-well, must-know, child, "
            "written-update, action 2)."
        )
    )
    return Reply().say(
        Message(text=f"{view.reference}: what you could share", blocks=tuple(blocks))
    )


# --- sharing -----------------------------------------------------------------------------------


def _may_share(ctx: Ctx, view: GroupView, item: core.Shareable) -> None:
    if view.is_family:
        raise hidden(ctx, what="share", detail=item.value)
    if item.author_id != ctx.actor_id and not view.can_manage:
        author = plan.names_of(ctx.session, [item.author_id]).get(item.author_id, "its author")
        raise NotAllowed(
            f"Only {author} (who wrote it) or the chair can change who sees {item.label}.",
            hint="Ask them, or the chair.",
        )
    if not view.can_manage and core.flagged(ctx.session, item):
        raise NotAllowed(
            f"{_sentence(item.label)} was asked about as a possible new concern, so only the "
            "chair can share it with the family.",
            hint="Ask the chair if the family should see it.",
        )


def _set(ctx: Ctx, view: GroupView, item: core.Shareable, *, shared: bool) -> Reply:
    require_active(view)
    _may_share(ctx, view, item)
    label = (
        item.label.replace("your answer", "the answer")
        if item.author_id != ctx.actor_id
        else (item.label)
    )
    if item.shared == shared:
        state = "already shared with the family" if shared else "already for professionals only"
        return Reply().say(f"{_sentence(label)} is {state}; nothing changed.")
    core.set_shared(ctx.session, item, shared=shared)
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.CHANGE,
        what="share:on" if shared else "share:off",
        detail=item.value,
    )
    if shared:
        text = (
            f"Shared {label} with the family: \u201c{item.text}\u201d. They'll see it where they "
            "look at the plan, and in their copy of minutes drafted from now on."
        )
        button = Button("Undo", core.UNSHARE, item.value)
    else:
        text = f"{_sentence(label)} is for professionals only again."
        button = Button("Share with the family", core.SHARE, item.value)
    return Reply().say(Message(text=text[:3000], blocks=(Text(text[:2900]), Buttons((button,)))))


def _clicked(ctx: Ctx, value: str, *, shared: bool) -> Reply:
    item = _item(ctx, value)
    view = group_by_id(ctx, item.group_id)
    return _set(ctx, view, item, shared=shared)


def _item(ctx: Ctx, value: str) -> core.Shareable:
    labels: dict[str, str] = {}
    kind, _, raw = value.partition(":")
    if kind == "answer" and raw.isdigit():
        answer = ctx.session.get(UpdateAnswer, int(raw))
        update = ctx.session.get(MemberUpdate, answer.update_id) if answer is not None else None
        if answer is not None and update is not None:
            labels[answer.question] = _label(ctx, update, answer.question)
    item = core.item_of(ctx.session, value, label_of=labels)
    if item is None:
        raise hidden(ctx, what="share", detail=value[:40])
    return item


def click_share(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """ "Share with the family" under a note or an answer."""
    return _clicked(ctx, value, shared=True)


def click_unshare(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """Undo a share: professionals only again."""
    return _clicked(ctx, value, shared=False)


COMMANDS = (
    Command(
        name="share",
        summary="show a note or update answer you wrote to the family (they don't see it until "
        "you do)",
        usage="share [action 2 [note 1] | update [@name] worries]",
        examples=(
            SHARE_EXAMPLE,
            "/coregroup share action 2 note 1",
            "/coregroup share update worries",
            "/coregroup share update @priya going-well",
            "/coregroup share",
        ),
        handler=share_command,
        topic="Plan",
    ),
    Command(
        name="unshare",
        summary="make a note or answer you shared for professionals only again",
        usage="unshare action 2 [note 1] | unshare update [@name] worries",
        examples=("/coregroup unshare action 2", "/coregroup unshare update worries"),
        handler=unshare_command,
        topic="Plan",
    ),
)


def _sentence(text: str) -> str:
    """`text` with its first letter upper-cased and the rest as written (a question, a name)."""
    return text[:1].upper() + text[1:]
