"""Load generators: wrk (with ``levpref.lua``) for throughput and paced latency, hey as a cross-check.

Rules:
- One wrk thread: on this 2-core machine the server (one process) takes one core and wrk the other; a second wrk
  thread only steals CPU from the server (measured: the ceiling drops from 55k to 52k requests/s).
- Peak throughput: ``CONNECTIONS`` keep-alive connections, as fast as the server answers.
- Latency at a fixed rate: wrk paced by the script's ``delay()`` (send slots every 1/rate s, catching up after a
  stall), latency from the moment a request is written to its last byte read. This is hey ``-q``'s model
  (closed loop per connection), not wrk2's coordinated-omission correction: a stall longer than
  ``PACED_CONNECTIONS``/rate hides part of the queueing that an open-loop client would see.
- A run counts as clean only when every response said ``"result":"success"`` and no socket error occurred.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "levpref.lua"
CONNECTIONS = 32
PACED_CONNECTIONS = 16


@dataclass(frozen=True, slots=True)
class Run:
    """One load run: completed requests per second and latency percentiles (ms)."""

    tool: str
    mode: str
    connections: int
    target_rate: float
    seconds: float
    requests: int
    rps: float
    ok: int
    bad: int
    bad_sample: str
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float | None
    max_ms: float
    next_offset: int
    cpu: dict[str, float] | None = None  # see CpuMeter

    @property
    def clean(self) -> bool:
        return self.bad == 0 and self.socket_errors == 0 and self.requests > 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rps"] = round(self.rps, 1)
        out["clean"] = self.clean
        return out


class CpuMeter:
    """CPU used during a run, in % of one core: by the server (the given processes and all their descendants, e.g.
    levpref and the PostgreSQL cluster), by the load generator (children of this process), and by everything else on
    the machine (``foreign``: other people's jobs; a large value spoils the run)."""

    def __init__(self, server_pids: Sequence[int] = ()) -> None:
        self.server_pids = tuple(server_pids)

    def __enter__(self) -> CpuMeter:
        self._start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        self._end = self._sample()

    def _sample(self) -> tuple[float, float, dict[int, int], float]:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(v) for v in fields]
        busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.monotonic(), busy / _HZ, _tree_ticks(self.server_pids), children.ru_utime + children.ru_stime

    def as_dict(self) -> dict[str, float]:
        seconds = self._end[0] - self._start[0]
        busy = self._end[1] - self._start[1]
        server = sum(t - self._start[2].get(pid, 0) for pid, t in self._end[2].items()) / _HZ
        load = self._end[3] - self._start[3]

        def pct(v: float) -> float:
            return round(100.0 * v / seconds, 1) if seconds > 0 else 0.0

        return {"server_pct": pct(server), "load_pct": pct(load), "foreign_pct": pct(max(0.0, busy - server - load))}


def _tree_ticks(roots: Sequence[int]) -> dict[int, int]:
    """utime + stime (clock ticks) of ``roots`` and all their descendants, by pid."""
    if not roots:
        return {}
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(entry.name)
        parent[pid] = int(stat[1])
        ticks[pid] = int(stat[11]) + int(stat[12])
    wanted = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    return {pid: ticks[pid] for pid in wanted if pid in ticks}


_HZ = os.sysconf("SC_CLK_TCK")


def wrk(
    base: str,
    signed: Path,
    mode: str,
    seconds: float,
    *,
    connections: int = CONNECTIONS,
    rate: float = 0.0,
    offset: int = 0,
    server_pids: Sequence[int] = (),
) -> Run:
    """Run wrk against ``base`` with the pre-signed requests of ``signed``."""
    env = {
        **os.environ,
        "LEVPREF_BENCH_FILE": str(signed),
        "LEVPREF_BENCH_MODE": mode,
        "LEVPREF_BENCH_RATE": str(rate),
        "LEVPREF_BENCH_OFFSET": str(offset),
        "LEVPREF_BENCH_THREADS": "1",
    }
    duration = max(1, round(seconds))
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s", "-s", str(LUA), base]
    with CpuMeter(server_pids) as meter:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 120, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("LEVPREF_BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    data = json.loads(line.split(" ", 1)[1])
    elapsed = data["duration_us"] / 1e6
    return Run(
        tool="wrk",
        mode=mode,
        connections=connections,
        target_rate=rate,
        seconds=round(elapsed, 3),
        requests=int(data["requests"]),
        rps=data["requests"] / elapsed if elapsed else 0.0,
        ok=int(data["ok"]),
        bad=int(data["bad"]),
        bad_sample=str(data["bad_sample"]),
        socket_errors=int(data["socket_errors"]),
        p50_ms=data["lat_p50_us"] / 1000,
        p90_ms=data["lat_p90_us"] / 1000,
        p99_ms=data["lat_p99_us"] / 1000,
        p999_ms=data["lat_p999_us"] / 1000,
        max_ms=data["lat_max_us"] / 1000,
        next_offset=int(data["next_offset"]),
        cpu=meter.as_dict(),
    )


def hey_get(
    base: str,
    signed: Path,
    seconds: float,
    rate: float,
    connections: int = PACED_CONNECTIONS,
    server_pids: Sequence[int] = (),
) -> Run:
    """hey at ``rate`` requests/s (``-q`` is per worker) on one account's signed GET: a cross-check of wrk's pacing.

    hey cannot vary the request, so it is used for the GET only (a replayed PUT would be a harmless repeat), and it
    sees only HTTP statuses (Kraken's errors are HTTP 200), so the request is first checked once by hand."""
    first = next(ln for ln in signed.read_text().splitlines()[1:] if ln.strip()).split()
    public, get_authent = first[0], first[2]
    request = urllib.request.Request(  # noqa: S310 - our own server on loopback
        f"{base}/derivatives/api/v3/leveragepreferences", headers={"APIKey": public, "Authent": get_authent}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        answer = response.read().decode()
    if '"result":"success"' not in answer:
        raise RuntimeError(f"the signed GET for hey is refused: {answer[:200]}")
    per_worker = max(1, round(rate / connections))
    duration = max(1, round(seconds))
    command = [
        "hey",
        "-z",
        f"{duration}s",
        "-c",
        str(connections),
        "-q",
        str(per_worker),
        "-H",
        f"APIKey: {public}",
        "-H",
        f"Authent: {get_authent}",
        f"{base}/derivatives/api/v3/leveragepreferences",
    ]
    with CpuMeter(server_pids) as meter:
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, check=False)
    out = done.stdout

    def number(pattern: str) -> float:
        found = re.search(pattern, out)
        if found is None:
            raise RuntimeError(f"hey printed no {pattern!r}: {out[-1500:]} {done.stderr[-500:]}")
        return float(found.group(1))

    statuses = {int(code): int(n) for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out)}
    requests = sum(statuses.values())
    return Run(
        tool="hey",
        mode="get",
        connections=connections,
        target_rate=per_worker * connections,
        seconds=number(r"Total:\s+([\d.]+) secs"),
        requests=requests,
        rps=number(r"Requests/sec:\s+([\d.]+)"),
        ok=statuses.get(200, 0),
        bad=requests - statuses.get(200, 0),
        bad_sample="" if done.returncode == 0 else done.stderr[-200:],
        socket_errors=0,
        p50_ms=number(r"50% in ([\d.]+) secs") * 1000,
        p90_ms=number(r"90% in ([\d.]+) secs") * 1000,
        p99_ms=number(r"99% in ([\d.]+) secs") * 1000,
        p999_ms=None,
        max_ms=number(r"Slowest:\s+([\d.]+) secs") * 1000,
        next_offset=0,
        cpu=meter.as_dict(),
    )
