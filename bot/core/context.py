"""What every handler receives: the unit of work, the clock, the local rules and who is acting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.clock import Clock
from bot.config import ConfigError, Settings, policy_environment
from bot.core.calendar import Nation, WorkingCalendar, shared_calendar
from bot.core.documents.model import DocumentOptions
from bot.core.people import Directory
from bot.core.plain_english import Glossary, GlossaryError, bundled
from bot.core.policy import Policy
from bot.core.policy_book import PolicyBook, PolicyError, load_policy_book
from bot.core.signals import ConcernSignals, SignalsError, built_in_signals
from storage.enums import Platform
from storage.models import Case, Person


@dataclass(frozen=True)
class Locale:
    """Local-authority settings the core needs: display timezone, closure days, timescales,
    and the words that may mean a new concern."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    closure_days: tuple[date, ...] = ()
    policies: PolicyBook = field(default_factory=PolicyBook)
    documents: DocumentOptions = field(default_factory=DocumentOptions)
    glossary: Glossary = field(default_factory=bundled)
    signals: ConcernSignals = field(default_factory=built_in_signals)
    # The family's web pages: the address links are built on and the key that signs them
    # (PUBLIC_URL and DOCUMENT_LINK_SECRET); without both, invites say how to set them.
    public_url: str | None = None
    link_secret: str | None = None
    family_link_days: int = 14
    family_code_tries: int = 5  # FAMILY_CODE_TRIES: wrong codes that lock a link
    family_session_minutes: int = 30  # FAMILY_SESSION_MINUTES: idle minutes that end a session
    duty_email: str | None = None  # DUTY_CONTACT_EMAIL

    @classmethod
    def from_settings(cls, settings: Settings) -> Locale:
        """The local-authority settings read from the environment (ConfigError if unusable)."""
        try:
            glossary = Glossary.load(settings.glossary_file)
        except GlossaryError as exc:
            raise ConfigError(
                f"Invalid configuration — GLOSSARY_FILE: {exc}. Fix the file, or unset "
                "GLOSSARY_FILE to use the bot's own glossary."
            ) from None
        signals = built_in_signals()
        if settings.concern_signals_file is not None:
            try:
                signals = ConcernSignals.load(settings.concern_signals_file)
            except SignalsError as exc:
                raise ConfigError(f"Invalid configuration — CONCERN_SIGNALS_FILE: {exc}") from None
        try:
            policies = load_policy_book(
                path=settings.policy_file,
                env=policy_environment(),
                name=settings.policy_name,
                allow_looser=settings.policy_allow_looser,
            )
        except PolicyError as exc:
            raise ConfigError(f"Invalid configuration — {exc}") from None
        return cls(
            policies=policies,
            glossary=glossary,
            signals=signals,
            tz=settings.display_tz,
            closure_days=settings.closure_days,
            public_url=settings.public_url,
            link_secret=settings.document_link_secret,
            family_link_days=settings.family_link_days,
            family_code_tries=settings.family_code_tries,
            family_session_minutes=settings.family_session_minutes,
            duty_email=settings.duty_contact_email,
            documents=DocumentOptions(
                marking=settings.documents_marking.strip(),
                child_name=settings.documents_child_name,
                template=settings.documents_template,
            ),
        )

    def calendar(self, case: Case) -> WorkingCalendar:
        """The working-day calendar for a case's nation plus local closure days."""
        return shared_calendar(Nation(case.nation), frozenset(self.closure_days))

    def policy(self, case: Case) -> Policy:
        """The timescale policy for a case's nation, with the council's own values."""
        return self.policies.for_nation(Nation(case.nation))


@dataclass
class Ctx:
    """One request's world: database session, clock, locale and the acting person."""

    session: Session
    clock: Clock
    locale: Locale
    actor: Person
    platform: Platform
    directory: Directory
    channel_id: str | None = None

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        return self.clock.now()

    def today(self) -> date:
        """Today's date in the display timezone."""
        return self.now().astimezone(self.locale.tz).date()

    def local(self, when: datetime) -> datetime:
        """`when` in the display timezone."""
        return when.astimezone(self.locale.tz)

    @property
    def actor_id(self) -> int:
        """The acting person's id."""
        assert self.actor.id is not None
        return self.actor.id

    def calendar(self, case: Case) -> WorkingCalendar:
        """The working-day calendar for a case's nation plus local closure days."""
        return self.locale.calendar(case)

    def policy(self, case: Case) -> Policy:
        """The timescale policy for a case's nation with local overrides."""
        return self.locale.policy(case)
