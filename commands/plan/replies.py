"""Replies in words to action reminders ("done — referral sent", "need until next Friday"): which
action a reply is about, asking which when unclear, and applying it."""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.core import plan as core
from bot.core.access import GroupView, audit, group_by_id, hidden
from bot.core.context import Ctx
from bot.core.dates import parse_day
from bot.core.replies import INTENT_KINDS, Intent, interpret, is_small_talk
from bot.messages import Button, Buttons, Context, Message, Reply, Text
from commands.plan.buttons import _pressable
from commands.plan.changes import (
    _apply_cannot,
    _apply_done,
    _apply_new_due,
    _apply_note,
    _apply_progress,
    _status_now,
)
from commands.plan.shared import CHOICES_LIMIT, REPLY_WINDOW, VALUE_NOTE_LIMIT, _audit, _label
from storage.enums import ActionStatus, AuditKind
from storage.models import Action

# --- replies in words ---------------------------------------------------------------------------


def reply_about_actions(ctx: Ctx, text: str, actions: list[Action] | None = None) -> Reply | None:
    """A message about one's action ("done — referral sent"); None if it can't be about one.

    `actions` are those of the reminder it answers; without them, the last reminder's (or the
    person's only open action). Several: a short question asks which.
    """
    if actions is None:
        target, choices = _reply_target(ctx)
    else:
        mine = [
            a for a in actions if core.is_still_owner(ctx.session, action=a, person_id=ctx.actor_id)
        ]
        if not mine:
            return Reply().say(
                Message(
                    text="That reminder's action isn't yours any more.",
                    blocks=(
                        Text(
                            "That reminder was about an action that isn't yours any more (or "
                            "its group has closed), so I haven't changed anything."
                        ),
                        Context(f"You typed: {text}"[:2900]),
                    ),
                )
            )
        target, choices = (mine[0], []) if len(mine) == 1 else (None, _by_due(mine))
    if target is None and not choices:
        return None
    intent = interpret(text, now=ctx.now(), tz=ctx.locale.tz)
    if target is None:
        return _ask_which(ctx, choices, intent)
    view = group_by_id(ctx, target.group_id)
    return _apply_reply(ctx, view, target, intent, text)


def reminded_actions(ctx: Ctx) -> tuple[list[Action], datetime] | None:
    """The actor's actions in the last reminder a reply in words may answer, and when it went."""
    found = core.latest_action_reminder(
        ctx.session, person_id=ctx.actor_id, since=ctx.now() - REPLY_WINDOW
    )
    if found is None:
        return None
    mine = [
        a for a in found[0] if core.is_still_owner(ctx.session, action=a, person_id=ctx.actor_id)
    ]
    return (mine, found[1]) if mine else None


def _by_due(actions: list[Action]) -> list[Action]:
    return sorted(actions, key=lambda a: (a.due_on, a.group_id, a.number))


def _reply_target(ctx: Ctx) -> tuple[Action | None, list[Action]]:
    """The action a reply is about: the last one reminded of, else the only open one.

    With no single answer, the candidates to ask about (empty: the reply is not about actions).
    """
    found = reminded_actions(ctx)
    reminded = found[0] if found else []
    if len(reminded) == 1:
        return reminded[0], []
    if reminded:
        return None, _by_due(reminded)
    mine = core.owned_open_actions(ctx.session, person_id=ctx.actor_id)
    if len(mine) == 1:
        return mine[0], []
    return None, mine


def _encode(action: Action, kind: str, day: date | None, note: str | None) -> str:
    """A reply's meaning carried in a button value: id|kind|date|note."""
    return "|".join(
        (str(action.id), kind, day.isoformat() if day else "", (note or "")[:VALUE_NOTE_LIMIT])
    )


def _ask_which(ctx: Ctx, choices: list[Action], intent: Intent) -> Reply:
    refs = {a.group_id: _reference(ctx, a.group_id) for a in choices}
    buttons = tuple(
        Button(
            f"{a.number} · {refs[a.group_id]}: {_short(a.description)}",
            "action.reply",
            _encode(a, intent.kind, intent.date, intent.note),
        )
        for a in choices[:CHOICES_LIMIT]
    )
    for group_id in refs:
        audit(ctx, group_id=group_id, kind=AuditKind.READ, what="reply:which")
    return Reply().say(
        Message(
            text="Which action is this about?",
            blocks=(Text("Thanks — which of your actions is this about?"), Buttons(buttons)),
        )
    )


def _reference(ctx: Ctx, group_id: int) -> str:
    return group_by_id(ctx, group_id).reference


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _apply_reply(ctx: Ctx, view: GroupView, action: Action, intent: Intent, typed: str) -> Reply:
    """Apply what a reply means to an action, or ask a short question when unsure."""
    closed = action.status in (ActionStatus.DONE, ActionStatus.CANCELLED)
    if closed and intent.kind not in ("done", "note"):
        _audit(ctx, view, "reply:closed", action, AuditKind.READ)
        return Reply().say(
            f"Action {action.number} ({view.reference}) is already "
            f"{core.STATUS_LABELS[ActionStatus(action.status)].lower()}, so I haven't changed "
            f"anything. {_status_now(ctx, action)}"
        )
    if intent.kind == "unclear":
        _audit(ctx, view, "reply:unclear", action, AuditKind.READ)
        return _clarify(ctx, view, action, intent.note)
    if intent.kind == "blocked" and not intent.note:
        return _ask_more(view, action, "blocked", "What's stopping it? The chair will be told.")
    if intent.kind == "new_date" and intent.date is None:
        question = intent.problem or "Which date would you like?"
        return _ask_more(view, action, "new_date", question)
    _audit(ctx, view, f"reply:{intent.kind}", action, AuditKind.CHANGE)
    match intent.kind:
        case "done":
            return _apply_done(ctx, view, action, intent.note)
        case "progress":
            return _apply_progress(ctx, view, action, intent.note)
        case "blocked":
            assert intent.note is not None
            return _apply_cannot(ctx, view, action, intent.note)
        case "new_date":
            assert intent.date is not None
            return _apply_new_due(ctx, view, action, intent.date, intent.note)
    return _apply_note(ctx, view, action, intent.note or typed)


def _clarify(ctx: Ctx, view: GroupView, action: Action, note: str | None) -> Reply:
    """A short question with buttons rather than a guess; the words typed ride along as a note."""
    kept = note if note and not is_small_talk(note) else None
    buttons = [
        Button("Done", "action.reply", _encode(action, "done", None, kept), style="primary"),
        Button("In progress", "action.reply", _encode(action, "progress", None, kept)),
        Button(
            "Can't do", "action.reply", _encode(action, "blocked", None, None), ask=core.ASK_CANNOT
        ),
    ]
    if note:
        buttons.append(Button("Just a note", "action.reply", _encode(action, "note", None, note)))
    return Reply().say(
        Message(
            text=f"Is this about {_label(view, action)}?",
            blocks=(
                Text(
                    f"I'm not sure what you mean for {_label(view, action)}: "
                    f"{action.description}. Which is it?"
                ),
                Buttons(tuple(buttons)),
            ),
        )
    )


def _ask_more(view: GroupView, action: Action, kind: str, question: str) -> Reply:
    """Ask for the reason or date a reply left out, with a button that takes the answer."""
    ask = core.ASK_CANNOT if kind == "blocked" else core.ASK_DATE
    label = "Tell the chair why" if kind == "blocked" else "Give a date"
    return Reply().say(
        Message(
            text=question,
            blocks=(
                Text(f"{question} (About {_label(view, action)}: {action.description})"),
                Buttons(
                    (Button(label, "action.reply", _encode(action, kind, None, None), ask=ask),)
                ),
            ),
        )
    )


def click_reply(ctx: Ctx, value: str, text: str | None) -> Reply:
    """A button from a reply-in-words question: which action, or what the reply meant."""
    action_id, kind_text, day_text, note = (value.split("|", 3) + ["", "", ""])[:4]
    action, view = _pressable(ctx, action_id)
    kind = next((k for k in INTENT_KINDS if k == kind_text), None)
    if kind is None or not re.fullmatch(r"(\d{4}-\d{2}-\d{2})?", day_text):
        raise hidden(ctx, what="action-reply", detail=f"id={action.id}")
    typed = (text or "").strip()
    day = date.fromisoformat(day_text) if day_text else None
    if kind == "new_date" and day is None:
        day = parse_day(typed, now=ctx.now(), tz=ctx.locale.tz)
    if kind == "blocked" and not note:
        note = typed
    return _apply_reply(ctx, view, action, Intent(kind, note=note or None, date=day), note)
