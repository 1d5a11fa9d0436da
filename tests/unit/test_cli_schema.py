"""The command line with a database it does not match: newer than this version, and settings
it cannot read, each said in one line with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import main
from storage.db import make_engine
from tests.factories import clear_settings_environment


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's shell or a .env file in the working directory."""
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI; return its exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_database_newer_than_this_version_is_said_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert run(capsys, "db", "upgrade")[0] == 0
    engine = make_engine(database_url)
    with engine.begin() as conn:  # as a newer release's `db upgrade` would leave it
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    expected = "The database is newer than this version (0099_from_the_future); upgrade the bot."
    for argv in (("db", "upgrade"), ("db", "current")):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "", argv
        assert err.strip().splitlines() == [expected], argv


@pytest.mark.parametrize("value", ["2026-12-29,Boxing Day", "29/12/2026", "2026-13-01"])
def test_unreadable_closure_days_show_the_format_with_an_example(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CLOSURE_DAYS", value)
    code, out, err = run(capsys, "timescales", "--icpc", "2026-12-18")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "CLOSURE_DAYS" in err
    assert "YYYY-MM-DD" in err and "CLOSURE_DAYS=2026-12-29,2026-12-30" in err
