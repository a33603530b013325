"""JSON logs, one object per line, carrying the service name, the request id of the call being served and, while
tracing is on (service_kit.tracing), the trace and span ids of the span in progress."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# The tenant of the call being served, when known (the services' interceptor binds it from the request's scope).
tenant_var: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="")

# Set by service_kit.tracing while tracing is on: the (trace id, span id) in hex of the span in progress, or None.
# None here when off, so a service that does not trace pays nothing per line.
current_trace_ids: Callable[[], tuple[str, str] | None] | None = None

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        tenant = tenant_var.get()
        if tenant:
            entry["tenant"] = tenant
        if current_trace_ids is not None:
            ids = current_trace_ids()
            if ids is not None:
                entry["trace_id"], entry["span_id"] = ids
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("sqlalchemy.engine", "alembic", "nats"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
