"""Graceful shutdown on SIGTERM (`docker stop`, Kubernetes, systemd) or Ctrl-C.

In order: `/readyz` answers 503 so the load balancer sends nothing more (after
SHUTDOWN_DRAIN_SECONDS, the time it takes to notice); the web server stops listening, and the
requests it is answering get their answer; the reminder scheduler stops gracefully — the tick in
progress claims nothing more, the sends in flight finish and are recorded, and every other claim is
given back to the ledger at once (not left to its lease), so another instance sends it; then the
platform's sessions close (Socket Mode, the work pool once its queue is done, the Teams I/O loop).
The database engine is disposed by the caller (bot.cli).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from bot.adapters.readiness import Readiness
from bot.adapters.web import WebServer
from bot.logs import log_failure

log = logging.getLogger(__name__)


def stop_gracefully(
    *,
    readiness: Readiness | None,
    server: WebServer,
    scheduler: Any,
    closers: Iterable[Callable[[], None]] = (),
    drain_seconds: float = 0.0,
) -> None:
    """Stop taking work, finish or give back what is in hand, and close the sessions."""
    stop_claiming = getattr(scheduler, "stop_claiming", None)
    if callable(stop_claiming):
        stop_claiming()  # no new reminder sends from now on; those in flight finish below
    if readiness is not None:
        readiness.drain()
    sys.stdout.write("Core Group Bot is stopping: no new requests; finishing the work in hand.\n")
    sys.stdout.flush()
    if drain_seconds > 0:
        threading.Event().wait(drain_seconds)  # the load balancer sees /readyz fail meanwhile
    server.stop()
    if scheduler is not None:
        stop = getattr(scheduler, "stop", None)
        if callable(stop):
            stop()
        else:
            scheduler.shutdown(wait=True)
    for close in closers:
        try:
            close()
        except Exception:  # one session failing to close must not keep the others open
            log_failure(
                log, "closing %s failed during shutdown", getattr(close, "__qualname__", "")
            )
    sys.stdout.write("Core Group Bot stopped.\n")
    sys.stdout.flush()
