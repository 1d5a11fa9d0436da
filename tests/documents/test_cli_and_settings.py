"""The command line for documents and contact details, and the settings checked at start-up."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.core.ports import DeliveryError
from bot.messages import Attachment
from storage.models import AuditEntry, Person
from tests.documents.conftest import publish
from tests.documents.realistic import REF, Built
from tests.factories import clear_settings_environment, named
from tests.scenarios.conftest import ChatDriver
from tests.smtp import SmtpServer


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_export_writes_the_published_minutes_and_audits_it(
    chat: ChatDriver,
    long_group: Built,
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    code, _, err = run(
        capsys, "minutes", "export", "--case", REF, "--meeting", "1", "--format", "docx"
    )
    assert code == 2 and "meeting 1 of CP-2027-0301 has no minutes yet" in err
    publish(chat)
    code, out, err = run(
        capsys, "minutes", "export", "--case", REF, "--meeting", "1", "--format", "docx"
    )
    assert code == 0, err
    path = tmp_path / f"{REF}-meeting-1-minutes-v1.docx"
    assert out.strip() == f"Wrote full minutes of meeting 1 of {REF} to {path}"
    assert docx.Document(str(path)).paragraphs[0].text == f"Core group minutes: {REF}, meeting 1"
    code, out, _ = run(
        capsys,
        *("minutes", "export", "--case", REF, "--meeting", "1", "--format", "md"),
        *("--copy", "family", "--out", str(tmp_path / "family.md")),
    )
    assert code == 0 and "family version" in out
    assert "family's copy" in (tmp_path / "family.md").read_text(encoding="utf-8")
    with Session(engine) as s:
        assert (
            len(s.exec(select(AuditEntry).where(AuditEntry.what == "minutes:export-cli")).all())
            == 2
        )


def test_cli_export_explains_bad_input(
    long_group: Built,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    code, _, err = run(
        capsys, "minutes", "export", "--case", "CP-9999-0001", "--meeting", "1", "--format", "pdf"
    )
    assert code == 2 and "no core group has the case reference 'CP-9999-0001'" in err
    code, _, err = run(
        capsys, "minutes", "export", "--case", REF, "--meeting", "1", "--format", "odt"
    )
    assert code == 2 and "invalid choice: 'odt'" in err
    code, _, err = run(
        capsys, "minutes", "export", "--case", REF, "--meeting", "9", "--format", "pdf"
    )
    assert code == 2 and "9" in err


def test_cli_member_email_records_checks_and_clears_an_address(
    long_group: Built,
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    code, out, _ = run(
        capsys,
        "member",
        "email",
        "--case",
        REF,
        "--name",
        "Ffion Hughes",
        "--email",
        "ffion@bip.wales",
    )
    assert (
        code == 0
        and out.strip() == "Ffion Hughes's copies of the minutes will go by email to f…@bip.wales."
    )
    with Session(engine) as s:
        ffion = s.exec(select(Person).where(named(s, "Ffion Hughes"))).one()
        assert ffion.email == "ffion@bip.wales" and ffion.outside_chat
    code, _, err = run(
        capsys, "member", "email", "--platform", "local", "--user", "ffion", "--email", "nope"
    )
    assert code == 2 and "isn't an email address I can use" in err
    code, out, _ = run(
        capsys, "member", "email", "--platform", "local", "--user", "ffion", "--clear"
    )
    assert code == 0 and "removed" in out
    code, _, err = run(capsys, "member", "email", "--name", "Ffion Hughes", "--clear")
    assert code == 2 and "--name needs --case" in err


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"smtp_host": "smtp.council.gov.uk"}, "SMTP_FROM: set the address emails come from"),
        ({"smtp_from": "not an address"}, "SMTP_FROM: An email address must have an @-sign"),
        (
            {"smtp_host": "h", "smtp_from": "bot@council.gov.uk", "smtp_username": "u"},
            "SMTP_USERNAME and SMTP_PASSWORD: set both, or neither",
        ),
        ({"smtp_ssl": True}, "SMTP_SSL: implicit TLS (port 465) and SMTP_STARTTLS can't both"),
        (
            {"email_delivery": "link"},
            "EMAIL_DELIVERY=link needs PUBLIC_URL and DOCUMENT_LINK_SECRET",
        ),
        ({"document_link_secret": "short"}, "DOCUMENT_LINK_SECRET: use at least 32"),
        ({"public_url": "http://bot.council.gov.uk"}, "PUBLIC_URL: must be an https:// address"),
        ({"documents_template": "/no/such/template.docx"}, "DOCUMENTS_TEMPLATE: no such file"),
    ],
)
def test_bad_document_and_email_settings_stop_the_bot_with_the_variable_named(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, **settings)
    assert message in str(raised.value)


def test_run_refuses_a_broken_council_template(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "council.docx"
    broken.write_bytes(b"not a docx")
    monkeypatch.setenv("DOCUMENTS_TEMPLATE", str(broken))
    code, _, err = run(capsys, "run")
    assert code == 2
    assert "DOCUMENTS_TEMPLATE: The council's Word template (council.docx" in err


def test_a_mail_server_without_starttls_is_never_sent_to_in_the_clear(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    from tests.smtp import _free_port, _Handler

    handler = _Handler()
    port = _free_port()
    plain = Controller(handler, hostname="127.0.0.1", port=port)  # offers no STARTTLS
    plain.start()
    try:
        folder = tmp_path / "tls"
        folder.mkdir()
        mailer = SmtpServer(folder).mailer(port=port)
        with pytest.raises(DeliveryError) as raised:
            mailer.send(
                to="gp@castle.nhs.uk",
                subject="x",
                text="x",
                attachment=Attachment("a.pdf", "application/pdf", b"%PDF", "a"),
            )
    finally:
        plain.stop()
    assert "does not offer STARTTLS" in str(raised.value) and not raised.value.retryable
    assert handler.received == []


def test_an_unreachable_mail_server_is_worth_trying_again(smtp: SmtpServer) -> None:
    from tests.smtp import _free_port

    mailer = smtp.mailer(port=_free_port())
    with pytest.raises(DeliveryError) as raised:
        mailer.send(to="gp@castle.nhs.uk", subject="x", text="x", attachment=None)
    assert raised.value.retryable and "could not be reached" in str(raised.value)
