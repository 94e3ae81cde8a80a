"""Profiling the server under load with py-spy, and reading the folded stacks it writes.

Rules:
- py-spy samples the running server from outside (``py-spy record -p PID -f raw``): no code change, no restart.
  It pauses the process for each sample, so throughput while profiling is lower; the proportions are what count.
- Samples where the server waits in the event loop with nothing to do are not recorded (py-spy drops idle samples),
  so percentages are shares of the server's busy (on-CPU or blocking-I/O-in-Python) time.
- ``inclusive``: share of samples with the function anywhere on the stack (line numbers dropped);
  ``self``: share of samples whose innermost Python frame is that exact line, with the line's source text.
  Self time on a line that calls into C (``sqlite3.execute``, ``hmac``) is the C call's time.
- py-spy is pinned in ``bench/requirements.txt`` and installed into the venv on first use.
"""

from __future__ import annotations

import linecache
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.world import ROOT

REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
SERVER_ENTRY = "RequestResponseCycle.run_asgi"  # uvicorn's call into the ASGI app
ROOT_FRAMES = "(levpref/cli.py"  # ``levpref serve`` → uvicorn.run: on every stack, not request work
SRC = ROOT / "src"  # where the profiled server's source is (run.py points it at the exported HEAD)


def py_spy() -> str | None:
    """The py-spy executable, installed into the venv from ``requirements.txt`` if missing; ``None`` if impossible."""
    local = Path(sys.executable).parent / "py-spy"
    if local.exists():
        return str(local)
    found = shutil.which("py-spy")
    if found:
        return found
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], capture_output=True, check=False
    )
    return str(local) if done.returncode == 0 and local.exists() else None


def record(pid: int, seconds: float, out: Path, rate: int = 250) -> str:
    """Sample ``pid`` for ``seconds`` into folded stacks at ``out``; returns py-spy's summary line."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not available (pip install -r bench/requirements.txt)")
    command = [exe, "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", str(rate), "-f", "raw"]
    done = subprocess.run([*command, "-o", str(out)], capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    return next((ln for ln in (done.stdout + done.stderr).splitlines() if "Samples" in ln), "").strip()


@dataclass
class Profile:
    samples: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)
    self_lines: Counter[str] = field(default_factory=Counter)
    in_app: int = 0
    in_server_call: int = 0

    def share(self, count: int) -> float:
        return round(100.0 * count / self.samples, 1) if self.samples else 0.0

    def summary(self, top: int = 25) -> dict[str, Any]:
        levpref = [(f, n) for f, n in self.inclusive.most_common() if "(levpref/" in f and "levpref/cli.py" not in f]
        return {
            "samples": self.samples,
            "levpref_code_pct": self.share(self.in_app),
            "asgi_call_share_pct": self.share(self.in_server_call),
            "server_only_pct": round(100.0 - self.share(self.in_app), 1),
            "top_inclusive": [{"pct": self.share(n), "function": f} for f, n in levpref[:top]],
            "top_self": [
                {"pct": self.share(n), "line": f, "source": source_of(f)} for f, n in self.self_lines.most_common(top)
            ],
        }


def _strip_line(frame: str) -> str:
    found = _FRAME.match(frame)
    if not found:
        return frame
    return f"{found['func']} ({found['file']})"


def source_of(frame: str) -> str:
    """The source text of a ``func (levpref/x.py:12)`` frame, read from ``src/`` (empty if not ours)."""
    found = _FRAME.match(frame)
    if not found or not found["line"] or not found["file"].startswith("levpref/"):
        return ""
    return linecache.getline(str(SRC / found["file"]), int(found["line"])).strip()[:120]


def read_folded(path: Path) -> Profile:
    profile = Profile()
    linecache.clearcache()
    for raw in path.read_text().splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        profile.samples += count
        for name in {_strip_line(f) for f in frames}:
            profile.inclusive[name] += count
        profile.self_lines[frames[-1]] += count
        # levpref's own code anywhere on the stack (the request handler, the group commit the loop runs for it,
        # levpref's HTTP protocol subclass); the rest is uvicorn, uvloop, httptools, asyncio
        if any("(levpref/" in f and ROOT_FRAMES not in f for f in frames):
            profile.in_app += count
        if any(SERVER_ENTRY in f for f in frames):
            profile.in_server_call += count
    return profile


def format_profile(title: str, summary: dict[str, Any], top: int = 15) -> str:
    lines = [
        f"{title}: {summary['samples']} samples; with levpref code on the stack {summary['levpref_code_pct']}%, "
        f"only uvicorn/uvloop/httptools/asyncio {summary['server_only_pct']}%",
        "  inclusive (levpref functions):",
    ]
    lines += [f"    {row['pct']:5.1f}%  {row['function']}" for row in summary["top_inclusive"][:top]]
    lines.append("  self (innermost Python line; a C call's time counts on the line that makes it):")
    for row in summary["top_self"][:top]:
        source = f"   ‹{row['source']}›" if row["source"] else ""
        lines.append(f"    {row['pct']:5.1f}%  {row['line']}{source}")
    return "\n".join(lines)
