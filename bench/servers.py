"""uvicorn against granian: each server's own ceiling and levpref on it, in one run (issue 13, item 2).

For each HTTP server: the raw ASGI hello world (``bench.hello``'s app) and levpref (``levpref.bootstrap:create_app``,
the factory ``levpref serve`` gives uvicorn), one worker, uvloop, driven by the benchmark's own wrk script with the
same pre-signed PUTs and GETs on the reference world (N = 1 000 accounts × K = 1 position, SQLite). levpref on
uvicorn runs with levpref's HTTP protocol (SPEC §2.5: per-address connection cap, idle-head timeout, head limits);
granian cannot run that protocol (its HTTP layer is Rust), so it runs with the nearest options it has
(``--backpressure 2048``, ``--http1-header-read-timeout 5000``) and without a per-address cap.

    .venv/bin/python -m bench.servers [--seconds 8] [--out FILE]

Prints a table and writes ``bench/results/<date>-servers.json``. Needs granian (``bench/requirements.txt``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import wrk
from bench.procs import ADMIN_TOKEN, Server
from bench.world import ROOT, WorldSpec, build_sqlite, write_signed

GRANIAN = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--workers", "1",
           "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
           "--backpressure", "2048", "--http", "1", "--http1-header-read-timeout", "5000"]  # fmt: skip


def _servers(work: Path, db: Path, key_file: Path) -> dict[str, Server]:
    env = {
        "LEVPREF_DATABASE_URL": f"sqlite:///{db}",
        "LEVPREF_MASTER_KEY_FILE": str(key_file),
        "LEVPREF_ADMIN_TOKEN": ADMIN_TOKEN,
        "LEVPREF_LOG_LEVEL": "warning",
    }
    return {
        "uvicorn hello": Server.hello(work),
        "uvicorn levpref": Server.levpref("levpref-uvicorn", f"sqlite:///{db}", key_file, work),
        "granian hello": Server("granian-hello", [*GRANIAN, "bench.hello:app"], work),
        "granian levpref": Server(
            "granian-levpref", [*GRANIAN, "--factory", "levpref.bootstrap:create_app"], work, env
        ),
    }


def measure(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as directory:
        work = Path(directory)
        spec = WorldSpec(1000, 1)
        db, key_file, signed = work / "servers.db", work / "master.key", work / "servers.signed"
        build_sqlite(spec, db, key_file)
        write_signed(spec, 1000, ("10", "-", "5", "20", "-", "2.5"), signed)
        out: dict[str, Any] = {}
        offset = 0
        for name, server in _servers(work, db, key_file).items():
            with server.start():
                for mode in ("put", "get"):
                    offset = wrk(server.base, signed, mode, 2, offset=offset).next_offset  # warm-up
                    run = wrk(server.base, signed, mode, seconds, offset=offset, server_pids=(server.pid,))
                    offset = run.next_offset
                    if run.bad or run.socket_errors:
                        raise RuntimeError(f"{name} {mode}: {run.bad} bad answers ({run.bad_sample})")
                    out[f"{name} {mode}"] = {"rps": round(run.rps, 1), "p50_ms": run.p50_ms, "p99_ms": run.p99_ms}
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    started = time.time()
    runs = measure(args.seconds)
    ratios = {
        f"{server} {mode}": round(runs[f"{server} levpref {mode}"]["rps"] / runs[f"{server} hello {mode}"]["rps"], 3)
        for server in ("uvicorn", "granian")
        for mode in ("put", "get")
    }
    for name, figures in runs.items():
        rps, p50, p99 = figures["rps"], figures["p50_ms"], figures["p99_ms"]
        print(f"{name:22s} {rps:9.1f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    for name, ratio in ratios.items():
        print(f"levpref / own ceiling, {name}: {ratio}")
    record = {"started_utc": datetime.fromtimestamp(started, UTC).isoformat(), "runs": runs, "ratios": ratios}
    out = args.out or ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-servers.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
