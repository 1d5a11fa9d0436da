"""Query helpers the reminders package shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Row, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session


def among_ids(dialect: str, column: Any, values: list[int]) -> Any:
    """`column IN values`, as one array parameter on PostgreSQL: a thousand-item IN list is
    rendered and parsed afresh on every query (most of the cost of reading a batch)."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(Integer)))
    return column.in_(values)


def rows_of(session: Session, query: Any) -> list[Row[Any]]:
    """A Core query's rows, on the session's connection."""
    return list(session.connection().execute(query).all())
