"""Settings from the environment and an optional .env file, validated when the app starts."""

from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from email_validator import EmailNotValidError, validate_email
from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_database_url() -> str:
    """A SQLite file under the user's data directory."""
    return f"sqlite:///{Path(user_data_dir('coregroup-bot')) / 'coregroup.db'}"


def default_documents_dir() -> Path:
    """Where the local chat saves the documents it sends."""
    return Path(user_data_dir("coregroup-bot")) / "documents"


def default_audit_key_file() -> Path:
    """Where the local audit sealing key is kept when AUDIT_KEY is not set."""
    return Path(user_data_dir("coregroup-bot")) / "audit.key"


def checked_email(value: str) -> str:
    """An email address in its normal form; ValueError saying what is wrong with it."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


LINK_SECRET_MIN = 32
AUDIT_KEY_BYTES = 32
CLOSURE_DAYS_EXAMPLE = "CLOSURE_DAYS=2026-12-29,2026-12-30"
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _closure_day(text: str) -> date:
    """One local closure day, written YYYY-MM-DD; ValueError showing the format otherwise."""
    try:
        if _ISO_DAY.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(
        f"{text!r} is not a date; list the days as YYYY-MM-DD separated by commas, "
        f"e.g. {CLOSURE_DAYS_EXAMPLE}"
    )


KEY_BYTES = 32


def checked_key(text: str, *, where: str = "") -> bytes:
    """The 32 bytes a DATA_KEY's base64 text stands for; ValueError saying how to make one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"not base64{where}; make a key with `coregroup keys new --out FILE` "
            "(or `openssl rand -base64 32`)"
        ) from None
    if len(raw) != KEY_BYTES:
        raise ValueError(
            f"must be {KEY_BYTES} bytes once base64-decoded{where}, not {len(raw)}; make a key "
            "with `coregroup keys new --out FILE`"
        )
    return raw


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(default_factory=default_database_url)
    # The key-encryption key sealing case text at rest (base64 of 32 bytes, or a file holding
    # it), and during a rotation the one before it; see docs/data-protection.md.
    data_key: SecretStr | None = None
    data_key_file: Path | None = None
    data_key_previous: SecretStr | None = None
    data_key_previous_file: Path | None = None
    tz_display: str = "Europe/London"
    closure_days: Annotated[tuple[date, ...], NoDecode] = ()
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    concern_signals_file: Path | None = None
    policy_file: Path | None = None
    policy_name: str | None = None
    policy_allow_looser: bool = False

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    # The workspace (T…) or Enterprise Grid org (E…) the app is installed in; unset: auth.test's.
    slack_team_id: str | None = None
    port: int = 3000
    # On SIGTERM, how long /readyz answers 503 before the server stops listening.
    shutdown_drain_seconds: float = Field(default=0.0, ge=0, le=120)

    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_tenant_id: str | None = None

    documents_marking: str = "OFFICIAL-SENSITIVE"
    documents_child_name: bool = False
    documents_template: Path | None = None
    documents_dir: Path = Field(default_factory=default_documents_dir)
    glossary_file: Path | None = None

    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_timeout: float = Field(default=30.0, gt=0)
    smtp_ca_file: Path | None = None
    email_delivery: Literal["attach", "link"] = "attach"

    public_url: str | None = None
    document_link_secret: str | None = None
    document_link_minutes: int = Field(default=60, ge=1, le=24 * 60)
    email_link_hours: int = Field(default=72, ge=1, le=24 * 14)
    # The family's web pages (/family/...): how long an invite link lasts, and where the local
    # chat serves them (127.0.0.1 unless WEB_HOST says otherwise).
    family_link_days: int = Field(default=14, ge=1, le=90)
    # Wrong codes that lock a family link, and idle minutes that end a family page session.
    family_code_tries: int = Field(default=5, ge=1, le=20)
    family_session_minutes: int = Field(default=30, ge=5, le=240)
    web_port: int = Field(default=8080, ge=0, le=65535)
    web_host: str = "127.0.0.1"
    # The team's duty desk: told at once, any hour, when a young person says they don't feel safe.
    duty_contact_email: str | None = None
    # The audit log's daily seals: base64 of 32 bytes, apart from any data key.
    audit_key: str | None = None
    audit_key_file: Path = Field(default_factory=default_audit_key_file)
    # Retention: months after a group closes that its working copies are kept, and per kind.
    retention_months: int = Field(default=6, ge=1, le=12 * 30)
    retention_plan_months: int | None = Field(default=None, ge=1)
    retention_meetings_months: int | None = Field(default=None, ge=1)
    retention_updates_months: int | None = Field(default=None, ge=1)
    retention_minutes_months: int | None = Field(default=None, ge=1)
    retention_documents_months: int | None = Field(default=None, ge=1)
    retention_family_invites_months: int | None = Field(default=None, ge=1)
    retention_messages_months: int | None = Field(default=None, ge=1)
    retention_identities_months: int | None = Field(default=None, ge=1)

    @field_validator("data_key", "data_key_previous")
    @classmethod
    def _base64_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        checked_key(value.get_secret_value())
        return value

    @field_validator("data_key_file", "data_key_previous_file")
    @classmethod
    def _key_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        try:
            text = value.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {value}: {getattr(exc, 'strerror', exc)}") from None
        checked_key(text, where=f" (in {value})")
        return value

    @model_validator(mode="after")
    def _one_key_each(self) -> Settings:
        for name in ("data_key", "data_key_previous"):
            if getattr(self, name) is not None and getattr(self, f"{name}_file") is not None:
                upper = name.upper()
                raise ValueError(f"{upper} and {upper}_FILE: set one, not both")
        return self

    @field_validator("slack_team_id")
    @classmethod
    def _slack_team_id(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.fullmatch(r"[TE][A-Z0-9]{2,20}", value):
            raise ValueError(
                "a Slack team id is T or E and capital letters or digits, e.g. T0123ABCD"
            )
        return value

    @field_validator("smtp_from", "duty_contact_email")
    @classmethod
    def _sender_address(cls, value: str | None) -> str | None:
        return checked_email(value) if value else None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("must be an https:// address (http:// only for localhost)")
        return value.rstrip("/")

    @field_validator("smtp_ca_file", "documents_template", "glossary_file", "policy_file")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _email_settings_agree(self) -> Settings:
        problems = []
        if self.smtp_host and not self.smtp_from:
            problems.append("SMTP_FROM: set the address emails come from (SMTP_HOST is set)")
        if bool(self.smtp_username) != bool(self.smtp_password):
            problems.append("SMTP_USERNAME and SMTP_PASSWORD: set both, or neither")
        if self.smtp_starttls and self.smtp_ssl:
            problems.append(
                "SMTP_SSL: implicit TLS (port 465) and SMTP_STARTTLS can't both be on; set "
                "SMTP_STARTTLS=false to use SMTP_SSL"
            )
        secret = self.document_link_secret
        if secret is not None and len(secret) < LINK_SECRET_MIN:
            problems.append(
                f"DOCUMENT_LINK_SECRET: use at least {LINK_SECRET_MIN} random characters"
            )
        if self.email_delivery == "link" and not (self.public_url and secret):
            problems.append(
                "EMAIL_DELIVERY=link needs PUBLIC_URL and DOCUMENT_LINK_SECRET for the signed links"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def retention_months_for(self, kind: str) -> int:
        """RETENTION_<KIND>_MONTHS when set, else RETENTION_MONTHS."""
        months = getattr(self, f"retention_{kind}_months", None)
        return int(months) if months is not None else self.retention_months

    @property
    def links_configured(self) -> bool:
        """Whether the bot can hand out signed download links."""
        return bool(self.public_url and self.document_link_secret)

    @field_validator("audit_key")
    @classmethod
    def _audit_key(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            key = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != AUDIT_KEY_BYTES:
            raise ValueError("give 32 random bytes in base64 (openssl rand -base64 32)")
        return value.strip()

    @field_validator("tz_display")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown timezone {value!r}; use an IANA name such as Europe/London"
            raise ValueError(msg) from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        from bot.logs import LEVELS

        if value.upper() not in LEVELS:
            raise ValueError(f"unknown log level {value!r}; use one of {', '.join(LEVELS)}")
        return value.upper()

    @field_validator("concern_signals_file")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no file at {value}; give the path of a text file, one phrase a line")
        return value

    @field_validator("closure_days", mode="before")
    @classmethod
    def _split_days(cls, value: object) -> object:
        if isinstance(value, str):
            days = []
            for part in (p.strip() for p in value.split(",")):
                if part:
                    days.append(_closure_day(part))
            return tuple(days)
        return value

    @property
    def display_tz(self) -> ZoneInfo:
        """The timezone dates and times are shown in."""
        return ZoneInfo(self.tz_display)

    @property
    def platform(self) -> str:
        """Which chat platform the credentials configure: slack, teams or local."""
        if self.slack_bot_token or self.slack_app_token or self.slack_signing_secret:
            return "slack"  # Socket Mode needs no signing secret; run_slack names what is missing
        if self.microsoft_app_id and self.microsoft_app_password:
            return "teams"
        return "local"


def policy_environment() -> dict[str, str]:
    """The POLICY_* settings from a .env file in the working directory and the environment
    (which wins), for the timescale policy to read and check by name."""
    found = {
        key.upper(): value
        for key, value in dotenv_values(".env").items()
        if value is not None and key.upper().startswith("POLICY_")
    }
    found.update((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith("POLICY_"))
    return found


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings, turning pydantic's errors into one clear ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"][:1]).upper()
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        raise ConfigError("Invalid configuration — " + "; ".join(problems)) from None
