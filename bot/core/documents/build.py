"""Building the neutral document from published minutes: the full record, the family version and
the young person's version.

The family and young person's versions are built from the family's copy of each section
(`MinutesBody.text(n, family=True)`), so what the family may see is decided in one place
(bot/core/minutes.py) and the documents follow it. Sections held back for professionals are left
out of the family version altogether; the young person's version takes only the plan's outcomes,
what people agreed to do and the next meeting from the family's copy, and words them for the
child in the second person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.core import minutes as mins
from bot.core.distribution import how_words, log_of, status_words
from bot.core.documents.model import (
    BulletList,
    Document,
    DocumentOptions,
    Paragraph,
    Part,
    Section,
    Table,
    parts_from_text,
    safe_stem,
)
from bot.core.errors import Conflict
from bot.core.groups import chairs
from bot.core.meetings import case_of_group, format_when
from bot.core.plan import names_of
from storage.enums import CopyKind, DeliveryStatus, MinutesStatus
from storage.models import Distribution, Meeting, Minutes, MinutesVersion, Person

FAMILY_NOTE = (
    "This is the family's copy of the minutes. Some parts are for the professionals only for now; "
    "the key worker will talk them through with you. If anything here is unclear or wrong, tell "
    "the chair."
)
CHILDLINE = (
    "If you ever feel unsafe, tell an adult you trust. You can call Childline free on 0800 1111, "
    "at any time, or chat at childline.org.uk. In an emergency, call 999."
)


@dataclass(frozen=True)
class Published:
    """A published version and everything documents say about it, loaded once."""

    minutes: Minutes
    version: MinutesVersion
    body: mins.MinutesBody
    facts: mins.MinutesFacts
    initials: str | None
    published_by: str
    approvals: tuple[tuple[str, str], ...]  # (name, when)
    chairs: tuple[str, ...]
    log: tuple[tuple[Person, Distribution], ...]


def published(session: Session, *, minutes: Minutes, tz: ZoneInfo) -> Published:
    """The published version of `minutes` with its facts; Conflict if not published yet."""
    facts = mins.facts_of(session, minutes=minutes, tz=tz)
    version = mins.latest_version(session, minutes=minutes)
    if minutes.status != MinutesStatus.PUBLISHED or minutes.published_at is None:
        raise Conflict(
            f"The minutes of meeting {facts.meeting_number} of {facts.reference} aren't published "
            f"yet (version {version.number} is still being checked), so there's no document to "
            "make.",
            hint="Documents are made from published minutes. `/coregroup minutes` shows the "
            "draft; the chair publishes it with `/coregroup publish` once it is approved.",
        )
    approval = mins.approval_of(session, version=version)
    publisher = minutes.published_by or 0
    names = names_of(session, [r.person_id for r in approval.approvals] + [publisher])
    meeting = session.get(Meeting, minutes.meeting_id)
    assert meeting is not None
    case = case_of_group(session, group_id=meeting.group_id)
    return Published(
        minutes=minutes,
        version=version,
        body=mins.body_of(version),
        facts=facts,
        initials=case.initials,
        published_by=names.get(publisher, "the chair"),
        approvals=tuple(
            (names.get(r.person_id, "a former member"), format_when(r.at, tz))
            for r in approval.approvals
        ),
        chairs=tuple(p.display_name for p in chairs(session, group_id=meeting.group_id)),
        log=tuple(log_of(session, minutes=minutes)),
    )


def minutes_document(
    session: Session,
    *,
    minutes: Minutes,
    kind: CopyKind,
    tz: ZoneInfo,
    options: DocumentOptions,
) -> Document:
    """The document for one copy of published minutes."""
    return document_of(
        published(session, minutes=minutes, tz=tz), kind=kind, tz=tz, options=options
    )


def document_of(
    pub: Published, *, kind: CopyKind, tz: ZoneInfo, options: DocumentOptions
) -> Document:
    """The document for one copy, from already-loaded facts."""
    facts = pub.facts
    labels = {
        CopyKind.FULL: "Core group minutes",
        CopyKind.FAMILY: "Core group minutes — family version",
        CopyKind.YOUNG_PERSON: "Your core group meeting",
    }
    title = f"{labels[kind]}: {facts.reference}, meeting {facts.meeting_number}"
    builders = {
        CopyKind.FULL: _full_sections,
        CopyKind.FAMILY: _family_sections,
        CopyKind.YOUNG_PERSON: _young_sections,
    }
    stem_labels = {
        CopyKind.FULL: "minutes",
        CopyKind.FAMILY: "minutes-family-version",
        CopyKind.YOUNG_PERSON: "minutes-young-persons-version",
    }
    return Document(
        title=title,
        subject=f"The core group on {facts.meeting_when}, version {pub.version.number}",
        kind=kind,
        marking=options.marking,
        intro=_intro(pub, kind=kind, tz=tz, options=options),
        sections=tuple(builders[kind](pub, tz)),
        filename_stem=safe_stem(
            f"{facts.reference}-meeting-{facts.meeting_number}-{stem_labels[kind]}"
            f"-v{pub.version.number}"
        ),
    )


def _intro(
    pub: Published, *, kind: CopyKind, tz: ZoneInfo, options: DocumentOptions
) -> tuple[Part, ...]:
    facts, minutes = pub.facts, pub.minutes
    assert minutes.published_at is not None
    published_at = format_when(minutes.published_at, tz)
    if kind is CopyKind.YOUNG_PERSON:
        return (
            Paragraph(
                f"These are short notes about your core group meeting on {facts.meeting_when}. "
                "The core group is the people who meet to make sure your plan is happening, so "
                "that you are safe and things get better at home."
            ),
        )
    rows: list[tuple[str, str]] = [("Case reference", facts.reference)]
    if options.child_name and pub.initials:
        rows.append(("Child's initials", pub.initials))
    rows += [
        ("Meeting", f"Core group meeting {facts.meeting_number}, {facts.meeting_when}"),
        ("Version", f"{pub.version.number}, published {published_at} by {pub.published_by}"),
        (
            "Approved by",
            "; ".join(f"{name} ({when})" for name, when in pub.approvals) or "nobody (see below)",
        ),
    ]
    if minutes.override_reason:
        rows.append(("Published without approval", minutes.override_reason))
    rows.append(
        (
            "This copy",
            "The full minutes, for the professionals in the core group"
            if kind is CopyKind.FULL
            else "The family's copy",
        )
    )
    parts: list[Part] = [Table("About these minutes", ("Item", "Detail"), tuple(rows))]
    if kind is CopyKind.FAMILY:
        parts.append(Paragraph(FAMILY_NOTE))
    return tuple(parts)


def _section(number: int, text: str, *, family: bool) -> Section:
    return Section(f"{number}. {mins.section_title(number, family=family)}", parts_from_text(text))


def _full_sections(pub: Published, tz: ZoneInfo) -> list[Section]:
    sections = [_section(n, pub.body.text(n), family=False) for n in mins.SECTIONS]
    sections[-1] = _with_distribution(sections[-1], pub, tz, family=False)
    return sections


def _family_sections(pub: Published, tz: ZoneInfo) -> list[Section]:
    shared = [n for n in mins.SECTIONS if mins.family_shares(pub.body, n)]
    sections = [_section(n, pub.body.text(n, family=True), family=True) for n in shared]
    if sections and shared[-1] == max(mins.SECTIONS):
        sections[-1] = _with_distribution(sections[-1], pub, tz, family=True)
    return sections


def _with_distribution(section: Section, pub: Published, tz: ZoneInfo, *, family: bool) -> Section:
    """Section 11 with the distribution list: who gets which copy, how and when it was sent."""
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    if family:
        header = ("Member", "Copy", "Sent")
        rows = tuple(
            (p.display_name, CopyKind(d.copy_kind).label, _sent(d, tz)) for p, d in pub.log
        )
    else:
        header = ("Member", "Copy", "How", "Where it stands")
        rows = tuple(
            (
                p.display_name,
                CopyKind(d.copy_kind).label,
                how_words(p, d),
                status_words(d, tz, why=False),
            )
            for p, d in pub.log
        )
    table = Table("Distribution list: who receives these minutes, and when", header, rows)
    return Section(section.title, (*section.parts, table))


def _sent(row: Distribution, tz: ZoneInfo) -> str:
    if row.status == DeliveryStatus.DELIVERED:
        return format_when(row.sent_at, tz)
    return "not yet"


# --- the young person's version -------------------------------------------------------------------

_OUTCOME = re.compile(r"^Outcome \d+: (.+?)(?: \((?:achieved|ended)\))?$")
_ACTION = re.compile(
    r"^Action \d+(?: \(outcome \d+\))?: (?P<who>.+?) — (?P<what>.+) — by (?P<due>.+?) — "
    r"(?P<status>[a-z' -]+?)(?: \(overdue\))?$"
)
_NEXT = re.compile(r"^Next meeting: (?P<when>.+?) at (?P<place>.+?)(?: — |\.$)")


def _young_sections(pub: Published, tz: ZoneInfo) -> list[Section]:
    body = pub.body
    sections: list[Section] = []
    goals = _outcomes(body.text(6, family=True)) if mins.family_shares(body, 6) else []
    if goals:
        sections.append(
            Section(
                "What needs to change",
                (
                    Paragraph("Your plan is about these things getting better:"),
                    BulletList(tuple(goals)),
                ),
            )
        )
    agreed = _agreed(body.text(8, family=True)) if mins.family_shares(body, 8) else []
    sections.append(
        Section(
            "What people agreed to do",
            (
                Paragraph("These are the jobs people said they would do:"),
                BulletList(tuple(agreed)),
            )
            if agreed
            else (Paragraph("Your social worker will tell you what people agreed to do."),),
        )
    )
    sections.append(Section("Your next meeting", (Paragraph(_next_meeting(body)),)))
    talk = " or ".join(pub.chairs) or "your social worker"
    sections.append(
        Section(
            "Who you can talk to",
            (
                Paragraph(
                    f"If you want to ask about anything in these notes, or something is worrying "
                    f"you, you can talk to {talk}. You can tell them what you think about the "
                    "plan, too."
                ),
                Paragraph(
                    "You can go to the meetings if you want to. You can also ask for an advocate "
                    "to go for you and say what you want to be said."
                ),
                Paragraph(CHILDLINE),
            ),
        )
    )
    return sections


def _outcomes(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        match = _OUTCOME.match(line.strip())
        if match:
            found.append(match.group(1))
    return found


def _agreed(text: str) -> list[str]:
    """The actions still to do and the new ones, as "who will do what, by when"."""
    jobs, taking = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and not stripped.startswith("-"):
            taking = stripped in ("Still to do:", "New actions agreed:")
            continue
        if not taking or not stripped.startswith("- "):
            continue
        item = stripped[2:]
        match = _ACTION.match(item)
        if match is None:
            if not item.startswith("none"):
                jobs.append(item)
            continue
        what = match.group("what")
        jobs.append(f"{match.group('who')}: {what[:1].lower()}{what[1:]} (by {match.group('due')})")
    return jobs


def _next_meeting(body: mins.MinutesBody) -> str:
    if mins.family_shares(body, 11):
        for line in body.text(11, family=True).splitlines():
            match = _NEXT.match(line.strip())
            if match:
                return (
                    f"The next meeting is on {match.group('when')}, at {match.group('place')}. "
                    "Your social worker will check you know about it."
                )
    return "The next meeting hasn't been booked yet. Your social worker will tell you when it is."


def young_sections_text(body: mins.MinutesBody) -> str:
    """The words the young person's version takes from the family's copy (for checks)."""
    goals = _outcomes(body.text(6, family=True)) if mins.family_shares(body, 6) else []
    agreed = _agreed(body.text(8, family=True)) if mins.family_shares(body, 8) else []
    return "\n".join([*goals, *agreed, _next_meeting(body)])
