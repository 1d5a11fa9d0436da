"""Shared fixtures: a private database per test (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set) and a fake clock.

SQLite: each test gets its own file; `engine` copies it from a template migrated once per session.
PostgreSQL: each test gets its own schema in the shared test database, reached through a URL whose
`options` set the search_path, so anything given `database_url` (the CLI, the app) lands there too.
Migrating a schema costs ~0.2 s, so a migrated schema is emptied after a test (rows deleted, ids
reset: ~5 ms) and lent to the next one; tests that only ask for `database_url` get a new empty
schema. Concurrent runs never share a schema, and the next run sweeps away the schemas of a run
that died before cleaning up.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from bot.clock import FakeClock
from storage.db import current_revision, head_revision, make_engine, upgrade

# Every test's engines (and the CLI and bots they start) seal case text under this KEK; tests of
# key handling set their own.
TEST_DATA_KEY = base64.b64encode(bytes(range(32))).decode("ascii")
os.environ.setdefault("DATA_KEY", TEST_DATA_KEY)

LONDON = ZoneInfo("Europe/London")
# Mon 23 Nov 2026 09:00 in London: a working Monday, a month before Christmas.
CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)


@functools.cache
def _head() -> str:
    return head_revision()


# --- databases ----------------------------------------------------------------------------------


class PostgresSchemas:
    """Creates, lends, empties and drops uniquely named schemas on the PostgreSQL test database."""

    def __init__(self, url: str) -> None:
        self.base = make_url(url)
        self.admin = create_engine(self.base, poolclass=NullPool)
        self.live: set[str] = set()
        self.idle: list[str] = []  # migrated and empty, ready to lend
        # Schemas are named t_<run>_<n>. While this run lives, a connection holds an advisory lock
        # on <run>; a schema whose run's lock is free belongs to a run that died, and is swept.
        self.run = uuid.uuid4().hex[:8]
        self.guard = self.admin.connect()
        self.guard.execute(text("SELECT pg_advisory_lock(:c, :k)"), _lock(self.run))
        self.guard.commit()
        self._sweep()

    def url_for(self, name: str) -> str:
        """A URL whose connections use only schema `name` (and are tagged with it)."""
        url = self.base.update_query_dict(
            {"options": f"-csearch_path={name}", "application_name": name}
        )
        return url.render_as_string(hide_password=False)

    def create(self) -> str:
        """A new, empty schema."""
        name = f"t_{self.run}_{uuid.uuid4().hex[:8]}"
        with self.admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
        self.live.add(name)
        return name

    def lend(self) -> str:
        """A schema migrated to head with no rows: an idle one, or a new one."""
        if self.idle:
            return self.idle.pop()
        name = self.create()
        engine = make_engine(self.url_for(name))
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        return name

    def give_back(self, name: str) -> None:
        """Empty a lent schema for the next test; drop it if the test left it changed."""
        try:
            with self.admin.begin() as conn:
                self._end_connections(conn, name)
                conn.execute(text(f"SET LOCAL search_path TO {name}"))
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if version != _head():
                    raise LookupError(f"schema {name} is no longer at {_head()}")
                conn.exec_driver_sql(_empty_tables_sql())
        except (SQLAlchemyError, LookupError):  # any doubt about the schema: start afresh
            self.drop(name)
        else:
            self.idle.append(name)

    def drop(self, name: str) -> None:
        """Drop schema `name`, first ending any connection a test left open on it."""
        with self.admin.begin() as conn:
            self._end_connections(conn, name)
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        self.live.discard(name)

    def close(self) -> None:
        """Drop every schema this session made and release the admin connection."""
        for name in list(self.live):
            self.drop(name)
        self.idle.clear()
        self.guard.close()  # releases this run's advisory lock
        self.admin.dispose()

    def _sweep(self) -> None:
        """Drop the schemas of earlier runs that died before cleaning up."""
        names = self.guard.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname ~ '^t_[0-9a-f]{8}_[0-9a-f]{8}$'")
        ).scalars()
        for name in list(names):
            run = name[2:10]
            if run == self.run:
                continue
            if self.guard.execute(text("SELECT pg_try_advisory_lock(:c, :k)"), _lock(run)).scalar():
                try:
                    self.drop(name)
                finally:
                    self.guard.execute(text("SELECT pg_advisory_unlock(:c, :k)"), _lock(run))
        self.guard.commit()

    @staticmethod
    def _end_connections(conn: Connection, name: str) -> None:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )


_LOCK_CLASS = 0x436F7265  # "Core": keeps our advisory locks apart from any the app takes


def _lock(run: str) -> dict[str, int]:
    """Advisory lock arguments for a run id (8 hex digits, mapped into PostgreSQL's int4)."""
    return {"c": _LOCK_CLASS, "k": int(run, 16) - 2**31}


@functools.cache
def _empty_tables_sql() -> str:
    """One round trip that deletes every row (children first) and restarts every id at 1. The
    audit table refuses DELETE (a row trigger), so it is truncated, which row triggers allow."""
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    deletes = [
        f'{"TRUNCATE" if table.name == "auditentry" else "DELETE FROM"} "{table.name}"'
        for table in tables
    ]
    restarts = [
        f"setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), 1, false)"
        for table in tables
        if "id" in table.c
    ]
    return "; ".join([*deletes, "SELECT " + ", ".join(restarts)])


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas | None]:
    """The schema manager when TEST_DATABASE_URL is set, else None (tests use SQLite)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield None
        return
    schemas = PostgresSchemas(url)
    yield schemas
    schemas.close()


@pytest.fixture
def database_url(
    tmp_path: Path, postgres_schemas: PostgresSchemas | None, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The URL of this test's own database: empty, unless the test also uses `engine`."""
    if postgres_schemas is None:
        yield f"sqlite:///{tmp_path / 'coregroup.db'}"
        return
    if "engine" in request.fixturenames:
        name = postgres_schemas.lend()
        yield postgres_schemas.url_for(name)
        postgres_schemas.give_back(name)
    else:
        name = postgres_schemas.create()
        yield postgres_schemas.url_for(name)
        postgres_schemas.drop(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; each test copies it."""
    path = tmp_path_factory.mktemp("template") / "coregroup.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def engine(database_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on this test's own database, migrated to the newest schema and empty."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        shutil.copyfile(request.getfixturevalue("sqlite_template"), url.database)
    eng = make_engine(database_url)
    if url.get_backend_name() != "sqlite" and current_revision(eng) != _head():
        upgrade(eng)  # only when `engine` was requested late, after an empty schema was made
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the test database; commit explicitly when a test needs a fresh read."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


# --- time ---------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at Mon 23 Nov 2026 09:00 Europe/London."""
    return FakeClock(CLOCK_START)


# --- logging ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo any logging set-up a test ran (`coregroup run` configures the root logger on the
    stderr of that moment, which pytest closes after the test), so later tests log nowhere odd."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
