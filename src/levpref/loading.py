"""Loading a scenario from the command line, with progress and a count of what was loaded (SPEC §4).

Rules:
- The load itself is ``AdminService.load_scenario``: one transaction, audited. Progress is its ``on_account``
  callback, called once an account is written.
- Progress goes to stderr: a bar (``rich``, when installed) or a line rewritten in place on a terminal; on
  anything else, a log line at most every two seconds, and only for a load that takes that long.
- The counts (instruments, accounts, keys, positions) come from the scenario as loaded.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from levpref.adapters.http.observability import NOTICE_LOGGER
from levpref.adapters.wire.scenario import read_scenario_file
from levpref.service.admin import AdminService, IssuedKey
from levpref.service.ports import Secrets, Store
from levpref.service.scenario import Scenario

log = logging.getLogger(NOTICE_LOGGER)
LOG_EVERY = 2.0  # seconds between progress log lines when stderr is not a terminal


@dataclass(frozen=True, slots=True)
class Counts:
    instruments: int
    accounts: int
    keys: int
    positions: int

    def as_dict(self) -> dict[str, int]:
        return {
            "instruments": self.instruments,
            "accounts": self.accounts,
            "keys": self.keys,
            "positions": self.positions,
        }

    def __str__(self) -> str:
        return ", ".join(
            f"{n} {name if n != 1 else name[:-1]}"
            for name, n in (
                ("instruments", self.instruments),
                ("accounts", self.accounts),
                ("keys", self.keys),
                ("positions", self.positions),
            )
        )


def counts_of(scenario: Scenario) -> Counts:
    return Counts(
        len(scenario.instruments),
        len(scenario.accounts),
        sum(len(a.keys) for a in scenario.accounts),
        sum(len(a.positions) for a in scenario.accounts),
    )


class Progress(Protocol):
    def reading(self, name: str) -> None: ...

    def loading(self, total: int) -> None: ...

    def advance(self) -> None: ...


async def load_file(path: Path, store: Store, secrets: Secrets, now_ms: int) -> tuple[Counts, list[IssuedKey]]:
    """Read the scenario at ``path`` and load it (replacing the world), showing progress; returns what it held."""
    with progress_display() as progress:
        progress.reading(path.name)
        scenario = read_scenario_file(path)
        progress.loading(len(scenario.accounts))
        issued = await AdminService(store, secrets, actor="cli").load_scenario(
            scenario, now_ms, on_account=progress.advance
        )
    return counts_of(scenario), issued


@contextmanager
def progress_display() -> Iterator[Progress]:
    """The best display stderr allows (see the rules above)."""
    if not sys.stderr.isatty():
        yield _LoggedProgress()
        return
    try:
        import rich.console  # optional: a bar when it is installed
        import rich.progress
    except ImportError:
        plain = _TerminalLine()
        try:
            yield plain
        finally:
            plain.done()
        return
    columns = (
        rich.progress.SpinnerColumn(),
        rich.progress.TextColumn("{task.description}"),
        rich.progress.BarColumn(),
        rich.progress.MofNCompleteColumn(),
        rich.progress.TimeElapsedColumn(),
    )
    console = rich.console.Console(stderr=True)
    with rich.progress.Progress(*columns, console=console, transient=True) as bar:
        yield _RichProgress(bar)


class _RichProgress:
    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._task = bar.add_task("reading", total=None)

    def reading(self, name: str) -> None:
        self._bar.update(self._task, description=f"reading {name}")

    def loading(self, total: int) -> None:
        self._bar.update(self._task, description="loading accounts", total=total, completed=0)

    def advance(self) -> None:
        self._bar.advance(self._task)


class _TerminalLine:
    """``loading accounts 1200/20000`` rewritten in place, at most ten times a second."""

    def __init__(self) -> None:
        self._total = self._done = 0
        self._shown = 0.0

    def reading(self, name: str) -> None:
        self._show(f"reading {name}…")

    def loading(self, total: int) -> None:
        self._total, self._done = total, 0

    def advance(self) -> None:
        self._done += 1
        now = time.monotonic()
        if now - self._shown >= 0.1 or self._done == self._total:
            self._shown = now
            self._show(f"loading accounts {self._done}/{self._total}")

    def _show(self, text: str) -> None:
        sys.stderr.write(f"\r\x1b[2K{text}")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r\x1b[2K")
        sys.stderr.flush()


class _LoggedProgress:
    """A log line every ``LOG_EVERY`` seconds of a long load (so a slow start in a log is explained)."""

    def __init__(self) -> None:
        self._total = self._done = 0
        self._last = time.monotonic()

    def reading(self, name: str) -> None:
        self._last = time.monotonic()

    def loading(self, total: int) -> None:
        self._total, self._done = total, 0

    def advance(self) -> None:
        self._done += 1
        now = time.monotonic()
        if now - self._last >= LOG_EVERY:
            self._last = now
            log.info("loading scenario: %d of %d accounts", self._done, self._total)
