"""Subject access exports: `coregroup export --case` and `--person` write a ZIP of JSON whose
manifest hashes every file and lists every redaction."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.core.subject_access import REDACTED
from storage.models import AuditEntry
from tests.documents.conftest import publish
from tests.documents.realistic import REF, Built
from tests.factories import clear_settings_environment
from tests.scenarios.conftest import ChatDriver

WORRY = "Dafydd missed the 28 Jan health appointment"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> None:
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)


def opened(path: Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and every other file, after checking each file's hash against it."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert listed.keys() == files.keys()
    for name, data in files.items():
        assert hashlib.sha256(data).hexdigest() == listed[name], name
    return manifest, files


def rows(files: dict[str, bytes], table: str) -> list[dict]:
    return json.loads(files[f"tables/{table}.json"])


def test_a_case_export_holds_every_row_and_the_published_minutes(
    chat: ChatDriver,
    long_group: Built,
    engine: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(chat)
    out = tmp_path / "sar.zip"
    assert main(["export", "--case", REF, "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("Wrote ")
    manifest, files = opened(out)
    assert manifest["subject"] == {"case": REF} and manifest["redactions"] == []
    assert rows(files, "case")[0]["reference"] == REF
    assert {p["id"] for p in rows(files, "person")} >= set(long_group.people.values())
    assert WORRY in [a["answer"] for a in rows(files, "updateanswer")]
    assert len(rows(files, "minutesversion")) >= 1
    # The record of the bot's own posts (ids only) is part of the case's rows too.
    assert "tables/sentmessage.json" in files
    assert any(name.startswith("documents/") and name.endswith(".docx") for name in files)
    invite_fields = {k for r in rows(files, "familyinvite") for k in r}
    assert "token_hash" not in invite_fields and "code_hash" not in invite_fields
    assert "familyinvite.code_hash" in manifest["withheld_fields"]
    with Session(engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.what == "export:case")).one()
        assert audit.group_id == long_group.group_id and REF not in audit.detail


def test_a_person_export_redacts_other_peoples_words_and_lists_each_redaction(
    long_group: Built, engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "zoe.zip"
    assert main(["export", "--person", "zoe", "--out", str(out)]) == 0
    manifest, files = opened(out)
    zoe = long_group.people["zoe"]
    assert manifest["subject"] == {"person": zoe}
    assert [p["id"] for p in rows(files, "person")] == [zoe]
    answers = rows(files, "updateanswer")
    assert WORRY not in json.dumps(answers, ensure_ascii=False)
    redacted = [a for a in answers if a["answer"] == REDACTED]
    assert redacted and all(
        {
            "file": "tables/updateanswer.json",
            "row": a["id"],
            "field": "answer",
            "why": "written by another person",
        }
        in manifest["redactions"]
        for a in redacted
    )
    assert any(a["answer"] not in ("", REDACTED) for a in answers)  # her own words stay
    others = rows(files, "other_people")
    assert others and all("display_name" not in p for p in others)
    assert "Ffion" not in b"".join(files.values()).decode()
    with Session(engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.what == "export:person")).one()
        assert audit.detail.startswith(f"person={zoe} ")


def test_an_unknown_person_or_case_is_a_usage_error(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--person", "nobody@example.org", "--out", str(tmp_path / "x")]) == 2
    assert "nobody has that email address or chat id" in capsys.readouterr().err
    assert main(["export", "--case", "CP-1999-0001", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
