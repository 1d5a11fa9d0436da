"""Journey 8, the record leaves the chat, through the local chat and a real SMTP server: every
member gets their copy the way they can receive it, each copy is logged, bounces reach the chair,
and the circulation deadline is met only when every member has a copy."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import docx
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from storage.enums import DeliveryMethod, DeliveryStatus, MinutesStatus
from storage.models import AuditEntry, Distribution, Minutes, MinutesVersion, Person
from tests.documents.conftest import publish
from tests.documents.realistic import GP_EMAIL, LONDON, NO_ROUTE, POLICE_EMAIL, REF, Built
from tests.factories import named
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_minutes import button, to
from tests.smtp import SmtpServer


def saved(out: str, header: str) -> Path:
    """The file the local chat saved for a message under `header`."""
    found = re.findall(r"\[file\] \S+ \([\d,]+ bytes\) saved to (\S+)", to(out, header))
    assert found, f"no file under {header}"
    return Path(found[-1])


def pdf_text(data: bytes) -> str:
    return " ".join(
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages
    )


def rows(engine: Engine) -> dict[str, Distribution]:
    with Session(engine) as s:
        found = s.exec(select(Person, Distribution).join(Distribution)).all()
        return {p.display_name: d for p, d in found}


def minutes_row(engine: Engine) -> Minutes:
    with Session(engine) as s:
        return s.exec(select(Minutes)).one()


def test_journey_8_the_record_leaves_the_chat(
    mail_chat: ChatDriver, long_group: Built, engine: Engine, smtp: SmtpServer, clock: FakeClock
) -> None:
    smtp.refuse(POLICE_EMAIL)
    out = publish(mail_chat)

    # The parent gets the family version, the young person his own short one, both as files.
    family = saved(out, "[DM to dafydd]")
    assert family.name == f"{REF}-meeting-1-minutes-family-version-v1.pdf"
    assert "family's copy of the minutes" in pdf_text(family.read_bytes())
    young = to(out, "[DM to gwenllian]")
    assert "Your core group meeting on Wed 3 Feb 2027, 10:00" in young
    assert "you can talk to Siân Llywelyn" in young
    assert "Neglect" not in young
    assert saved(out, "[DM to gwenllian]").name.endswith("young-persons-version-v1.pdf")

    # The GP practice, outside the workspace, gets an email over STARTTLS with the PDF.
    [mail] = [m for m in smtp.received if GP_EMAIL in m.recipients]
    assert mail.tls and mail.sender == "core-group-bot@council.gov.uk"
    message = mail.message
    assert message["Subject"] == f"{REF}: minutes of the core group on Wed 3 Feb 2027, 10:00"
    assert "Gwenllïan" not in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Dear Dr Bjørn Ødegård," in text and "attached as a PDF" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{REF}-meeting-1-minutes-v1.pdf"
    body = pdf_text(attachment.get_content())
    assert "1. Meeting details" in body and "11. Next meeting and who gets these minutes" in body
    assert "Ysgol Gymraeg Bro Ŵyr" in body

    # The police officer's address is refused: logged as bounced, the chair told; nothing else lost.
    log = rows(engine)
    assert log["PC Niamh Ó Briain"].status == DeliveryStatus.BOUNCED
    assert "550" in log["PC Niamh Ó Briain"].detail
    assert POLICE_EMAIL not in log["PC Niamh Ó Briain"].detail  # masked, even in the log
    delivered = [n for n, d in log.items() if d.status == DeliveryStatus.DELIVERED]
    assert len(delivered) == 6
    assert log[NO_ROUTE].status == DeliveryStatus.NO_ROUTE
    report = to(out, "[DM to sian]")
    assert "6 of 8 members have their copy" in report
    assert "Bounced: PC Niamh Ó Briain" in report
    assert f"To send by other means (no chat account or email address): {NO_ROUTE}" in report
    assert minutes_row(engine).circulated_at is None

    # The chair downloads the DOCX for the case system and clicks "recorded on the case system".
    out = mail_chat("/coregroup minutes export docx")
    path = saved(out, "[DM to sian]")
    word = docx.Document(str(path))
    assert word.paragraphs[0].text == f"Core group minutes: {REF}, meeting 1"
    assert "I've sent you the full minutes as Word (DOCX)" in to(out, "[to ")
    out = mail_chat(f"click {button(mail_chat.out.getvalue(), 'Recorded on the case system')}")
    assert "are on the case system" in out and "on time" in out
    assert minutes_row(engine).recorded_at is not None

    # The chair's view shows who received which copy, how and when, and which bounced.
    out = mail_chat("/coregroup minutes")
    assert "Copies: 6 of 8 members have theirs" in out
    assert "Dr Bjørn Ødegård — full minutes, by email (b…@castell.nhs.wales): delivered" in out
    assert "PC Niamh Ó Briain — full minutes, by email (n…@heddlu.police.uk): BOUNCED" in out
    assert "Gwenllïan ap Dafydd — young person's version, by direct message in chat" in out
    assert GP_EMAIL not in out and POLICE_EMAIL not in out
    # Other members see how each copy went, but not where an email went.
    out = mail_chat("as zoe\n/coregroup minutes")
    assert "Dr Bjørn Ødegård — full minutes, by email: delivered" in out
    assert "castell.nhs.wales" not in out and "heddlu.police.uk" not in out
    mail_chat("as sian")

    # The address is fixed at the relay; resending reaches her. Nain gets hers by post.
    smtp.accept(POLICE_EMAIL)
    clock.advance(timedelta(days=1))
    out = mail_chat("/coregroup minutes resend @niamh")
    assert "Sending again:" in out and "PC Niamh Ó Briain — by email" in out
    assert rows(engine)["PC Niamh Ó Briain"].status == DeliveryStatus.DELIVERED
    assert len([m for m in smtp.received if POLICE_EMAIL in m.recipients]) == 1
    with Session(engine) as s:
        nain = s.exec(select(Person).where(named(s, NO_ROUTE))).one()
    out = mail_chat(f'/coregroup minutes sent @{nain.display_name.split()[0]} "by post on 4 Feb"')
    assert "Logged: Nain Morfudd Jones has their copy" in out
    assert "Every member now has their copy: circulation done, on time." in out
    row = minutes_row(engine)
    assert row.circulated_at is not None
    assert row.circulated_at.astimezone(LONDON).date() <= row.circulate_due
    out = mail_chat("/coregroup minutes")
    assert "Nain Morfudd Jones — family version, by other means: by post on 4 Feb: delivered" in out
    assert "Copies sent to all members: done Thu 4 Feb 2027 — on time" in out


def test_a_temporary_refusal_is_retried_later_and_then_delivered(
    mail_chat: ChatDriver, long_group: Built, engine: Engine, smtp: SmtpServer
) -> None:
    smtp.refuse(GP_EMAIL, "451 4.7.1 greylisted, try again later")
    publish(mail_chat)
    gp = rows(engine)["Dr Bjørn Ødegård"]
    assert gp.status == DeliveryStatus.PENDING and "451" in gp.detail
    out = mail_chat("/coregroup minutes")
    assert "Dr Bjørn Ødegård — full minutes, by email (b…@castell.nhs.wales): waiting to try" in out
    smtp.accept(GP_EMAIL)
    mail_chat("clock +5m")
    assert rows(engine)["Dr Bjørn Ødegård"].status == DeliveryStatus.PENDING  # not yet due
    mail_chat("clock +10m")
    assert rows(engine)["Dr Bjørn Ødegård"].status == DeliveryStatus.DELIVERED
    assert len([m for m in smtp.received if GP_EMAIL in m.recipients]) == 1


def test_without_email_set_up_copies_for_people_outside_chat_bounce_and_the_chair_knows(
    chat: ChatDriver, long_group: Built, engine: Engine
) -> None:
    out = publish(chat)
    log = rows(engine)
    assert log["Dr Bjørn Ødegård"].status == DeliveryStatus.BOUNCED
    assert "email is not set up" in log["Dr Bjørn Ødegård"].detail
    assert "Bounced: Dr Bjørn Ødegård, PC Niamh Ó Briain" in to(out, "[DM to sian]")


def test_the_circulation_reminder_names_what_is_missing_once_published(
    mail_chat: ChatDriver, long_group: Built, smtp: SmtpServer, clock: FakeClock
) -> None:
    publish(mail_chat)  # Nain has no copy: the deadline (Wed 10 Feb) is not met
    out = mail_chat("clock 2027-02-10 09:30")
    reminder = to(out, "[DM to sian]")
    assert "Minutes due to every member · CP-2027-0301" in reminder
    assert "They're published, but not every member has their copy yet" in reminder


def test_email_addresses_are_recorded_checked_and_never_shown_to_other_members(
    chat: ChatDriver, long_group: Built, engine: Engine
) -> None:
    out = chat("as sian\n/coregroup add @bjorn gp email not-an-address")
    assert "isn't an email address I can use" in out
    assert "You typed: /coregroup add @bjorn gp email not-an-address" in out
    out = chat('/coregroup add "Castle Surgery" gp email Reception@Castle.NHS.uk')
    assert "Castle Surgery's copies of the minutes will go by email to R…@castle.nhs.uk" in to(
        out, "[to "
    )
    assert "Castle Surgery has joined the core group as GP." in out
    space = to(out, "[#")
    assert "Reception" not in space and "castle.nhs.uk" not in space
    with Session(engine) as s:
        surgery = s.exec(select(Person).where(named(s, "Castle Surgery"))).one()
        assert surgery.email == "Reception@castle.nhs.uk" and surgery.outside_chat
    out = chat("as zoe\n/coregroup members")
    assert "Castle Surgery — GP" in out and "castle" not in out.lower().replace(
        "castle surgery", ""
    )
    out = chat("as sian\n/coregroup add @bjorn gp email none")
    assert "email address is removed" in out


def test_export_needs_published_minutes_and_a_known_format(
    chat: ChatDriver, long_group: Built, engine: Engine
) -> None:
    out = chat("as sian\n/coregroup minutes export pdf")
    assert "No minutes have been drafted for CP-2027-0301 yet" in out
    chat("as ffion\n/coregroup draft")
    out = chat("as sian\n/coregroup minutes export pdf")
    assert "aren't published yet (version 1 is still being checked)" in out
    assert "You typed: /coregroup minutes export pdf" in out
    out = chat("/coregroup minutes export odt")
    assert "I can make the minutes as docx (Word), pdf or md (Markdown)" in out
    assert "I don't know 'odt'" in out
    out = chat("/coregroup minutes export famly pdf")
    assert "Did you mean `family`?" in out
    with Session(engine) as s:
        assert s.exec(select(Minutes)).one().status == MinutesStatus.DRAFT
        assert len(s.exec(select(MinutesVersion)).all()) == 1


def test_the_family_export_only_their_own_version_and_outsiders_learn_nothing(
    chat: ChatDriver, long_group: Built, engine: Engine
) -> None:
    publish(chat)
    out = chat("as dafydd\n/coregroup minutes export docx")
    assert "The full minutes are for the professionals in the group." not in out
    path = saved(out, "[DM to dafydd]")
    assert path.name.endswith("minutes-family-version-v1.docx")
    out = chat("/coregroup minutes export full pdf")
    assert "The full minutes are for the professionals in the group." in out
    out = chat("as gwenllian\n/coregroup minutes export")
    assert saved(out, "[DM to gwenllian]").name.endswith("young-persons-version-v1.pdf")
    out = chat("as stranger\n/coregroup minutes export pdf CP-2027-0301")
    assert "[file]" not in out and "Gwenllïan" not in out and "published" not in out
    with Session(engine) as s:
        exports = s.exec(select(AuditEntry).where(AuditEntry.what == "minutes:export")).all()
        assert len(exports) == 2  # each file handed out is audited


def test_a_broken_council_template_refuses_the_docx_and_changes_nothing(
    engine: Engine, clock: FakeClock, long_group: Built, tmp_path: Path
) -> None:
    from bot.core.context import Locale
    from bot.core.documents.model import DocumentOptions

    broken = tmp_path / "council.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    chat = ChatDriver(
        engine,
        clock,
        tmp_path / "files",
        locale=Locale(documents=DocumentOptions(template=broken)),
    )
    out = publish(chat)  # the copies are PDFs, so publishing still works
    assert "Every member" in to(out, "[DM to sian]") or "members have their copy" in out
    before = rows(engine)
    out = chat("/coregroup minutes export docx")
    assert "The council's Word template (council.docx, set in DOCUMENTS_TEMPLATE)" in out
    assert "isn't a Word .docx file I can open" in out and "export pdf" in out
    assert "[file]" not in out
    assert rows(engine) == before
    out = chat("/coregroup minutes export pdf")
    assert saved(out, "[DM to sian]").suffix == ".pdf"


def test_copies_go_to_the_members_at_publishing_and_each_only_once(
    mail_chat: ChatDriver, long_group: Built, engine: Engine, smtp: SmtpServer, clock: FakeClock
) -> None:
    publish(mail_chat)
    first = len(smtp.received)
    clock.set(datetime(2027, 2, 4, 9, 0, tzinfo=LONDON))
    mail_chat("clock +1h")
    assert len(smtp.received) == first
    with Session(engine) as s:
        methods = {d.method for d in s.exec(select(Distribution)).all()}
    assert methods == {DeliveryMethod.CHAT, DeliveryMethod.EMAIL, DeliveryMethod.OTHER}


def test_where_the_council_prefers_links_the_email_carries_a_signed_link_instead(
    engine: Engine, clock: FakeClock, long_group: Built, smtp: SmtpServer, tmp_path: Path
) -> None:
    import requests

    from bot.adapters.downloads import download_routes
    from bot.adapters.signed_links import LinkSigner
    from bot.adapters.web import WebServer, build_web_app
    from bot.core.context import Locale
    from bot.distribution import DistributionSettings

    signer = LinkSigner(secret="s" * 40, base_url="http://127.0.0.1", clock=clock)
    server = WebServer(
        build_web_app(engine, download_routes(engine=engine, locale=Locale(), signer=signer)),
        host="127.0.0.1",
    ).start()
    signer.base_url = server.url
    try:
        chat = ChatDriver(
            engine,
            clock,
            tmp_path / "files",
            mailer=smtp.mailer(),
            links=signer,
            distribution=DistributionSettings(email_links=True, email_link_ttl=timedelta(hours=72)),
        )
        publish(chat)
        [mail] = [m for m in smtp.received if GP_EMAIL in m.recipients]
        assert list(mail.message.iter_attachments()) == []
        text = mail.message.get_body(preferencelist=("plain",)).get_content()
        assert "can be downloaded from this link until Sat 6 Feb 2027, 11:30" in text
        [url] = re.findall(r"http://127\.0\.0\.1:\d+/documents/\S+", text)
        answer = requests.get(url, timeout=30)
        assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
        clock.advance(timedelta(hours=73))
        assert requests.get(url, timeout=30).status_code == 404
    finally:
        server.stop()
