"""The `coregroup` command line, run in-process through `bot.cli.main`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot import __version__
from bot.cli import main
from storage.db import head_revision
from tests.factories import clear_settings_environment


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's shell or a .env file in the working directory;
    only the test suite's DATA_KEY stays (tests/conftest.py)."""
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI; return its exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def deadlines(out: str) -> dict[str, list[str]]:
    """The JSON output's due dates by kind."""
    found: dict[str, list[str]] = {}
    for deadline in json.loads(out)["deadlines"]:
        found.setdefault(deadline["kind"], []).append(deadline["due"])
    return found


# --- version and database -----------------------------------------------------------------------


def test_version_names_the_package_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "version")
    assert code == 0 and err == ""
    assert out.startswith(f"coregroup-bot {__version__} (database schema {head_revision()}")


def test_db_upgrade_creates_the_schema_then_current_reports_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    head = head_revision()

    assert run(capsys, "db", "current")[1].endswith(
        "has no schema yet; run `coregroup db upgrade` to create it.\n"
    )
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and out.startswith("Database at ")
    assert out.endswith(f" upgraded to {head}.\n")
    assert run(capsys, "db", "upgrade")[1].endswith(f"is already at {head}; nothing to do.\n")
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and out.endswith(f"is at {head} (up to date).\n")


def test_db_upgrade_on_a_sqlite_file_names_the_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'coregroup.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert run(capsys, "db", "upgrade") == (
        0,
        f"Database at {url} upgraded to {head_revision()}.\n",
        "",
    )
    assert (tmp_path / "data" / "coregroup.db").exists()


def test_an_unreachable_database_is_reported_without_its_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://coregroup:s3cret@127.0.0.1:1/x")
    code, out, err = run(capsys, "db", "upgrade")
    assert code == 1 and out == ""
    assert "Cannot use the database at postgresql+psycopg://coregroup:***@127.0.0.1:1/x" in err
    assert "s3cret" not in err


def test_a_malformed_database_url_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url")
    code, _, err = run(capsys, "db", "current")
    assert code == 2
    assert "DATABASE_URL" in err and "sqlite:///" in err


# --- timescales ---------------------------------------------------------------------------------


def test_timescales_lists_each_deadline_with_its_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "timescales", "--icpc", "2026-12-18")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Timescales for a case with its ICPC on Fri 18 Dec 2026 (England)"
    assert lines[1] == (
        "Policy: the statutory guidance defaults (no POLICY_FILE or POLICY_* settings)"
    )
    assert lines[3].startswith("Wed 6 Jan 2027   First core group within 10 working days")
    assert "of the ICPC on Fri 18 Dec 2026 (England bank holidays)" in lines[3]
    assert lines[3].endswith(" — statutory guidance default")
    assert any(line.startswith("Thu 18 Mar 2027") for line in lines)  # first review: 3 months


def test_timescales_json_has_iso_dates_and_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "timescales", "--icpc", "2026-12-18", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["icpc"] == "2026-12-18" and payload["nation"] == "england"
    first = payload["deadlines"][0]
    assert set(first) == {"kind", "due", "basis", "rule"}
    assert (first["kind"], first["due"], first["basis"]) == (
        "first_meeting",
        "2027-01-06",
        "2026-12-18",
    )
    assert first["rule"].startswith("First core group within 10 working days of the ICPC")


def test_timescales_with_meetings_and_reviews(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "timescales",
        "--icpc",
        "2026-12-18",
        "--meeting",
        "2027-01-06",
        "--review",
        "2027-03-15",
        "--json",
    )
    assert code == 0
    assert deadlines(out) == {
        "first_meeting": ["2027-01-06"],
        "record": ["2027-01-08"],
        "circulate": ["2027-01-13"],
        "next_meeting": ["2027-02-17"],  # six weeks
        "pre_review_meeting": ["2027-03-01"],  # ten working days before the review
        "first_review": ["2027-03-18"],
        "after_review": ["2027-03-31"],  # skips Good Friday and Easter Monday
        "next_review": ["2027-09-15"],
    }


def test_timescales_with_repeated_meetings_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "timescales",
        "--icpc",
        "18/12/2026",
        "--meeting",
        "2027-01-06",
        "--meeting",
        "2027-02-10",
    )
    assert code == 0
    assert "Wed 24 Mar 2027  Next core group within 6 weeks of the core group on Wed 10 Feb" in out
    assert "Fri 12 Feb 2027  Written record on the case system within 2 working days" in out


def test_timescales_for_scotland_use_its_holidays_and_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "timescales", "--icpc", "2026-12-18", "--nation", "Scotland", "--json"
    )
    assert code == 0
    assert json.loads(out)["nation"] == "scotland"
    # 15 working days, skipping 25 and 28 Dec and 1 and 4 Jan (Scotland's 2 January holiday).
    assert deadlines(out)["first_meeting"] == ["2027-01-14"]


def test_timescales_skip_local_closure_days(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOSURE_DAYS", "2026-12-29, 2026-12-30, 2026-12-31")
    code, out, _ = run(capsys, "timescales", "--icpc", "2026-12-18")
    assert code == 0
    assert "Local closure days: Tue 29 Dec 2026, Wed 30 Dec 2026, Thu 31 Dec 2026" in out
    assert "Mon 11 Jan 2027  First core group within 10 working days" in out


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--icpc", "18-12-2026"], ['argument --icpc: "18-12-2026" is not a date', "2026-12-18"]),
        (["--icpc", "2026-02-30"], ["--icpc", "YYYY-MM-DD"]),
        (["--icpc", "2026-12-18", "--meeting", "soon"], ["--meeting", "e.g. --meeting 2027-"]),
        (["--icpc", "2026-12-18", "--nation", "france"], ["--nation", "northern-ireland"]),
        (["--icpc", "2026-12-18", "--meeting", "2026-12-01"], ["--meeting", "before the ICPC"]),
        (
            ["--icpc", "2026-12-18", "--review", "2026-12-18"],
            ["--review", "on the day of the ICPC"],
        ),
        ([], ["required: --icpc"]),
    ],
    ids=[
        "bad-date",
        "impossible-date",
        "bad-meeting",
        "unknown-nation",
        "meeting-before-icpc",
        "review-on-icpc",
        "missing-icpc",
    ],
)
def test_bad_timescales_input_gets_one_helpful_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: list[str]
) -> None:
    code, out, err = run(capsys, "timescales", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("coregroup timescales: ")
    for text in expected:
        assert text in err


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TZ_DISPLAY", "Mars/Olympus_Mons"), ("CLOSURE_DAYS", "2026-12-29,Boxing Day")],
)
def test_bad_configuration_names_the_variable_and_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    code, out, err = run(capsys, "timescales", "--icpc", "2026-12-18")
    assert code == 2 and out == ""
    assert variable in err and "Traceback" not in err


def test_an_unknown_command_gets_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "shedule")
    assert code == 2
    assert err.startswith("coregroup: ") and "'timescales'" in err


def test_a_command_group_without_its_command_shows_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "db")
    assert code == 2
    assert "upgrade" in err and "current" in err


# --- entry points -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [[str(Path(sys.executable).parent / "coregroup")], [sys.executable, "-m", "bot"]],
    ids=["console-script", "python-m-bot"],
)
def test_installed_entry_points_list_the_commands(command: list[str]) -> None:
    assert Path(command[0]).exists(), "console script missing: run `pip install -e .` first"
    result = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: coregroup")
    for name in ("version", "db", "timescales"):
        assert f"\n    {name}" in result.stdout


def test_the_readme_example_is_what_the_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ coregroup timescales ", 1)[1].split("```", 1)[0]
    command, expected = block.split("\n", 1)
    code, out, _ = run(capsys, "timescales", *command.split())
    assert code == 0 and out == expected


# --- coregroup run ------------------------------------------------------------------------------


def _coregroup(
    *argv: str, env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`python -m bot …` in a child process with exactly `env` (nothing from this shell)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_run_with_an_empty_environment_starts_the_local_chat(tmp_path: Path) -> None:
    # No DATA_KEY: the local chat makes its key file in its data directory (here under tmp_path).
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "XDG_DATA_HOME": str(tmp_path)}
    upgraded = _coregroup("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    key_file = tmp_path / "coregroup-bot" / "data-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert upgraded.stderr.count("made a data key at") == 1 and str(key_file) in upgraded.stderr

    chat = _coregroup("run", env=env, cwd=tmp_path, stdin="as sam\n/coregroup help\n")

    assert chat.returncode == 0, chat.stderr
    assert "local chat on sqlite:///" in chat.stdout
    assert "(you are now Sam" in chat.stdout
    assert "== Core group assistant — commands ==" in chat.stdout
    assert "Traceback" not in chat.stderr


def test_run_refuses_the_anonymous_teams_mode_beside_credentials(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "TEAMS_ANONYMOUS_DEV": "true",
        "MICROSOFT_APP_ID": "00000000-0000-0000-0000-00000000b0ff",
        "MICROSOFT_APP_PASSWORD": "not-a-real-secret",
        "MICROSOFT_APP_TENANT_ID": "11111111-2222-3333-4444-555555555555",
        "DATA_KEY": os.environ["DATA_KEY"],
    }
    assert _coregroup("db", "upgrade", env=env, cwd=tmp_path).returncode == 0

    refused = _coregroup("run", env=env, cwd=tmp_path)

    assert refused.returncode == 2
    assert "TEAMS_ANONYMOUS_DEV" in refused.stderr and "MICROSOFT_APP_ID" in refused.stderr
    assert "not-a-real-secret" not in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr


def test_an_unknown_log_level_names_the_variable(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "LOG_LEVEL": "chatty"}
    refused = _coregroup("run", env=env, cwd=tmp_path)
    assert refused.returncode == 2
    assert "LOG_LEVEL" in refused.stderr and "DEBUG" in refused.stderr


def test_run_serves_teams_while_microsofts_login_is_unreachable(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "MICROSOFT_APP_ID": "00000000-0000-0000-0000-00000000b0ff",
        "MICROSOFT_APP_PASSWORD": "not-a-real-secret",
        "MICROSOFT_APP_TENANT_ID": "11111111-2222-3333-4444-555555555555",
        # Port 9 (discard) has no listener here: every call to the login is refused.
        "TEAMS_AUTHORITY_URL": "https://127.0.0.1:9",
        "TEAMS_OPENID_METADATA_URL": "https://127.0.0.1:9/v1/.well-known/openidconfiguration",
        "TEAMS_HOST": "127.0.0.1",
        "TEAMS_PORT": "0",
        "LOG_LEVEL": "info",
        "DATA_KEY": os.environ["DATA_KEY"],
    }
    assert _coregroup("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert bot.stdout is not None
        started = bot.stdout.readline()
    finally:
        bot.terminate()
        out, err = bot.communicate(timeout=60)
    assert "running on Teams in authenticated Bot Framework mode" in started, started + err
    assert "on 127.0.0.1 port " in started
    assert "Traceback" not in err
    # One logging set-up: timestamped INFO lines, as LOG_LEVEL asks.
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO bot\.app: reminder", err, re.M), err


# --- the council's timescales -------------------------------------------------------------------

FOUR_WEEKLY = 'name = "North Borough\'s procedure"\n[default]\nmeeting_interval_days = "4 weeks"\n'


def test_timescales_with_a_policy_file_credit_each_rule(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(FOUR_WEEKLY, encoding="utf-8")
    code, out, err = run(
        capsys,
        "timescales",
        "--icpc",
        "2026-12-18",
        "--meeting",
        "2027-01-06",
        "--policy-file",
        str(policy),
    )
    assert code == 0 and err == ""
    assert f"Policy: North Borough's procedure from {policy}, over the statutory" in out
    assert (
        "Wed 3 Feb 2027   Next core group within 4 weeks of the core group on Wed 6 Jan 2027 — "
        "North Borough's procedure\n" in out
    )
    assert (
        "First core group within 10 working days" in out and "— statutory guidance default" in out
    )


def test_policy_show_says_where_each_value_came_from(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("scotland:\n  circulate_working_days: 3\n", encoding="utf-8")
    monkeypatch.setenv("POLICY_FILE", str(policy))
    monkeypatch.setenv("POLICY_NAME", "Fife's procedure")
    monkeypatch.setenv("POLICY_RECORD_WORKING_DAYS", "1")
    code, out, err = run(capsys, "policy", "show", "--nation", "scotland")
    assert code == 0 and err == ""
    assert "England" not in out
    assert (
        "  first_meeting_working_days         15 working days   Scotland's national guidance" in out
    )
    assert "  circulate_working_days             3 working days    Fife's procedure" in out
    assert "  record_working_days                1 working day     Fife's procedure" in out
    assert (
        "  meeting_interval_days              6 weeks           statutory guidance default" in out
    )


def test_a_looser_policy_allowed_is_shown_with_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_CIRCULATE_WORKING_DAYS", "10")
    code, _, err = run(capsys, "policy", "show")
    assert code == 2
    assert err.count("\n") == 1 and "circulate_working_days for England is 10 working days" in err
    monkeypatch.setenv("POLICY_ALLOW_LOOSER", "true")
    code, out, _ = run(capsys, "policy", "show")
    assert code == 0
    assert (
        "Looser than the default (POLICY_ALLOW_LOOSER=true): circulate_working_days for "
        "England is 10 working days, looser than the statutory guidance default of 5 working "
        "days." in out
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[default]\nmeeting_interval_days = 'fortnightly'\n", "meeting_interval_days = "),
        ("[default]\nmeetings = 28\n", "there is no timescale called 'meetings'"),
        ("[default\n", "is not valid TOML or YAML"),
    ],
)
def test_a_bad_policy_file_stops_start_up_with_one_clear_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    text: str,
    says: str,
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(text, encoding="utf-8")
    monkeypatch.setenv("POLICY_FILE", str(policy))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    code, out, err = run(capsys, "run")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
