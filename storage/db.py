"""Engine, sessions and the schema check; nothing is created at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlmodel import Session

from storage.crypto import KeyEncryptionKeys
from storage.keys import attach

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The database schema is missing or older than this code; `coregroup db upgrade` fixes it."""


def make_engine(url: str, keys: KeyEncryptionKeys | None = None) -> Engine:
    """Create an engine for `url` whose case text is sealed with data keys opened by `keys` (by
    default DATA_KEY / DATA_KEY_FILE from the environment); SQLite gets foreign keys, WAL and a
    parent directory. Errors never show statement parameters: they hold case text."""
    engine = _make_engine(url)
    attach(engine, keys if keys is not None else KeyEncryptionKeys.from_environment())
    return engine


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if parsed.database and parsed.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at our migrations and at `engine`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


class SchemaNewer(SchemaOutOfDate):
    """The database was upgraded by a newer release of the bot than this one."""

    def __init__(self, revision: str) -> None:
        super().__init__(f"The database is newer than this version ({revision}); upgrade the bot.")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` (SchemaNewer if a newer release made it)."""
    refuse_newer(current_revision(engine))
    command.upgrade(alembic_config(engine), revision)


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))


def head_revision() -> str:
    """The newest migration this code knows."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def refuse_newer(revision: str | None) -> None:
    """Raise SchemaNewer when `revision` is none of this code's migrations."""
    if revision is None:
        return
    try:
        _scripts().get_revision(revision)
    except CommandError:
        raise SchemaNewer(revision) from None


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest migration."""
    current, head = current_revision(engine), head_revision()
    refuse_newer(current)
    if current != head:
        state = "has no schema yet" if current is None else f"is at revision {current}"
        raise SchemaOutOfDate(
            f"The database {state}; this version needs {head}. "
            "Run `coregroup db upgrade` to create or upgrade it."
        )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_for(dialect: str) -> Any:
    """The INSERT of `dialect` (an engine's `dialect.name`), which knows ON CONFLICT: PostgreSQL's
    and SQLite's both do."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
