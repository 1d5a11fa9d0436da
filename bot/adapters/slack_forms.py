"""Forms for the commands that need several answers: typing `/coregroup new`, `action` or
`schedule` with nothing after it opens a modal instead of a usage message.

A submitted form becomes the command a person would have typed, so the core sees one grammar
whichever way it was entered (and its checks and messages apply unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.render.blockkit import Form, FormField

REFERENCE = FormField(
    "reference",
    "Case reference",
    optional=True,
    hint="Leave empty when you are in the group's channel.",
)


def _day(iso: str) -> str:
    """A datepicker's YYYY-MM-DD as the UK's DD/MM/YYYY the commands read."""
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def _quoted(text: str) -> str:
    """Free text as one quoted argument (inner double quotes would end it early)."""
    return '"' + " ".join(text.replace('"', "'").split()) + '"'


def _prefix(values: dict[str, str]) -> str:
    reference = values.get("reference", "").strip()
    return f"{reference} " if reference else ""


def _new(values: dict[str, str]) -> str:
    text = f"new {values['reference'].strip()} icpc {_day(values['icpc'])}"
    if values.get("nation"):
        text += f" nation {values['nation']}"
    if values.get("initials", "").strip():
        text += f" initials {values['initials'].strip()}"
    return text


def _action(values: dict[str, str]) -> str:
    text = (
        f"{_prefix(values)}action <@{values['owner']}> to {_quoted(values['what'])} "
        f"by {_day(values['due'])}"
    )
    if values.get("outcome", "").strip():
        text += f" outcome {values['outcome'].strip()}"
    return text


def _schedule(values: dict[str, str]) -> str:
    text = f"{_prefix(values)}schedule {_day(values['day'])} {values['time']}"
    if values.get("venue", "").strip():
        text += f" at {_quoted(values['venue'])}"
    if values.get("link", "").strip():
        text += f" link {values['link'].strip()}"
    return text


@dataclass(frozen=True)
class CommandForm:
    """A form and how its answers become the command text."""

    form: Form
    compose: Callable[[dict[str, str]], str]


FORMS: dict[str, CommandForm] = {
    "new": CommandForm(
        Form(
            "new",
            "New core group",
            "Start the group",
            (
                FormField(
                    "reference",
                    "Case reference",
                    hint="As on the case system, e.g. CP-2026-0142 — never the child's name.",
                ),
                FormField("icpc", "Date of the initial child protection conference", "date"),
                FormField(
                    "nation",
                    "Nation",
                    "choice",
                    optional=True,
                    hint="Whose bank holidays and timescales apply (England if left empty).",
                    options=(
                        ("england", "England"),
                        ("wales", "Wales"),
                        ("scotland", "Scotland"),
                        ("northern-ireland", "Northern Ireland"),
                    ),
                ),
                FormField("initials", "Child's initials", optional=True, hint="e.g. AB"),
            ),
        ),
        _new,
    ),
    "action": CommandForm(
        Form(
            "action",
            "New action",
            "Add the action",
            (
                REFERENCE,
                FormField("owner", "Who will do it", "user"),
                FormField("what", "What needs doing", "long_text"),
                FormField("due", "By when", "date"),
                FormField(
                    "outcome",
                    "Under outcome number",
                    optional=True,
                    hint="e.g. 2 (may be left empty when the plan has one outcome).",
                ),
            ),
        ),
        _action,
    ),
    "schedule": CommandForm(
        Form(
            "schedule",
            "Book a meeting",
            "Book it",
            (
                REFERENCE,
                FormField("day", "Date", "date"),
                FormField("time", "Start time", "time"),
                FormField("venue", "Where", optional=True),
                FormField("link", "Video call link", optional=True, hint="https://…"),
            ),
        ),
        _schedule,
    ),
}


def form_for(command_text: str) -> CommandForm | None:
    """The form to open for a command typed with nothing after it (`new`, `action`, …)."""
    return FORMS.get(command_text.strip().lower())
