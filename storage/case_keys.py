"""Which case a row belongs to, so its sealed values are sealed under that case's data key.

Every ORM insert and update of a table with sealed columns goes through the mapper events here
(run inside the flush, with its connection): they find the row's case by following the row's
parent ids (`PARENTS`) and label the sealed values being written (SealedText / SealedDict) with
the case's key and the row's id, which the column type then seals under and binds to. A new row
has no id before its INSERT, so its values go in under the shared key, bound to no row, and the
end of the flush seals them again under the case's key and the new id (one executemany UPDATE
per table). Rows of no case (people, held replies) use the shared key, bound to their row;
values written by Core statements without a label (retention's placeholders), the shared key
bound to their column only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, bindparam, column, event, select, table, update
from sqlalchemy.orm import Mapper, Session, attributes

from storage.keys import RESEAL, Key, keys_of
from storage.types import EncryptedJSON, EncryptedText, SealedDict, SealedText

# How each table's rows reach their case: the column holding the parent row's id, and the
# parent's table. "case" is the case itself; a table with sealed columns that is neither here
# nor in SHARED belongs to no case by mistake (tests/unit/test_case_keys.py checks).
PARENTS: dict[str, tuple[str, str]] = {
    "coregroup": ("case_id", "case"),
    "outcome": ("group_id", "coregroup"),
    "action": ("group_id", "coregroup"),
    "meeting": ("group_id", "coregroup"),
    "disagreement": ("group_id", "coregroup"),
    "concern": ("group_id", "coregroup"),
    "meetingslot": ("group_id", "coregroup"),
    "slackdelivery": ("group_id", "coregroup"),
    "teamspending": ("group_id", "coregroup"),
    "outcomeevent": ("outcome_id", "outcome"),
    "actionevent": ("action_id", "action"),
    "attendance": ("meeting_id", "meeting"),
    "memberupdate": ("meeting_id", "meeting"),
    "updateanswer": ("update_id", "memberupdate"),
    "minutes": ("meeting_id", "meeting"),
    "minutesversion": ("minutes_id", "minutes"),
    "minutesreview": ("version_id", "minutesversion"),
    "distribution": ("minutes_id", "minutes"),
    "slotchoice": ("slot_id", "meetingslot"),
}
# Tables with sealed columns whose rows belong to a person, not to one case: the shared key.
SHARED = frozenset({"heldreply", "person"})


def case_of(conn: Connection, table_name: str, parent_id: int | None) -> int | None:
    """The case a row of `table_name` belongs to, given its parent's id (its `PARENTS` column):
    read on `conn` (the writing transaction sees rows it made) and cached; None if it has none."""
    if table_name == "case" or table_name in SHARED:
        return parent_id if table_name == "case" else None
    keys = keys_of(conn.dialect)
    _, name = PARENTS[table_name]
    row_id, walked = parent_id, []
    while name != "case" and row_id is not None:
        known = keys.cached_case((name, row_id))
        if known is not None:
            row_id = known
            break
        walked.append((name, row_id))
        fk, parent = PARENTS[name]
        t = table(name, column("id"), column(fk))
        row_id = conn.execute(select(t.c[fk]).where(t.c.id == row_id)).scalar_one_or_none()
        name = parent
    if row_id is not None:
        keys.remember_case(conn, walked, row_id)
    return row_id


_SEALED: dict[Mapper[Any], list[tuple[str, str, bool]]] = {}


def _sealed_attributes(mapper: Mapper[Any]) -> list[tuple[str, str, bool]]:
    """`mapper`'s sealed columns: attribute name, column name, and whether it holds JSON."""
    found = _SEALED.get(mapper)
    if found is None:
        found = _SEALED[mapper] = [
            (mapper.get_property_by_column(c).key, c.name, isinstance(c.type, EncryptedJSON))
            for c in mapper.local_table.columns
            if isinstance(c.type, EncryptedText)
        ]
    return found


def _key_for(mapper: Mapper[Any], conn: Connection, target: Any) -> Key:
    """The data key the sealed values of `target` (a row with an id) are sealed under."""
    keys = keys_of(conn.dialect)
    name = mapper.local_table.name  # type: ignore[attr-defined]
    if name in SHARED:
        return keys.for_sealing()
    if name == "case":
        case_id = target.id
    else:
        fk, _ = PARENTS[name]
        case_id = case_of(conn, name, getattr(target, fk))
    return keys.for_sealing() if case_id is None else keys.for_case(conn, case_id)


def _labelled(value: Any, is_json: bool, key: Key, row: int) -> Any:
    return SealedDict(value, key, row) if is_json else SealedText(value, key, row)


@event.listens_for(Mapper, "before_update")
def _label_update(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    """Label the sealed values an UPDATE writes with the row's key and id."""
    sealed = _sealed_attributes(mapper)
    if not sealed:
        return
    state = attributes.instance_state(target)
    changed = [
        (attr, is_json)
        for attr, _, is_json in sealed
        if getattr(target, attr) is not None and state.attrs[attr].history.has_changes()
    ]
    if changed:
        key = _key_for(mapper, conn, target)
        for attr, is_json in changed:
            setattr(target, attr, _labelled(getattr(target, attr), is_json, key, target.id))


@event.listens_for(Mapper, "after_update")
def _unlabel_update(mapper: Mapper[Any], _conn: Connection, target: Any) -> None:
    """Give the row back plain values: a label copied elsewhere (`other.title = row.title`)
    must not seal that value for this row again."""
    for attr, _, _ in _sealed_attributes(mapper):
        value = attributes.instance_state(target).dict.get(attr)
        if isinstance(value, SealedText | SealedDict):
            plain = dict(value) if isinstance(value, SealedDict) else str(value)
            attributes.set_committed_value(target, attr, plain)


@event.listens_for(Mapper, "after_insert")
def _queue_reseal(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    """A new row's sealed values went in under the shared key, bound to no row (its id did not
    exist yet): queue them to be sealed again under its key and id when the flush ends."""
    sealed = _sealed_attributes(mapper)
    if not sealed:
        return
    key = _key_for(mapper, conn, target)
    values = {
        name: _labelled(value, is_json, key, target.id)
        for attr, name, is_json in sealed
        if (value := getattr(target, attr)) is not None
    }
    if values:
        conn.info.setdefault(RESEAL, []).append((mapper.local_table, target.id, values))


@event.listens_for(Session, "after_flush")
def _reseal_new_rows(session: Session, _context: object) -> None:
    """One executemany UPDATE per table and set of columns for the rows the flush inserted."""
    conn = session.connection()
    queued = conn.info.pop(RESEAL, [])
    batches: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for sealed_table, row_id, values in queued:
        batch = batches.setdefault((sealed_table, tuple(values)), [])
        batch.append({"_row": row_id, **{f"_{name}": v for name, v in values.items()}})
    for (sealed_table, names), rows in batches.items():
        statement = (
            update(sealed_table)
            .where(sealed_table.c.id == bindparam("_row"))
            .values({n: bindparam(f"_{n}", type_=sealed_table.c[n].type) for n in names})
        )
        conn.execute(statement, rows)
