"""Structured logs: one JSON object per line (or readable text for development)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _RESERVED and not k.startswith("_")
        )
        base = f"{datetime.fromtimestamp(record.created, UTC):%H:%M:%S} {record.levelname:<7} {record.name}: {record.getMessage()}"
        text = f"{base} {extras}" if extras else base
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def one_line(text: str, limit: int = 200) -> str:
    """text cut to limit characters, with control characters and lone surrogates escaped, so a
    client's input can neither break a log line nor a log reader."""
    cut = text[:limit]
    out = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in cut)
    return out + "…" if len(text) > limit else out


@dataclass
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0


class Throttle:
    """At most per_minute log lines a minute for each kind of event; the first line of the next
    minute carries how many were left out (a flood of bad requests must not fill the disk)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def admit(self, kind: str) -> int | None:
        """None: leave this line out; else log it, noting this many lines left out before it."""
        now = self._clock()
        window = self._windows.get(kind)
        if window is None or now - window.started >= 60:
            suppressed = window.suppressed if window else 0
            self._windows[kind] = _Window(now, logged=1)
            if len(self._windows) > 1000:  # kinds are few; never let them grow without bound
                self._windows = {kind: self._windows[kind]}
            return suppressed
        if window.logged >= self.per_minute:
            window.suppressed += 1
            return None
        window.logged += 1
        return 0
