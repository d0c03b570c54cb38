"""Python logging hygiene: prompts, uploads, outputs, passwords and keys never reach a log.

- The service itself logs only types, counts and route templates (never values).
- uvicorn's access log is off: it prints raw paths and query strings; ``request_logs`` replaces it.
- Libraries that log request data at DEBUG (aiosqlite logs every SQL call *with its parameters*,
  SQLAlchemy's engine log, httpx/httpcore, hpack, python-multipart, PIL) are held at WARNING.
- Tracebacks are printed without locals and without exception *messages* (a message can quote
  a prompt); only the exception type and the code locations remain.
- A record factory redacts Bearer tokens, ``idk_`` and ``sk-`` keys, ``whsec_`` webhook
  secrets, session cookies and ``password=``-style pairs from every record, whichever handler
  (ours, uvicorn's, a test's) ends up formatting it.

``install()`` is idempotent and is called by ``create_app``; ``configure(level)`` additionally
sets up one stderr handler for ``imagedesigner serve`` (and returns uvicorn's ``log_config``).
"""

from __future__ import annotations

import logging
import logging.config
import re
import traceback
from types import TracebackType

REDACTED = "[redacted]"
_PATTERNS = [
    (re.compile(r"(?i)\bbearer\s+[^\s,;\"']+"), "Bearer " + REDACTED),
    (re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/=]{8,}"), "Basic " + REDACTED),
    (re.compile(r"\bidk_[A-Za-z0-9_\-]{4,}"), "idk_" + REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"), "sk-" + REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{4,}"), "whsec_" + REDACTED),
    (re.compile(r"(imagedesigner_(?:session|csrf))=[^;\s,\"']+"), r"\1=" + REDACTED),
    (
        re.compile(
            r"(?i)([\"']?\b(?:password|passwd|pwd|secret|api[_-]?key|token)"
            r"[\"']?\s*[:=]\s*)([\"']?)[^\s,;&\"'}]+"
        ),
        r"\1\2" + REDACTED,
    ),
]
NOISY_LOGGERS = {
    "aiosqlite": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "sqlalchemy.engine": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "hpack": logging.WARNING,
    "multipart": logging.WARNING,
    "python_multipart": logging.WARNING,
    "PIL": logging.INFO,
    "asyncio": logging.WARNING,
}


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def safe_traceback(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
) -> str:
    """Code locations and exception types only: no locals, no messages, no source lines."""
    lines = ["Traceback (exception messages withheld; no locals):"]
    seen: set[int] = set()
    chain: list[BaseException] = []
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in reversed(chain):
        for frame in traceback.extract_tb(item.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        lines.append(f"{type(item).__module__}.{type(item).__qualname__}")
    if not chain and exc_type is not None:
        lines.append(exc_type.__qualname__)
    return "\n".join(lines)


_installed = False


def _hygienic_factory(base):
    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        if getattr(record, "_hygienic", False):
            return record
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep the template only
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = safe_traceback(*record.exc_info)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._hygienic = True
        return record

    factory._imagedesigner = True  # type: ignore[attr-defined]
    return factory


class SafeFormatter(logging.Formatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging API
        return safe_traceback(*ei)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactFilter(logging.Filter):
    """For handlers set up elsewhere: redacts the formatted message in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_hygienic", False):
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info and record.exc_info[0] is not None:
                record.exc_text = safe_traceback(*record.exc_info)
        return True


def install() -> None:
    """Idempotent: redacting record factory, quiet libraries, no uvicorn access log."""
    global _installed
    current = logging.getLogRecordFactory()
    if not getattr(current, "_imagedesigner", False):
        logging.setLogRecordFactory(_hygienic_factory(current))
    for name, level in NOISY_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)
    access = logging.getLogger("uvicorn.access")
    access.disabled = True
    access.propagate = False
    logging.captureWarnings(True)
    _installed = True


def log_config(level: str = "INFO") -> dict:
    """A ``logging.config.dictConfig`` for ``serve`` (also passed to uvicorn)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactFilter}},
        "formatters": {
            "safe": {
                "()": SafeFormatter,
                "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "safe",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def configure(level: str = "INFO") -> dict:
    config = log_config(level)
    logging.config.dictConfig(config)
    install()
    return config
