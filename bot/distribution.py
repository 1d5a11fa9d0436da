"""The distribution sender: every queued copy of published minutes goes out, and its fate is logged.

`run_pending()` claims the copies waiting to be sent (a lease, so a crash hands them to the next
run; FOR UPDATE SKIP LOCKED on PostgreSQL, so several instances share the work), makes each
member's document once per run, sends it — a direct message with the PDF through the group's
platform Outbox, or an email through the Mailer — and records delivered / try again / bounced.
When nothing is left waiting for a set of minutes, the circulation deadline is settled and each
chair gets a report of every copy. The local chat runs it after each reply; on Slack and Teams
the scheduler runs it every few seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from bot.adapters.mailer import Mailer
from bot.adapters.signed_links import LinkSigner
from bot.clock import Clock
from bot.core import distribution as dist
from bot.core.context import Locale
from bot.core.documents.build import Published, published
from bot.core.documents.delivery import (
    SENT_FORMAT,
    attachment_of,
    chat_copy,
    email_copy,
    rendered_copy,
    report_message,
    source_of,
)
from bot.core.groups import chairs
from bot.core.meetings import format_when
from bot.core.ports import DeliveryError, Outbox
from bot.logs import log_failure
from bot.messages import Attachment, Message, ToPerson
from storage.db import session_scope
from storage.enums import CopyKind, DeliveryMethod, Platform
from storage.models import CoreGroup, Distribution, Meeting, Minutes, Person

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistributionSettings:
    """How the sender behaves."""

    lease: timedelta = timedelta(minutes=5)
    chunk: int = 50
    max_attempts: int = 5
    retry_after: timedelta = timedelta(minutes=10)
    email_links: bool = False  # EMAIL_DELIVERY=link: a signed link instead of the attachment
    email_link_ttl: timedelta = timedelta(hours=72)


@dataclass
class DistributionReport:
    """What one run did, in counts."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    bounced: int = 0
    reports: int = 0


@dataclass
class _Job:
    """One claimed copy with what is needed to send it, loaded in one short transaction."""

    row_id: int
    minutes_id: int
    kind: CopyKind
    method: DeliveryMethod
    person_id: int
    name: str
    email: str | None
    platform: Platform


@dataclass
class _Run:
    """Documents made in this run, so each copy of each minutes is rendered once."""

    published: dict[int, Published] = field(default_factory=dict)
    files: dict[tuple[int, CopyKind], Attachment] = field(default_factory=dict)


class Distributor:
    """Sends queued copies through chat or email and records each outcome."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        outboxes: Mapping[Platform, Outbox],
        locale: Locale,
        mailer: Mailer | None = None,
        links: LinkSigner | None = None,
        settings: DistributionSettings | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.outboxes = dict(outboxes)
        self.locale = locale
        self.mailer = mailer
        self.links = links
        self.settings = settings or DistributionSettings()
        self.lock = engine.dialect.name == "postgresql"

    def run_pending(self) -> DistributionReport:
        """Send everything waiting, chunk by chunk; report to the chairs of minutes now settled."""
        report = DistributionReport()
        touched: set[int] = set()
        while True:
            jobs = self._claim()
            if not jobs:
                break
            report.claimed += len(jobs)
            run = _Run()
            for job in jobs:
                self._send(job, run, report)
                touched.add(job.minutes_id)
            if len(jobs) < self.settings.chunk:
                break
        if touched:
            self._settle(touched, report)
        return report

    def safe_run(self) -> None:
        """The scheduler's job: a run whose failure is logged, never raised into the scheduler."""
        try:
            report = self.run_pending()
        except Exception:
            log_failure(log, "distribution run failed; the next run will try again")
            return
        if report.claimed:
            log.info(
                "distribution: %s delivered, %s to retry, %s bounced",
                report.delivered,
                report.retrying,
                report.bounced,
            )

    # Steps ---------------------------------------------------------------------------------

    def _claim(self) -> list[_Job]:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            rows = dist.claim_pending(
                session,
                now=now,
                lease=self.settings.lease,
                limit=self.settings.chunk,
                lock=self.lock,
            )
            return [self._job(session, row) for row in rows]

    @staticmethod
    def _job(session: Session, row: Distribution) -> _Job:
        assert row.id is not None
        person = session.get(Person, row.person_id)
        minutes = session.get(Minutes, row.minutes_id)
        meeting = session.get(Meeting, minutes.meeting_id) if minutes else None
        group = session.get(CoreGroup, meeting.group_id) if meeting else None
        return _Job(
            row_id=row.id,
            minutes_id=row.minutes_id,
            kind=CopyKind(row.copy_kind),
            method=DeliveryMethod(row.method),
            person_id=row.person_id,
            name=person.display_name if person else "",
            email=person.email if person else None,
            platform=Platform(group.platform) if group else Platform.LOCAL,
        )

    def _file(self, job: _Job, run: _Run) -> tuple[Published, Attachment]:
        tz, options = self.locale.tz, self.locale.documents
        if job.minutes_id not in run.published:
            with Session(self.engine) as session:
                minutes = session.get(Minutes, job.minutes_id)
                assert minutes is not None
                run.published[job.minutes_id] = published(session, minutes=minutes, tz=tz)
        pub = run.published[job.minutes_id]
        key = (job.minutes_id, job.kind)
        if key not in run.files:
            rendered = rendered_copy(pub, job.kind, tz=tz, options=options, fmt=SENT_FORMAT)
            run.files[key] = attachment_of(
                rendered, source_of(job.minutes_id, job.kind, SENT_FORMAT)
            )
        return pub, run.files[key]

    def _send(self, job: _Job, run: _Run, report: DistributionReport) -> None:
        try:
            pub, attachment = self._file(job, run)
            if job.method is DeliveryMethod.EMAIL:
                ref, detail = self._email(job, pub, attachment)
            else:
                ref, detail = self._chat(job, pub, attachment)
        except DeliveryError as err:
            self._failed(job, str(err), err.retryable, report)
            return
        with session_scope(self.engine) as session:
            dist.record_delivered(
                session, row_id=job.row_id, ref=ref, detail=detail, now=self.clock.now()
            )
        report.delivered += 1

    def _chat(self, job: _Job, pub: Published, attachment: Attachment) -> tuple[str, str]:
        outbox = self.outboxes.get(job.platform)
        if outbox is None:
            raise DeliveryError(f"no sender for {job.platform.value}", retryable=False)
        message = chat_copy(pub, job.kind, tz=self.locale.tz, attachment=attachment)
        return outbox.send(ToPerson(job.person_id), message), "direct message"

    def _email(self, job: _Job, pub: Published, attachment: Attachment) -> tuple[str, str]:
        if self.mailer is None:
            raise DeliveryError(
                "email is not set up (ask your administrator to set SMTP_HOST)", retryable=False
            )
        if job.email is None:
            raise DeliveryError("no email address is recorded", retryable=False)
        link, expires = None, ""
        if self.settings.email_links and self.links is not None:
            link, until = self.links.url(
                source=attachment.source, person_id=job.person_id, ttl=self.settings.email_link_ttl
            )
            expires = format_when(until, self.locale.tz)
        mail = email_copy(
            pub,
            job.kind,
            name=job.name,
            tz=self.locale.tz,
            marking=self.locale.documents.marking,
            attachment=None if link else attachment,
            link=link,
            link_expires=expires,
        )
        ref = self.mailer.send(
            to=job.email, subject=mail.subject, text=mail.text, attachment=mail.attachment
        )
        return ref, "accepted by the mail server"

    def _failed(self, job: _Job, why: str, retryable: bool, report: DistributionReport) -> None:
        with session_scope(self.engine) as session:
            row = dist.record_failed(
                session,
                row_id=job.row_id,
                detail=why,
                retryable=retryable,
                now=self.clock.now(),
                max_attempts=self.settings.max_attempts,
                retry_after=self.settings.retry_after,
            )
        bounced = row is not None and row.claimed_until is None
        if bounced:
            report.bounced += 1
        else:
            report.retrying += 1
        log.warning(
            "copy %s of minutes %s not delivered (%s): %s",
            job.row_id,
            job.minutes_id,
            "bounced" if bounced else "will retry",
            why,
        )

    def _settle(self, minutes_ids: set[int], report: DistributionReport) -> None:
        """Settle the circulation of minutes with nothing left to send; tell their chairs."""
        now = self.clock.now()
        reports: list[tuple[Platform, int, Message]] = []
        with session_scope(self.engine) as session:
            waiting = dist.waiting_minutes(session, minutes_ids=sorted(minutes_ids))
            for minutes_id in sorted(minutes_ids - waiting):
                minutes = session.get(Minutes, minutes_id)
                meeting = session.get(Meeting, minutes.meeting_id) if minutes else None
                group = session.get(CoreGroup, meeting.group_id) if meeting else None
                if minutes is None or meeting is None or group is None:
                    continue
                dist.settle_circulation(session, minutes=minutes, now=now)
                pub = published(session, minutes=minutes, tz=self.locale.tz)
                today = now.astimezone(self.locale.tz).date()
                message = report_message(pub, tz=self.locale.tz, today=today)
                for chair in chairs(session, group_id=meeting.group_id):
                    assert chair.id is not None
                    reports.append((Platform(group.platform), chair.id, message))
        for platform, chair_id, message in reports:
            outbox = self.outboxes.get(platform)
            if outbox is None:
                continue
            try:
                outbox.send(ToPerson(chair_id), message)
                report.reports += 1
            except DeliveryError as err:
                log.warning(
                    "could not send the distribution report to person %s: %s", chair_id, err
                )
