"""Logging as an operator reads it: one line per event on stderr, plain text or JSON.

    LOGGING = logging_config(level="INFO", fmt="json")   # in settings (MMOOC_LOG_FORMAT)
    install_excepthooks()                                # a crash in any thread is logged too

Everything goes to one handler on the root logger: the project's own loggers (`mmooc.*`)
at MMOOC_LOG_LEVEL, Django's (`django.request` logs every 500 with its path and
traceback, whatever DEBUG says) at INFO, everyone else's at WARNING. With the JSON format
each record is one object on one line: time, level, logger, message, the fields a caller
gave with `extra=` (a batch's counts, the start-up configuration) and the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has: the rest were given with `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data.update(_extra(key, value))
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def _extra(key: str, value: Any) -> dict[str, Any]:
    # Django's request logger passes the request itself: its path is what an operator needs.
    if key == "request":
        return {"path": getattr(value, "path", str(value))}
    return {key: value}


def logging_config(level: str = "INFO", fmt: str = "text") -> dict[str, Any]:
    """A dictConfig for settings.LOGGING."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": TEXT_FORMAT},
            "json": {"()": "mmooc.lib.logs.JSONFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt}},  # stderr
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "mmooc": {"level": level},
            # Django's own configuration prints these only with DEBUG on: here they reach
            # the root handler whatever DEBUG says (django.request: 500s with the path).
            "django": {"handlers": [], "level": "INFO", "propagate": True},
        },
    }


log = logging.getLogger("mmooc")


def _log_thread_crash(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread else "?"
    log.critical("thread %s stopped by an error", name,
                 exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def _log_crash(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    log.critical("stopped by an error", exc_info=(exc_type, exc, tb))


def install_excepthooks() -> None:
    """Errors nobody caught, in any thread, go through logging (and so into JSON logs) too."""
    threading.excepthook = _log_thread_crash
    sys.excepthook = _log_crash
