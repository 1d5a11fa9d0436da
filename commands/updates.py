"""/coregroup commands for pre-meeting updates: `updates` (ask everyone now), `myupdate` (see and
change your answers), `brief` (the pre-meeting brief); the quick-answer and change buttons; and
the listener that carries each member's update conversation in their direct messages."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from bot.core import updates as core
from bot.core.access import (
    GroupView,
    audit,
    group_by_id,
    members_of,
    require_active,
    require_manager,
    require_member,
)
from bot.core.context import Ctx
from bot.core.errors import BadInput, NotFound
from bot.core.meetings import format_when, latest_started, next_meeting
from bot.messages import (
    Block,
    Bullets,
    Context,
    Heading,
    InPlace,
    Message,
    Reply,
    Text,
    ToGroup,
    ToPerson,
)
from commands import plain_words
from commands.parse import Args
from commands.registry import Command, Registry
from storage.enums import AuditKind, UpdateState
from storage.models import Meeting, MemberUpdate, UpdateAnswer

SCHEDULE_HINT = 'Book one first, e.g. `/coregroup schedule next Tue 2pm at "Family Centre"`.'


def register(registry: Registry) -> None:
    """Add the update commands, their buttons, and the conversation listener."""
    for command in COMMANDS:
        registry.command(command)
    registry.click(core.ANSWER, answer_click)
    registry.click(core.CHANGE, change_click)
    registry.click(plain_words.ANSWER, plain_click)


def _next(ctx: Ctx, view: GroupView) -> Meeting:
    meeting = next_meeting(ctx.session, group_id=view.id, now=ctx.now())
    if meeting is None:
        raise BadInput(f"No meeting is booked for {view.reference}.", hint=SCHEDULE_HINT)
    return meeting


def _no_more(args: Args, example: str) -> None:
    if args.tokens:
        raise BadInput(
            f"I didn't understand \u201c{' '.join(args.tokens)}\u201d.",
            hint=f"For example: `{example}`",
        )


# --- commands -----------------------------------------------------------------------------------


def request_updates(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Open every member's update conversation for the next meeting now."""
    assert view is not None
    require_active(view)
    require_manager(view, "ask members for their updates")
    _no_more(args, "/coregroup updates")
    meeting = _next(ctx, view)
    asked, done, questions = [], [], []
    for membership, person in members_of(ctx.session, group_id=view.id):
        assert person.id is not None
        message = core.open_update(
            ctx.session, meeting=meeting, person=person, now=ctx.now(), tz=ctx.locale.tz
        )
        who = core.member_label(person, membership)
        if message is None:
            done.append(who)
        else:
            asked.append(who)
            questions.append((person.id, message))
    when = format_when(meeting.starts_at, ctx.locale.tz)
    blocks: list[Block] = [Heading(f"Updates requested — {view.reference}")]
    if asked:
        blocks += [
            Text(f"I've asked these members for their update before the meeting on {when}:"),
            Bullets(tuple(asked)),
        ]
    if done:
        blocks.append(Context("Already sent their update: " + "; ".join(done) + "."))
    blocks.append(
        Context(
            "They answer in their direct messages with me; anyone part-way was sent their next "
            "question. `/coregroup brief` shows what has come in so far."
        )
    )
    reply = Reply().say(
        Message(text=f"{view.reference}: updates requested from {len(asked)}", blocks=tuple(blocks))
    )
    for person_id, message in questions:
        reply.say(message, to=ToPerson(person_id))
    return reply


def my_update(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Your answers for the next meeting with a button to change each; starts it if not begun."""
    assert view is not None
    require_member(view, "give an update")
    _no_more(args, "/coregroup myupdate")
    now, tz = ctx.now(), ctx.locale.tz
    meeting = next_meeting(ctx.session, group_id=view.id, now=now)
    if meeting is None:
        return _last_update(ctx, view)
    assert meeting.id is not None
    update = core.update_for(ctx.session, meeting_id=meeting.id, person_id=ctx.actor_id)
    reply = Reply()
    if update is not None and update.state != UpdateState.NOT_STARTED:
        convo = core.Conversation.load(ctx.session, update=update, tz=tz)
        reply.say(core.answers_message(convo, now=now))
    if update is None or update.state != UpdateState.COMPLETE:
        require_active(view)
        question = core.open_update(ctx.session, meeting=meeting, person=ctx.actor, now=now, tz=tz)
        if question is not None:
            reply.say(question, to=ToPerson(ctx.actor_id))
            if ctx.channel_id is not None and ctx.channel_id == view.group.channel_id:
                reply.say("I've sent you the next question in a direct message.")
    return reply


def _last_update(ctx: Ctx, view: GroupView) -> Reply:
    """With no meeting to come: the answers given for the last one, locked."""
    meeting = latest_started(ctx.session, group_id=view.id, now=ctx.now())
    update = (
        core.update_for(ctx.session, meeting_id=meeting.id, person_id=ctx.actor_id)
        if meeting is not None and meeting.id is not None
        else None
    )
    if update is None:
        raise BadInput(
            f"No meeting is booked for {view.reference}, so there's no update to give yet.",
            hint="You'll get a message asking for your update a few days before the next one.",
        )
    convo = core.Conversation.load(ctx.session, update=update, tz=ctx.locale.tz)
    return Reply().say(core.answers_message(convo, now=ctx.now()))


def brief(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """The pre-meeting brief as it stands: privately in full, or posted to the group's space."""
    assert view is not None
    require_manager(view, "see the pre-meeting brief")
    post = args.take_keyword("post", "share")
    _no_more(args, "/coregroup brief post")
    meeting = _next(ctx, view)
    message = core.brief_message(
        ctx.session,
        meeting=meeting,
        tz=ctx.locale.tz,
        now=ctx.now(),
        private=not post,
        calendar=ctx.calendar(view.case),
        policy=ctx.policy(view.case),
    )
    if post:
        require_active(view)
        return Reply().say(message, to=ToGroup(view.id)).say("Posted the brief to the group.")
    return Reply().say(message)


# --- buttons ------------------------------------------------------------------------------------


def _own(ctx: Ctx, update_id: str, action: str) -> core.Conversation:
    """The actor's own update conversation; NotFound for anyone else's."""
    update = ctx.session.get(MemberUpdate, int(update_id)) if update_id.isdigit() else None
    meeting = ctx.session.get(Meeting, update.meeting_id) if update is not None else None
    if update is None or meeting is None or update.person_id != ctx.actor_id:
        audit(ctx, group_id=None, kind=AuditKind.DENIED, what=f"click:{action}")
        raise NotFound(
            "That question isn't one of yours, or it no longer exists.",
            hint=f"`{core.MYUPDATE}` shows your own update.",
        )
    view = group_by_id(ctx, meeting.group_id)  # a former member sees nothing
    require_member(view, "answer update questions")
    require_active(view)
    return core.Conversation.load(ctx.session, update=update, tz=ctx.locale.tz)


def answer_click(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """A quick answer ("Done", "Yes", "Skip"…): saved, and the next question asked."""
    update_id, _, rest = value.partition(":")
    key, _, choice = rest.rpartition(":")
    convo = _own(ctx, update_id, core.ANSWER)
    now = ctx.now()
    core.require_open(convo, now)
    step = core.answer_click(convo, key, choice, now=now)
    audit(ctx, group_id=convo.meeting.group_id, kind=AuditKind.CHANGE, what="update:answer")
    reply = Reply().say(core.answered(convo, key), to=InPlace())
    reply.say(step.message, to=ToPerson(ctx.actor_id))
    if step.complete:
        carry_on(ctx, reply)
    return reply


def change_click(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """ "Change" next to an answer: ask that question again."""
    update_id, _, key = value.partition(":")
    convo = _own(ctx, update_id, core.CHANGE)
    now = ctx.now()
    core.require_open(convo, now)
    message = core.change(convo, key, now=now)
    audit(ctx, group_id=convo.meeting.group_id, kind=AuditKind.CHANGE, what="update:change")
    return Reply().say(message, to=ToPerson(ctx.actor_id))


# --- the conversation ---------------------------------------------------------------------------


def open_update(ctx: Ctx) -> MemberUpdate | None:
    """The update conversation the actor is part-way through (the one asked most recently)."""
    return core.active_update(ctx.session, person_id=ctx.actor_id, now=ctx.now())


def answer_update(ctx: Ctx, update: MemberUpdate, text: str) -> Reply:
    """The member's next answer in their update conversation."""
    now = ctx.now()
    convo = core.Conversation.load(ctx.session, update=update, tz=ctx.locale.tz)
    step = core.reply_to(convo, text, now=now, signals=ctx.locale.signals)
    audit(ctx, group_id=convo.meeting.group_id, kind=AuditKind.CHANGE, what="update:answer")
    reply = Reply()
    hints = _plain_words(ctx, update)
    if hints:
        reply.say(
            Message(text="Plain English in your answer", blocks=tuple(hints)),
            to=ToPerson(ctx.actor_id),
        )
    reply.say(step.message, to=ToPerson(ctx.actor_id))
    if step.complete:
        carry_on(ctx, reply)
    return reply


def _just_saved(ctx: Ctx, update: MemberUpdate) -> UpdateAnswer | None:
    """The answer the message just typed was saved as (a status, a note, a free answer)."""
    return ctx.session.exec(
        select(UpdateAnswer)
        .where(UpdateAnswer.update_id == update.id, UpdateAnswer.answered_at == ctx.now())
        .order_by(col(UpdateAnswer.id).desc())
    ).first()


def _plain_words(ctx: Ctx, update: MemberUpdate) -> list[Block]:
    """The jargon in the answer just given, with buttons to put it in plain words."""
    row = _just_saved(ctx, update)
    if row is None or row.skipped or row.id is None:
        return []
    hits = ctx.locale.glossary.findings(row.answer)
    return plain_words.hits_blocks(
        hits, action=plain_words.ANSWER, key=str(row.id), where="your answer"
    )


def plain_click(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """A "use plain words" button under an answer: the saved answer is reworded."""
    row_id, term = plain_words.choice(value)
    row = ctx.session.get(UpdateAnswer, int(row_id)) if row_id.isdigit() else None
    update = ctx.session.get(MemberUpdate, row.update_id) if row else None
    if row is None or update is None or update.person_id != ctx.actor_id:
        raise NotFound(
            "That answer isn't yours to change.", hint="`/coregroup myupdate` shows yours."
        )
    glossary = ctx.locale.glossary
    plain = glossary.replaced(row.answer, None if term == plain_words.ALL else {term})
    if plain == row.answer:
        return Reply().say("Your answer already uses plain words there.")
    row.answer, row.answered_at = plain, ctx.now()
    ctx.session.add(row)
    meeting = ctx.session.get(Meeting, update.meeting_id)
    audit(
        ctx,
        group_id=meeting.group_id if meeting else None,
        kind=AuditKind.CHANGE,
        what="update:plain-words",
    )
    blocks: list[Block] = [Text("Thanks — your answer now reads:"), Text(plain)]
    blocks += plain_words.hits_blocks(
        glossary.findings(plain), action=plain_words.ANSWER, key=row_id, where="it still"
    )
    return Reply().say(Message(text="Your answer uses plain words", blocks=tuple(blocks)))


def answer_update_by_id(ctx: Ctx, update_id: int, text: str) -> Reply:
    """A reply to one of the update's questions (in its thread, or `reply <n>`)."""
    convo = _own(ctx, str(update_id), "update:reply")
    core.require_open(convo, ctx.now())
    if convo.update.state == UpdateState.COMPLETE:
        return Reply().say(
            Message(
                text="Your update is already complete.",
                blocks=(
                    Text(
                        f"Your update for the meeting on {convo.when} is already complete, so "
                        "I haven't saved that as an answer."
                    ),
                    Context(
                        f"`{core.MYUPDATE}` shows your answers with a button to change each. "
                        f"You typed: {text}"[:2900]
                    ),
                ),
            )
        )
    return answer_update(ctx, convo.update, text)


def resume_after_concern(ctx: Ctx, meeting_id: int, since: datetime) -> Reply:
    """Back to the update a question about a concern interrupted: its question, or the thanks."""
    reply = Reply()
    update = core.update_for(ctx.session, meeting_id=meeting_id, person_id=ctx.actor_id)
    if update is None or update.state == UpdateState.NOT_STARTED:
        return reply
    convo = core.Conversation.load(ctx.session, update=update, tz=ctx.locale.tz)
    if convo.locked(ctx.now()):
        return reply
    message = core.resume(convo, since=since)
    if message is not None:
        reply.say(message, to=ToPerson(ctx.actor_id))
        if update.state == UpdateState.COMPLETE:
            carry_on(ctx, reply)
    return reply


def carry_on(ctx: Ctx, reply: Reply) -> None:
    """After one update is finished, go on to another group's, if one is waiting."""
    update = core.active_update(ctx.session, person_id=ctx.actor_id, now=ctx.now())
    meeting = ctx.session.get(Meeting, update.meeting_id) if update is not None else None
    if meeting is None:
        return
    message = core.open_update(
        ctx.session, meeting=meeting, person=ctx.actor, now=ctx.now(), tz=ctx.locale.tz
    )
    if message is not None:
        reply.say(message, to=ToPerson(ctx.actor_id))


COMMANDS = (
    Command(
        name="updates",
        summary="ask every member for their update before the next meeting, now",
        usage="updates",
        examples=("/coregroup updates",),
        handler=request_updates,
        topic="Updates",
    ),
    Command(
        name="myupdate",
        summary="see your update for the next meeting and change any answer",
        usage="myupdate",
        examples=("/coregroup myupdate",),
        handler=my_update,
        aliases=("my-update",),
        topic="Updates",
    ),
    Command(
        name="brief",
        summary="see the pre-meeting brief now (add post to share it with the group)",
        usage="brief [post]",
        examples=("/coregroup brief", "/coregroup brief post"),
        handler=brief,
        topic="Updates",
        changes=False,
    ),
)
