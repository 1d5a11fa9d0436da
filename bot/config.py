"""Settings from the environment and an optional .env file, validated when the app starts."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platformdirs import user_data_dir
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_database_url() -> str:
    """A SQLite file under the user's data directory."""
    return f"sqlite:///{Path(user_data_dir('coregroup-bot')) / 'coregroup.db'}"


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(default_factory=default_database_url)
    tz_display: str = "Europe/London"
    closure_days: Annotated[tuple[date, ...], NoDecode] = ()
    log_level: str = "INFO"
    concern_signals_file: Path | None = None

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    port: int = 3000

    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_tenant_id: str | None = None

    @field_validator("tz_display")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown timezone {value!r}; use an IANA name such as Europe/London"
            raise ValueError(msg) from None
        return value

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
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def display_tz(self) -> ZoneInfo:
        """The timezone dates and times are shown in."""
        return ZoneInfo(self.tz_display)

    @property
    def platform(self) -> str:
        """Which chat platform the credentials configure: slack, teams or local."""
        if self.slack_bot_token and self.slack_signing_secret:
            return "slack"
        if self.microsoft_app_id and self.microsoft_app_password:
            return "teams"
        return "local"


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings, turning pydantic's errors into one clear ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"][:1]).upper() or "settings"
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("Invalid configuration — " + "; ".join(problems)) from None
