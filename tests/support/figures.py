"""Figures a test reports (requests fired, accepted, rejected, lost, …): shown in the terminal summary of every run
and written to ``tests/.results/figures.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / ".results"
FIGURES: dict[str, dict[str, Any]] = {}


def record(test: str, **figures: Any) -> None:
    """Keep ``figures`` under ``test`` (a test id) and rewrite the JSON file."""
    FIGURES[test] = figures
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "figures.json").write_text(json.dumps(FIGURES, indent=2, sort_keys=True, default=str) + "\n")


def lines() -> list[str]:
    return [f"{test}: " + ", ".join(f"{k}={v}" for k, v in figures.items()) for test, figures in FIGURES.items()]
