"""The tamper-evident audit log: hash chain, daily seals, `coregroup audit verify`, the trigger."""

from __future__ import annotations

import base64
import logging
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from bot.audit_key import audit_key
from bot.cli import main
from bot.config import load_settings
from storage.audit_chain import canonical, link
from storage.db import make_engine, upgrade
from storage.enums import AuditKind
from storage.models import AuditChain, AuditEntry, AuditSeal

KEY = base64.b64encode(b"k" * 32).decode()
DAY1 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET_DETAIL = "minutes=7 copy=full"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, database_url: str, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AUDIT_KEY", KEY)

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out + err

    return run


def add_entries(engine: Engine, *moments: datetime, detail: str = SECRET_DETAIL) -> None:
    with Session(engine) as session:
        for n, at in enumerate(moments):
            session.add(AuditEntry(at=at, kind=AuditKind.READ, what=f"command:x{n}", detail=detail))
        session.commit()


def raw(engine: Engine, sql: str, **params: object) -> None:
    """Change the database behind the bot's back (as an intruder would), triggers off on PG."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)


def test_rows_are_chained_in_order_and_verify_passes(engine: Engine, cli) -> None:
    add_entries(engine, DAY1, DAY1 + timedelta(minutes=1))
    add_entries(engine, DAY1 + timedelta(minutes=2))
    with Session(engine) as s:
        rows = s.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()
        head = s.get(AuditChain, 1)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == "0" * 64
    for before, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == before.row_hash
        assert row.row_hash == link(before.row_hash, row.content())
    assert head is not None and (head.seq, head.last_hash) == (3, rows[-1].row_hash)
    assert cli("audit", "verify") == (0, "The audit log is intact: 3 rows, 0 sealed days.\n")


def test_a_hand_edited_row_is_named_by_id_and_date_never_its_content(engine: Engine, cli) -> None:
    add_entries(engine, DAY1, DAY1 + timedelta(days=1), DAY1 + timedelta(days=2))
    raw(engine, "UPDATE auditentry SET detail = :d WHERE seq = 2", d="minutes=8 copy=family")
    code, out = cli("audit", "verify")
    assert code == 1
    assert "BROKEN at row 2 of 2026-11-24: its content was changed" in out
    assert "1 rows before it are intact" in out
    assert "minutes=" not in out


def test_a_removed_row_and_a_removed_last_row_are_caught(engine: Engine, cli) -> None:
    add_entries(engine, DAY1, DAY1, DAY1, DAY1)
    raw(engine, "DELETE FROM auditentry WHERE seq = 4")
    assert cli("audit", "verify") == (
        1,
        "The audit log is BROKEN at its end: rows after row 3 are missing.\n"
        "3 rows before it are intact.\n",
    )
    raw(engine, "DELETE FROM auditentry WHERE seq = 2")
    code, out = cli("audit", "verify")
    assert code == 1 and "BROKEN at row 3 of 2026-11-23: a row before it is missing" in out


def test_seals_catch_a_chain_rewritten_consistently_without_the_key(engine: Engine, cli) -> None:
    add_entries(engine, DAY1, DAY1 + timedelta(hours=1), DAY1 + timedelta(days=1))
    key = base64.b64decode(KEY)
    from bot.core.audit_log import seal_days

    with Session(engine) as s:
        assert seal_days(s, key, DAY1 + timedelta(days=2)) == [
            DAY1.date(),
            DAY1.date() + timedelta(1),
        ]
        s.commit()
        seals = s.exec(select(AuditSeal).order_by(AuditSeal.day)).all()
        assert [seal.last_seq for seal in seals] == [2, 3]
        assert seal_days(s, key, DAY1 + timedelta(days=3)) == []
    assert cli("audit", "verify")[1].startswith("The audit log is intact: 3 rows, 2 sealed days")

    # The intruder changes row 2 and recomputes every hash after it, and the chain head.
    with Session(engine) as s:
        rows = s.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()
    last = rows[0].row_hash
    for row in rows[1:]:
        detail = "forged" if row.seq == 2 else row.detail
        content = canonical(
            at=row.at, actor=None, group=None, kind=row.kind, what=row.what, detail=detail
        )
        new = link(last, content)
        raw(
            engine,
            "UPDATE auditentry SET detail = :d, prev_hash = :p, row_hash = :h WHERE seq = :s",
            d=detail,
            p=last,
            h=new,
            s=row.seq,
        )
        last = new
    raw(engine, "UPDATE auditchain SET last_hash = :h", h=last)
    code, out = cli("audit", "verify")
    assert code == 1
    assert "BROKEN at the seal of 2026-11-23: the day's rows do not match its seal" in out

    raw(engine, "UPDATE auditseal SET mac = :m WHERE day = :d", m="0" * 64, d=DAY1.date())
    code, out = cli("audit", "verify")
    assert code == 1 and "the seal of 2026-11-23: the day's seal is not genuine" in out


def test_audit_seal_command_seals_finished_days(engine: Engine, cli) -> None:
    add_entries(engine, datetime(2026, 1, 5, 12, tzinfo=UTC))
    code, out = cli("audit", "seal")
    assert (code, out) == (0, "Sealed 1 day(s): 2026-01-05.\n")


def test_several_writers_at_once_keep_one_unbroken_chain(engine: Engine, cli) -> None:
    def writer() -> None:
        for _ in range(10):
            add_entries(engine, DAY1, DAY1)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cli("audit", "verify") == (0, "The audit log is intact: 80 rows, 0 sealed days.\n")


def test_the_migration_chains_rows_written_before_it(database_url: str, cli) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0005_slack_delivery")
        with engine.begin() as conn:
            for n in range(3):
                conn.execute(
                    text(
                        "INSERT INTO auditentry (at, kind, what, detail) "
                        "VALUES (:at, 'read', :w, '')"
                    ),
                    {
                        "at": DAY1.replace(tzinfo=None) if conn.dialect.name == "sqlite" else DAY1,
                        "w": f"old:{n}",
                    },
                )
        upgrade(engine)
        add_entries(engine, DAY1 + timedelta(hours=1))
        assert cli("audit", "verify") == (0, "The audit log is intact: 4 rows, 0 sealed days.\n")
    finally:
        engine.dispose()


def test_postgresql_refuses_update_and_delete_of_audit_rows(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    add_entries(engine, DAY1)
    for sql in ("UPDATE auditentry SET detail = 'x'", "DELETE FROM auditentry"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))


def test_a_missing_key_is_made_once_as_a_private_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    path = tmp_path / "data" / "audit.key"
    settings = load_settings(audit_key_file=path)
    with caplog.at_level(logging.INFO, logger="bot.audit_key"):
        first = audit_key(settings)
        assert audit_key(settings) == first and len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len([r for r in caplog.records if "created the audit sealing key" in r.message]) == 1


def test_a_bad_audit_key_stops_the_bot_with_the_variable_named() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="AUDIT_KEY: give 32 random bytes in base64"):
        load_settings(audit_key=base64.b64encode(b"short").decode())


def test_a_command_records_which_numbered_record_it_read(engine: Engine, clock) -> None:
    from tests.scenarios.conftest import ChatDriver

    chat = ChatDriver(engine, clock)
    chat(
        """
        as sam
        /coregroup new CP-2026-0142 icpc 20/11/2026
        in #cg-cp-2026-0142
        /coregroup add @jo parent
        /coregroup outcome add "The home is warm"
        /coregroup action @jo to call the Zanzibar clinic by Friday outcome 1
        /coregroup action 1
        """
    )
    with Session(engine) as s:
        read = s.exec(
            select(AuditEntry).where(AuditEntry.what == "command:action").order_by(AuditEntry.seq)
        ).all()
    assert [r.detail for r in read] == ["n=1", "n=1"]  # added (numbers only: "outcome 1"), read
    assert all("Zanzibar" not in r.detail for r in read)
