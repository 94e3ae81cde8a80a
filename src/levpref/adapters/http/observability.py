"""Metrics (Prometheus) and structured JSON logs for the HTTP edge.

Rules:
- Metric labels are bounded: endpoint names come from the route table (``other`` for unknown paths), outcomes
  from the error table (``success``, a Kraken error string, a business code, or an HTTP status).
- With several worker processes, metrics are aggregated through ``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve``).
- Log lines are JSON objects (or, with ``--log-format text``, text), one per line, with the request id that is
  also returned in ``X-Request-Id``; every logger of the process (uvicorn's too) writes through the same formatter.
  Nothing secret is ever logged: no headers, no bodies, no query strings (only the path).
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from levpref.adapters.storage.sql import COUNTS

REQUESTS = Counter("levpref_requests_total", "Requests by endpoint and outcome", ["endpoint", "outcome"])
LATENCY = Histogram(
    "levpref_request_duration_seconds",
    "Request latency by endpoint",
    ["endpoint"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
DECISIONS = Counter("levpref_margin_decisions_total", "Leverage-change decisions by outcome", ["outcome"])
RATE_LIMITED = Counter("levpref_rate_limit_refusals_total", "apiLimitExceeded refusals by scope", ["scope"])
AUTH_FAILURES = Counter("levpref_auth_failures_total", "Failed authentications", ["kind"])

_DECISION_BY_OUTCOME = {
    "success": "accepted",
    "92": "insufficient_margin",
    "41": "would_cause_liquidation",
    "invalidArgument": "invalid_argument",
}


_children: dict[tuple[str, str], tuple[Any, Any]] = {}


class _DatabaseCounts:
    """``levpref_sql_statements_total`` and ``levpref_db_round_trips_total`` of this process, read from the
    drivers' counters when scraped (per worker process)."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        statements = CounterMetricFamily("levpref_sql_statements", "SQL statements sent to the store", labels=["store"])
        trips = CounterMetricFamily("levpref_db_round_trips", "Round trips to the database", labels=["store"])
        for store, (sent, waited) in COUNTS.items():
            statements.add_metric([store], sent)
            trips.add_metric([store], waited)
        yield statements
        yield trips


_DATABASE_COUNTS = _DatabaseCounts()
REGISTRY.register(_DATABASE_COUNTS)


def observe(endpoint: str, outcome: str, seconds: float, *, limit_scope: str | None = None) -> None:
    children = _children.get((endpoint, outcome))
    if children is None:  # labels() is a lookup with locks; the label sets are few and bounded
        children = _children[(endpoint, outcome)] = (REQUESTS.labels(endpoint, outcome), LATENCY.labels(endpoint))
    children[0].inc()
    children[1].observe(seconds)
    if endpoint == "PUT leveragepreferences" and outcome in _DECISION_BY_OUTCOME:
        DECISIONS.labels(_DECISION_BY_OUTCOME[outcome]).inc()
    if outcome == "apiLimitExceeded":
        RATE_LIMITED.labels(limit_scope or "key").inc()
    if outcome == "authenticationError":
        AUTH_FAILURES.labels("authentication").inc()


def exposition() -> tuple[bytes, str]:
    """The metrics page, aggregated over worker processes when running several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(_DATABASE_COUNTS)  # this worker's, not summed over workers
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the structured fields of the record."""

    FIELDS = ("request_id", "method", "path", "status", "outcome", "duration_ms", "client", "workers")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """One line of text: ``<time> <level> <logger> <message> key=value…`` with the fields ``JsonFormatter`` has."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), f"{record.levelname.lower():<7}", record.name, record.getMessage()]
        parts += [f"{name}={getattr(record, name)}" for name in JsonFormatter.FIELDS if hasattr(record, name)]
        line = " ".join(parts)
        if record.exc_info:
            line += " error=" + json.dumps(self.formatException(record.exc_info))
        return line


_FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}
NOTICE_LOGGER = "levpref.serve"  # lines an operator should see at the default level ("listening on …")


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def logging_config(level: str, fmt: str = "json") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` document that sends every logger of the process (levpref's, uvicorn's,
    psycopg's, the root's) to stderr through one formatter. It is also uvicorn's ``log_config``, so each worker
    process applies it before it builds its app. ``levpref.serve`` notices show unless the level is error or
    critical; uvicorn's access log is off (levpref logs each request itself at info)."""
    chosen = level.upper()
    formatter = _FORMATTERS[fmt]
    notice = "INFO" if logging.getLevelName(chosen) >= logging.INFO and chosen not in ("ERROR", "CRITICAL") else chosen
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"levpref": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "levpref", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "levpref": {"handlers": ["stderr"], "level": chosen, "propagate": False},
            NOTICE_LOGGER: {"level": notice},
            "uvicorn": {"handlers": ["stderr"], "level": chosen, "propagate": False},
            "uvicorn.error": {"level": chosen},
            "uvicorn.access": {"handlers": [], "level": chosen, "propagate": False},
        },
    }


def configure_logging(level: str, fmt: str | None = None) -> None:
    """Apply :func:`logging_config`. Without ``fmt``, keep the format the process was started with (the one
    uvicorn's ``log_config`` gave levpref's handler in a served worker), else JSON."""
    if fmt is None:
        fmt = next(
            (
                name
                for h in logging.getLogger("levpref").handlers
                for name, kind in _FORMATTERS.items()
                if type(h.formatter) is kind
            ),
            "json",
        )
    logging.config.dictConfig(logging_config(level, fmt))
