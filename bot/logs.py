"""The one logging set-up for every mode (local chat, Slack, Teams, worker processes)."""

from __future__ import annotations

import logging
import sys

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
