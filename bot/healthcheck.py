"""`python -m bot.healthcheck`: exit 0 when this container's bot answers `GET /healthz` with 200.

The image's HEALTHCHECK runs it (the slim image has no curl). It asks the port the configured
platform serves on: PORT for Slack, TEAMS_PORT for Teams. Nothing is printed on success; on
failure one line says why, without any setting's value.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT = 4.0  # seconds; below the HEALTHCHECK's own timeout


def health_url(env: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The /healthz address for the platform the environment configures."""
    teams = bool(env.get("MICROSOFT_APP_ID")) or env.get("TEAMS_ANONYMOUS_DEV", "").lower() in (
        "1",
        "true",
        "yes",
    )
    slack = bool(env.get("SLACK_BOT_TOKEN"))
    port = env.get("TEAMS_PORT", "3978") if teams and not slack else env.get("PORT", "3000")
    return f"http://127.0.0.1:{port}/healthz"


def main() -> int:
    """Probe /healthz once; 0 when healthy, 1 otherwise."""
    url = health_url()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # loopback only
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        sys.stderr.write(f"unhealthy: {url}: {getattr(exc, 'reason', exc)}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
