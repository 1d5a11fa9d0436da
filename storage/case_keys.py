"""Which case a row belongs to, so its sealed values are sealed under that case's data key.

Every ORM insert and update of a table with sealed columns goes through `_label_row` (a mapper
event, run inside the flush with its connection): it finds the row's case by following the
row's parent ids (`PARENTS`) and replaces the sealed attributes being written by SealedText /
SealedDict labelled with the case's key, which the column type then seals under. A new case's
own row has no id before its INSERT, so its values go in under the shared key and are sealed
again under the case's new key straight after (`_reseal_new_case`). Rows of no case (people,
held replies) and values written by Core statements without a label use the shared key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, column, event, select, table, update
from sqlalchemy.orm import Mapper, attributes

from storage.keys import keys_of
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
    "outcomeevent": ("outcome_id", "outcome"),
    "actionevent": ("action_id", "action"),
    "attendance": ("meeting_id", "meeting"),
    "memberupdate": ("meeting_id", "meeting"),
    "updateanswer": ("update_id", "memberupdate"),
    "minutes": ("meeting_id", "meeting"),
    "minutesversion": ("minutes_id", "minutes"),
    "minutesreview": ("version_id", "minutesversion"),
    "slotchoice": ("slot_id", "meetingslot"),
}
# Tables with sealed columns whose rows belong to a person, not to one case: the shared key.
SHARED = frozenset({"heldreply", "person"})


def case_of(conn: Connection, table_name: str, parent_id: int | None) -> int | None:
    """The case a row of `table_name` belongs to, given its parent's id (its `PARENTS` column):
    read on `conn` (the writing transaction sees rows it made) and cached; None if it has none."""
    if table_name == "case":
        return parent_id
    keys = keys_of(conn.dialect)
    _, name = PARENTS[table_name]
    row_id, walked = parent_id, []
    while name != "case" and row_id is not None:
        known = keys.row_cases.get((name, row_id))
        if known is not None:
            row_id = known
            break
        walked.append((name, row_id))
        fk, parent = PARENTS[name]
        t = table(name, column("id"), column(fk))
        row_id = conn.execute(select(t.c[fk]).where(t.c.id == row_id)).scalar_one_or_none()
        name = parent
    if row_id is not None:
        for entry in walked:
            keys.row_cases.put(entry, row_id)
        keys.learned(conn, *((keys.row_cases, entry) for entry in walked))
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


def _label_row(mapper: Mapper[Any], conn: Connection, target: Any, *, new: bool) -> None:
    name = mapper.local_table.name  # type: ignore[attr-defined]
    sealed = _sealed_attributes(mapper)
    if not sealed or name in SHARED or (new and name == "case"):
        return
    if name == "case":
        case_id = target.id
    else:
        fk, _ = PARENTS[name]
        case_id = case_of(conn, name, getattr(target, fk))
    if case_id is None:
        return
    key = keys_of(conn.dialect).for_case(conn, case_id)
    state = attributes.instance_state(target)
    for attr, _, is_json in sealed:
        value = getattr(target, attr)
        if value is None or not (new or state.attrs[attr].history.has_changes()):
            continue
        setattr(target, attr, SealedDict(value, key) if is_json else SealedText(value, key))


@event.listens_for(Mapper, "before_insert")
def _before_insert(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    _label_row(mapper, conn, target, new=True)


@event.listens_for(Mapper, "before_update")
def _before_update(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    _label_row(mapper, conn, target, new=False)


@event.listens_for(Mapper, "after_insert")
def _reseal_new_case(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    """A new case's sealed values, written under the shared key, sealed again under its key."""
    case_table: Table = mapper.local_table  # type: ignore[assignment]
    if case_table.name != "case":
        return
    key = keys_of(conn.dialect).for_case(conn, target.id)
    values = {
        name: SealedText(getattr(target, attr), key)
        for attr, name, _ in _sealed_attributes(mapper)
        if getattr(target, attr) is not None
    }
    if values:
        conn.execute(update(case_table).where(case_table.c.id == target.id).values(values))
