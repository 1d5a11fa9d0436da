"""Subject access: every row about a case (or one person across cases) as JSON files in a ZIP,
with a manifest giving each file's SHA-256 and every redaction made.

For one person, free text someone else wrote is replaced by REDACTED and listed in the manifest
(file, row, field, why), and other people's names and contact details likewise: a subject
access request gives the subject their own data, not third parties'. Secrets (link and code
hashes) are never exported; the manifest lists the fields left out.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, col, or_, select

from storage.blind_index import email_index
from storage.models import (
    Action,
    ActionEvent,
    Attendance,
    AuditEntry,
    Case,
    ChatIdentity,
    Concern,
    CoreGroup,
    Disagreement,
    Distribution,
    Erasure,
    FamilyInvite,
    Meeting,
    MeetingSlot,
    Membership,
    MemberUpdate,
    Minutes,
    MinutesReview,
    MinutesVersion,
    Outcome,
    OutcomeEvent,
    Person,
    Reminder,
    ReviewConference,
    SentMessage,
    SlotChoice,
    UpdateAnswer,
)

REDACTED = "[redacted: another person's words]"
WITHHELD_FIELDS = {"familyinvite": ("token_hash", "code_hash")}


@dataclass(frozen=True)
class Table:
    """One table's rows for a group: how to find them, who wrote each, and its free text."""

    model: type[SQLModel]
    rows: Callable[[int], Any]  # group id → a select of the model
    author: Callable[[Any], int | None] | None = None  # None: written by no one person
    text: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The table's name, which names its file."""
        return str(self.model.__tablename__)


def _meetings(g: int) -> Any:
    return select(Meeting.id).where(Meeting.group_id == g)


def _minutes(g: int) -> Any:
    return select(Minutes.id).where(col(Minutes.meeting_id).in_(_meetings(g)))


def _versions(g: int) -> Any:
    return select(MinutesVersion.id).where(col(MinutesVersion.minutes_id).in_(_minutes(g)))


def _updates(g: int) -> Any:
    return select(MemberUpdate.id).where(col(MemberUpdate.meeting_id).in_(_meetings(g)))


TABLES: tuple[Table, ...] = (
    Table(Membership, lambda g: select(Membership).where(Membership.group_id == g)),
    Table(Outcome, lambda g: select(Outcome).where(Outcome.group_id == g), None, ("title",)),
    Table(
        OutcomeEvent,
        lambda g: select(OutcomeEvent).where(
            col(OutcomeEvent.outcome_id).in_(select(Outcome.id).where(Outcome.group_id == g))
        ),
        lambda r: r.actor_id,
        ("old_value", "new_value", "note"),
    ),
    Table(
        Action,
        lambda g: select(Action).where(Action.group_id == g),
        lambda r: r.created_by,
        ("description",),
    ),
    Table(
        ActionEvent,
        lambda g: select(ActionEvent).where(
            col(ActionEvent.action_id).in_(select(Action.id).where(Action.group_id == g))
        ),
        lambda r: r.actor_id,
        ("old_value", "new_value", "note"),
    ),
    Table(
        Meeting,
        lambda g: select(Meeting).where(Meeting.group_id == g),
        lambda r: r.created_by,
        ("decisions", "contingency", "cancel_reason"),
    ),
    Table(
        Attendance,
        lambda g: select(Attendance).where(col(Attendance.meeting_id).in_(_meetings(g))),
        lambda r: r.person_id,
        ("note",),
    ),
    Table(
        MemberUpdate,
        lambda g: select(MemberUpdate).where(col(MemberUpdate.meeting_id).in_(_meetings(g))),
    ),
    Table(
        UpdateAnswer,
        lambda g: select(UpdateAnswer).where(col(UpdateAnswer.update_id).in_(_updates(g))),
        None,  # set per row from its update below
        ("answer",),
    ),
    Table(
        Minutes,
        lambda g: select(Minutes).where(col(Minutes.id).in_(_minutes(g))),
        None,
        ("override_reason",),
    ),
    Table(
        MinutesVersion,
        lambda g: select(MinutesVersion).where(col(MinutesVersion.id).in_(_versions(g))),
        lambda r: r.created_by,
        ("body", "change_note"),
    ),
    Table(
        MinutesReview,
        lambda g: select(MinutesReview).where(col(MinutesReview.version_id).in_(_versions(g))),
        lambda r: r.person_id,
        ("comment",),
    ),
    Table(
        Distribution,
        lambda g: select(Distribution).where(col(Distribution.minutes_id).in_(_minutes(g))),
    ),
    Table(
        Disagreement,
        lambda g: select(Disagreement).where(Disagreement.group_id == g),
        lambda r: r.raised_by,
        ("detail", "escalated_to"),
    ),
    Table(
        Concern,
        lambda g: select(Concern).where(Concern.group_id == g),
        lambda r: r.author_id,
        ("text",),
    ),
    Table(FamilyInvite, lambda g: select(FamilyInvite).where(FamilyInvite.group_id == g)),
    Table(MeetingSlot, lambda g: select(MeetingSlot).where(MeetingSlot.group_id == g)),
    Table(
        SlotChoice,
        lambda g: select(SlotChoice).where(
            col(SlotChoice.slot_id).in_(select(MeetingSlot.id).where(MeetingSlot.group_id == g))
        ),
        lambda r: r.person_id,
        ("note",),
    ),
    Table(Reminder, lambda g: select(Reminder).where(Reminder.group_id == g)),
    Table(Erasure, lambda g: select(Erasure).where(Erasure.group_id == g)),
    Table(SentMessage, lambda g: select(SentMessage).where(SentMessage.group_id == g)),
)


@dataclass
class Export:
    """The files of one export as they are gathered, and the redactions made."""

    subject: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    redactions: list[dict[str, Any]] = field(default_factory=list)

    def add_rows(self, name: str, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows to `tables/<name>.json`."""
        path = f"tables/{name}.json"
        existing = json.loads(self.files[path]) if path in self.files else []
        self.files[path] = _json([*existing, *rows])

    def zip_bytes(self, generated_at: datetime) -> bytes:
        """The ZIP: every file and a manifest with each file's SHA-256 and the redactions."""
        manifest = {
            "generated_at": generated_at.isoformat(),
            "subject": self.subject,
            "files": [
                {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                for path, data in sorted(self.files.items())
            ],
            "redactions": self.redactions,
            "withheld_fields": sorted(
                f"{table}.{name}" for table, names in WITHHELD_FIELDS.items() for name in names
            ),
        }
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, data in sorted(self.files.items()):
                archive.writestr(path, data)
            archive.writestr("manifest.json", _json(manifest))
        return out.getvalue()


def export_case(
    session: Session, case: Case, group: CoreGroup, documents: dict[str, bytes]
) -> Export:
    """Every row about the case and its people, and the published minutes as files."""
    assert group.id is not None
    export = Export(subject={"case": case.reference})
    export.add_rows("case", [_row(case)])
    export.add_rows("coregroup", [_row(group)])
    conferences = session.exec(select(ReviewConference).where(ReviewConference.case_id == case.id))
    export.add_rows("reviewconference", [_row(r) for r in conferences])
    for table in TABLES:
        export.add_rows(table.name, [_row(r) for r in session.exec(table.rows(group.id))])
    people = select(Membership.person_id).where(Membership.group_id == group.id)
    export.add_rows(
        "person", [_row(p) for p in session.exec(select(Person).where(col(Person.id).in_(people)))]
    )
    export.add_rows(
        "chatidentity",
        [
            _row(i)
            for i in session.exec(
                select(ChatIdentity).where(col(ChatIdentity.person_id).in_(people))
            )
        ],
    )
    audit = select(AuditEntry).where(AuditEntry.group_id == group.id).order_by(col(AuditEntry.seq))
    export.add_rows("auditentry", [_row(a) for a in session.exec(audit)])
    for name, data in documents.items():
        export.files[f"documents/{name}"] = data
    return export


def find_person(session: Session, who: str) -> list[Person]:
    """The people an email address or a chat user id names."""
    by_chat = select(ChatIdentity.person_id).where(ChatIdentity.user_id == who)
    by_email = col(Person.email_index) == email_index(session.connection(), who)
    return list(
        session.exec(select(Person).where(or_(by_email, col(Person.id).in_(by_chat)))).all()
    )


def export_person(session: Session, person: Person) -> Export:
    """One person's rows across every case they were in, other people's words redacted."""
    assert person.id is not None
    me = person.id
    export = Export(subject={"person": me})
    export.add_rows("person", [_row(person)])
    identities = session.exec(select(ChatIdentity).where(ChatIdentity.person_id == me))
    export.add_rows("chatidentity", [_row(i) for i in identities])
    groups = session.exec(
        select(CoreGroup, Case)
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .where(col(CoreGroup.id).in_(select(Membership.group_id).where(Membership.person_id == me)))
        .order_by(col(Case.reference))
    ).all()
    export.add_rows("case", [{"id": c.id, "reference": c.reference} for _, c in groups])
    answerers = {
        u.id: u.person_id
        for u in session.exec(select(MemberUpdate).where(MemberUpdate.person_id == me))
    }
    for group, _case in groups:
        assert group.id is not None
        for table in TABLES:
            rows = []
            for row in session.exec(table.rows(group.id)):
                data = _row(row)
                author = (
                    answerers.get(row.update_id)
                    if table.model is UpdateAnswer
                    else table.author(row)
                    if table.author
                    else None
                )
                if author != me:
                    _redact(export, table.name, data, table.text)
                rows.append(data)
            export.add_rows(table.name, rows)
        others = select(Membership.person_id).where(
            Membership.group_id == group.id, Membership.person_id != me
        )
        for other in session.exec(select(Person).where(col(Person.id).in_(others))):
            data = {"id": other.id, "agency": other.agency, "is_family": other.is_family}
            export.redactions.append(
                {
                    "file": "tables/other_people.json",
                    "row": other.id,
                    "field": "display_name, email",
                    "why": "another person's name and contact details",
                }
            )
            export.add_rows("other_people", [data])
    audit = select(AuditEntry).where(AuditEntry.actor_id == me).order_by(col(AuditEntry.seq))
    export.add_rows("auditentry", [_row(a) for a in session.exec(audit)])
    return export


def _redact(export: Export, table: str, data: dict[str, Any], fields: Sequence[str]) -> None:
    for name in fields:
        if data.get(name):
            data[name] = REDACTED
            export.redactions.append(
                {
                    "file": f"tables/{table}.json",
                    "row": data.get("id"),
                    "field": name,
                    "why": "written by another person",
                }
            )


def _row(obj: SQLModel) -> dict[str, Any]:
    """A row's columns, without the secrets WITHHELD_FIELDS names."""
    data = {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}
    for name in WITHHELD_FIELDS.get(str(getattr(obj, "__tablename__", "")), ()):
        data.pop(name, None)
    return data


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, ensure_ascii=False, default=_plain, sort_keys=True).encode()


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
