"""Email for members outside chat: the standard library's smtplib and email, over STARTTLS.

One connection per message keeps failures separate: a refused recipient fails only that copy.
The server's answer is classified the SMTP way — 4xx "try again later", 5xx "this will not work"
— and any address in it is masked before it reaches the chair's view or a log line. A refusal is
only what the server says while we send; a bounce email that arrives later is not read.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from bot.config import Settings
from bot.core.distribution import masked
from bot.core.ports import DeliveryError
from bot.messages import Attachment

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _masked_text(text: str) -> str:
    return _ADDRESS.sub(lambda m: masked(m.group()), " ".join(text.split()))[:300]


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send email (the SMTP_* settings)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    implicit_tls: bool = False
    timeout: float = 30.0
    ca_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings | None:
        """The SMTP settings, or None when SMTP_HOST is not set (no email)."""
        if not settings.smtp_host:
            return None
        assert settings.smtp_from is not None  # the settings check makes sure
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_ssl,
            timeout=settings.smtp_timeout,
            ca_file=settings.smtp_ca_file,
        )


class Mailer:
    """Sends one email at a time through the council's SMTP relay."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.ca_file is not None:
            context.load_verify_locations(cafile=str(self.settings.ca_file))
        return context

    def compose(
        self, *, to: str, subject: str, text: str, attachment: Attachment | None
    ) -> EmailMessage:
        """The email as it will be sent."""
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.partition("@")[2] or None)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        if attachment is not None:
            maintype, _, subtype = attachment.mime_type.partition(";")[0].partition("/")
            message.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        return message

    def send(self, *, to: str, subject: str, text: str, attachment: Attachment | None) -> str:
        """Send one email; returns its Message-ID. Raises DeliveryError (retryable or not)."""
        message = self.compose(to=to, subject=subject, text=text, attachment=attachment)
        s = self.settings
        try:
            if s.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=self._tls()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                client.ehlo()
                if s.starttls and not s.implicit_tls:
                    client.starttls(context=self._tls())
                    client.ehlo()
                if s.username and s.password:
                    client.login(s.username, s.password)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            raise _refused(code, answer) from None
        except smtplib.SMTPResponseException as exc:
            raise _refused(exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(
                "the mail server does not offer STARTTLS, so nothing was sent (SMTP_STARTTLS)",
                retryable=False,
            ) from None
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"could not make a secure connection to the mail server ({exc.reason})",
                retryable=False,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("mail server %s:%s unreachable: %s", s.host, s.port, type(exc).__name__)
            raise DeliveryError(
                f"the mail server could not be reached ({type(exc).__name__})", retryable=True
            ) from None
        return str(message["Message-ID"])


def _refused(code: int, answer: bytes | str) -> DeliveryError:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    said = _masked_text(f"{code} {text}")
    if 400 <= code < 500:
        return DeliveryError(f"the mail server asked to try later ({said})", retryable=True)
    return DeliveryError(f"refused by the mail server ({said})", retryable=False)
