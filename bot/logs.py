"""The one logging set-up for every mode (local chat, Slack, Teams, worker processes)."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Their DEBUG lines carry payloads, URLs or tokens (user text, secrets); their INFO lines repeat
# every scheduler tick. Never below these levels, whatever LOG_LEVEL says.
_FLOORS = {
    "slack_bolt": logging.INFO,
    "slack_sdk": logging.INFO,
    "msal": logging.WARNING,
    "urllib3": logging.WARNING,
    "apscheduler": logging.WARNING,
    "aiohttp.access": logging.WARNING,
}


FORMATS = ("text", "json")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@contextmanager
def request_scope() -> Iterator[str]:
    """Tag every log line written while handling one incoming message or command with a new
    request id (kept across threads only where the context is copied)."""
    token = _request_id.set(uuid.uuid4().hex[:12])
    try:
        yield _request_id.get()
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", _request_id.get()),
        }
        if record.exc_info:  # only error boundaries' own callers log these; type and place only
            entry["exception"] = record.exc_info[0].__qualname__ if record.exc_info[0] else ""
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Lines on stderr at `level` (one of LEVELS), as timestamped text or JSON (one of FORMATS),
    each carrying its request id; replaces any earlier set-up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.captureWarnings(True)
    for name, floor in _FLOORS.items():
        logging.getLogger(name).setLevel(floor)


def log_failure(logger: logging.Logger, what: str, *args: object) -> str:
    """Log the exception being handled at an error boundary without its message, which may hold
    statement parameters or user text (a child's name): the exception's type, where it was
    raised (file, line and function of each frame) and a new error id, which is returned so the
    person affected can quote it."""
    error_id = uuid.uuid4().hex[:8]
    kind, _, tb = sys.exc_info()
    frames = " <- ".join(
        f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
        for frame in reversed(traceback.extract_tb(tb))
    )
    name = kind.__qualname__ if kind is not None else "no exception"
    logger.error(what + " (error %s: %s at %s)", *args, error_id, name, frames or "unknown place")
    return error_id
