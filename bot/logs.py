"""The one logging set-up for every mode (local chat, Slack, Teams, worker processes)."""

from __future__ import annotations

import logging
import sys
import traceback
import uuid
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


def configure_logging(level: str) -> None:
    """Timestamped lines on stderr at `level` (one of LEVELS), replacing any earlier set-up."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr, force=True)
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
