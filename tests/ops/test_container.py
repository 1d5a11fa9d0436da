"""The container image and compose file, checked without a Docker daemon.

The Dockerfile is parsed for what an IT team's image scanner looks for (multi-stage, slim base,
a non-root user, a HEALTHCHECK, no secrets baked in, no compilers in the final image); compose.yaml
is validated against the Compose Specification's JSON schema (tests/specs/compose/SOURCE.md) and
checked for the start-up order `docker compose up` relies on.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.adapters.web import WebServer, build_web_app
from bot.healthcheck import health_url
from bot.healthcheck import main as healthcheck
from tests.specs import COMPOSE_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE", re.IGNORECASE)
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cc|libc6-dev|python3-dev)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """The Dockerfile's stages, each with its (INSTRUCTION, arguments) in order."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        else:
            assert stages, f"{keyword} before any FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text())


def test_the_image_is_built_in_stages_on_a_slim_python_base(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    for stage in stages:
        assert re.fullmatch(r"python:3\.1[1-9][\w.-]*-slim[\w.-]*", stage.base), stage.base
    final = stages[-1]
    copied = " ".join(final.all("COPY"))
    assert f"--from={stages[0].name}" in copied, "the final stage copies the built environment"


def test_the_final_stage_runs_as_an_unprivileged_user(stages: list[Stage]) -> None:
    users = stages[-1].all("USER")
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_the_final_stage_has_a_healthcheck_on_healthz(stages: list[Stage]) -> None:
    checks = stages[-1].all("HEALTHCHECK")
    assert checks and "NONE" not in checks[-1].upper()
    assert "bot.healthcheck" in checks[-1]  # which GETs /healthz (tested below)


def test_no_secret_is_baked_into_the_image(stages: list[Stage]) -> None:
    for stage in stages:
        for keyword in ("ENV", "ARG", "LABEL"):
            for args in stage.all(keyword):
                for token in shlex.split(args):
                    name = token.split("=", 1)[0]
                    assert not SECRET_WORDS.search(name), f"{keyword} {name} would hold a secret"
        copied = " ".join(stage.all("COPY") + stage.all("ADD"))
        assert ".env" not in copied.split()
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored, ".dockerignore starts from nothing, so no .env or database gets in"
    assert not any(line.startswith("!.env") for line in ignored)


def test_the_image_installs_the_versions_ci_tested(stages: list[Stage]) -> None:
    """The build installs with constraints.txt, which the build context lets in, on the Python
    minor the constraints were frozen on (their header says which)."""
    installs = [c for c in stages[0].all("RUN") if "pip install" in c]
    assert installs and all("-c constraints.txt" in c for c in installs), installs
    assert any("constraints.txt" in c.split() for c in stages[0].all("COPY"))
    assert "!constraints.txt" in (ROOT / ".dockerignore").read_text().splitlines()
    frozen = re.search(r"on Python (3\.\d+)", (ROOT / "constraints.txt").read_text()[:400])
    assert frozen, "constraints.txt's header names the Python it was frozen on"
    for stage in stages:
        assert stage.base.startswith(f"python:{frozen.group(1)}-"), stage.base


def test_the_final_stage_installs_no_compiler(stages: list[Stage]) -> None:
    for command in stages[-1].all("RUN"):
        assert not COMPILERS.search(command), command
        assert "apt-get install" not in command and "apk add" not in command, command


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.Draft201909Validator.check_schema(schema)
    validator = jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_a_wrong_compose_file_fails_the_schema() -> None:
    """The schema really checks: a misspelt key or a bad depends_on condition is caught."""
    validator = jsonschema.Draft201909Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    assert not validator.is_valid({"services": {"bot": {"imgae": "x"}}})
    bad = {"services": {"bot": {"image": "x", "depends_on": {"db": {"condition": "soon"}}}}}
    assert not validator.is_valid(bad)


def test_compose_runs_postgres_16_then_the_migration_then_the_bot(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    db, migrate, bot = services["db"], services["migrate"], services["bot"]
    assert db["image"].startswith("postgres:16")
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "the database lives on a named volume"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    for service in (migrate, bot):
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")


def test_compose_holds_no_secret_values(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if SECRET_WORDS.search(name) or "@" in str(value):
                assert "${POSTGRES_PASSWORD" in str(value), f"{name} is written in compose.yaml"
    example = (ROOT / ".env.example").read_text()
    for line in example.splitlines():
        if line and not line.startswith("#") and SECRET_WORDS.search(line.split("=")[0]):
            assert line.endswith("="), f"{line.split('=')[0]} has a value in .env.example"


def test_the_readme_says_how_to_run_it_for_real() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Run it for real" in readme
    assert "docker compose up" in readme.split("## Run it for real", 1)[1]


# --- the HEALTHCHECK's probe ----------------------------------------------------------------------


def test_the_probe_asks_the_port_of_the_configured_platform() -> None:
    assert health_url({"SLACK_BOT_TOKEN": "x", "PORT": "8080"}) == "http://127.0.0.1:8080/healthz"
    assert health_url({}) == "http://127.0.0.1:3000/healthz"
    teams = {"MICROSOFT_APP_ID": "id", "TEAMS_PORT": "4000"}
    assert health_url(teams) == "http://127.0.0.1:4000/healthz"
    assert health_url({"TEAMS_ANONYMOUS_DEV": "true"}) == "http://127.0.0.1:3978/healthz"


def test_the_probe_passes_on_a_healthy_bot_and_fails_when_none_listens(
    engine: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("SLACK_BOT_TOKEN", "MICROSOFT_APP_ID", "TEAMS_ANONYMOUS_DEV"):
        monkeypatch.delenv(name, raising=False)
    server = WebServer(build_web_app(engine), host="127.0.0.1").start()
    try:
        monkeypatch.setenv("PORT", str(server.port))
        assert healthcheck() == 0
    finally:
        server.stop()
    assert healthcheck() == 1
    assert "unhealthy" in capsys.readouterr().err
