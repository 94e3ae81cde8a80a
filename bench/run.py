"""levpref's benchmark: one run measures the ceiling, levpref's PUT/GET throughput and latency, the cost of positions
per account and of accounts per database, profiles the PUT path, prints a table and writes a JSON record.

    .venv/bin/python -m bench.run            # full run (~6 minutes), writes bench/results/<date>-<sha>.json
    .venv/bin/python -m bench.run --quick    # smoke run (~1 minute), writes bench/results/<date>-<sha>-quick.json
    .venv/bin/python -m bench.run --postgres # also the reference world on a throwaway PostgreSQL cluster

What each figure means: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import profile as prof
from bench import roundtrips
from bench.load import CONNECTIONS, PACED_CONNECTIONS, CpuMeter, Run, hey_get, wrk
from bench.procs import Server, free_port
from bench.report import print_report, summarise
from bench.world import (
    LEVERAGES,
    LEVPREF,
    ROOT,
    BuildReport,
    WorldSpec,
    build_postgres,
    build_sqlite,
    scenario,
    write_signed,
)

BENCH = Path(__file__).resolve().parent
FOREIGN_CPU_LIMIT = 15.0  # % of one core used by other processes during a run before it is flagged
RESULTS = BENCH / "results"


@dataclass(frozen=True, slots=True)
class Plan:
    quick: bool
    seconds: float  # each peak-throughput run
    warmup: float  # an unrecorded run before each measured one
    latency_seconds: float  # each paced and one-connection run
    profile_seconds: float
    reference: WorldSpec
    k_values: tuple[int, ...]  # positions per account, on reference.accounts accounts (K = 1 is the reference)
    n_values: tuple[int, ...]  # accounts, with one position each (N = reference.accounts is the reference)
    sample: int  # at most this many accounts are pre-signed and visited per world
    scenario_accounts: int  # size of the world timed through ``levpref scenario load``
    sync_full: bool  # also measure PUTs with LEVPREF_SQLITE_SYNCHRONOUS=FULL


FULL = Plan(False, 10, 2, 8, 10, WorldSpec(1000, 1), (10, 100, 1000), (100_000, 1_000_000), 100_000, 100_000, True)
QUICK = Plan(True, 3, 1, 3, 3, WorldSpec(1000, 1), (10, 100, 1000), (10_000,), 10_000, 2_000, False)


@dataclass
class World:
    """A built world and where the next PUT run continues its leverage cycle."""

    spec: WorldSpec
    database_url: str
    signed: Path
    build: BuildReport
    offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, plan: Plan, work: Path, label: str, retries: int = 2, retry_budget: float = 600.0) -> None:
        self.plan = plan
        self.work = work
        self.key_file = work / "master.key"
        self.label = label
        self.retries = retries
        self.retry_deadline = time.monotonic() + retry_budget
        self.waited: list[float] = []
        self.database_pids: tuple[int, ...] = ()
        self.wait_deadline = time.monotonic() + retry_budget / 2

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    # --- worlds -------------------------------------------------------------------------------------------
    def sign(self, spec: WorldSpec) -> Path:
        sample = min(spec.accounts, self.plan.sample)
        # A large sample is never visited twice in one run, so two leverage values suffice (and keep the file small).
        leverages = LEVERAGES if sample <= 10_000 else LEVERAGES[:2]
        signed = self.work / f"{spec.name}.signed"
        write_signed(spec, sample, leverages, signed)
        return signed

    def sqlite_world(self, spec: WorldSpec) -> World:
        db = self.work / f"{spec.name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        build = build_sqlite(spec, db, self.key_file)
        started = time.perf_counter()
        signed = self.sign(spec)
        world = World(spec, f"sqlite:///{db}", signed, build)
        world.extra["sign_seconds"] = round(time.perf_counter() - started, 2)
        world.extra["db_bytes"] = db.stat().st_size
        self.log(
            f"world {spec.name}: built in {build.seconds:.1f} s ({build.rows} rows), {db.stat().st_size >> 20} MiB"
        )
        return world

    def drop(self, world: World) -> None:
        if world.database_url.startswith("sqlite:///"):
            db = world.database_url[len("sqlite:///") :]
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        world.signed.unlink(missing_ok=True)

    def server(self, world: World, env: dict[str, str] | None = None, workers: int = 1) -> Server:
        return Server.levpref(world.spec.name, world.database_url, self.key_file, self.work, env, workers).start()

    # --- runs ---------------------------------------------------------------------------------------------
    def put(self, server: Server, world: World, seconds: float, *, measured: bool = True, **kw: Any) -> Run:
        def attempt() -> Run:
            before = audit_max(world.database_url)
            run = wrk(
                server.base,
                world.signed,
                "put",
                seconds,
                offset=world.offset,
                server_pids=self.server_pids(server),
                **kw,
            )
            # skip what may still have been in flight, so the next run's PUTs change state too
            world.offset = run.next_offset + run.connections
            time.sleep(0.3)
            changed = audit_max(world.database_url) - before
            self.check(run, f"PUT on {world.spec.name}")
            world.extra.setdefault("state_changes", []).append({"ok": run.ok, "audit_rows_added": changed})
            return run

        return self.steady(attempt) if measured else attempt()

    def get(self, server: Server, world: World, seconds: float, *, measured: bool = True, **kw: Any) -> Run:
        def attempt() -> Run:
            run = wrk(server.base, world.signed, "get", seconds, server_pids=self.server_pids(server), **kw)
            self.check(run, f"GET on {world.spec.name}")
            return run

        return self.steady(attempt) if measured else attempt()

    def server_pids(self, server: Server) -> tuple[int, ...]:
        """The processes whose CPU is the server's: levpref, and the PostgreSQL cluster when there is one."""
        return (server.pid, *self.database_pids)

    def steady(self, attempt: Callable[[], Run]) -> Run:
        """Run when the machine is quiet; repeat a run that other jobs disturbed, keep the least disturbed one."""
        best: Run | None = None
        for tries in range(self.retries + 1):
            if tries and time.monotonic() > self.retry_deadline:
                break
            self.wait_quiet()
            run = attempt()
            if best is None or _foreign(run) < _foreign(best):
                best = run
            if _foreign(run) <= FOREIGN_CPU_LIMIT:
                break
            if tries < self.retries and time.monotonic() <= self.retry_deadline:
                self.log("  ↑ disturbed by other jobs on the machine: once more")
        assert best is not None
        return best

    def wait_quiet(self, longest: float = 30.0) -> None:
        """Wait (at most ``longest`` s) until other processes use less than FOREIGN_CPU_LIMIT % of a core."""
        deadline = time.monotonic() + longest
        while True:
            with CpuMeter() as meter:
                time.sleep(0.5)
            busy = meter.as_dict()["foreign_pct"]
            if busy <= FOREIGN_CPU_LIMIT or time.monotonic() > min(deadline, self.wait_deadline):
                self.waited.append(round(busy, 1))
                return
            time.sleep(1.0)

    def check(self, run: Run, what: str) -> None:
        status = (
            "" if run.clean else f"  NOT CLEAN: {run.bad} refused, {run.socket_errors} socket errors {run.bad_sample}"
        )
        rate = f" at {run.target_rate:.0f}/s" if run.target_rate else ""
        cpu = run.cpu or {}
        if cpu:
            status += f"  cpu: server {cpu['server_pct']:.0f}%, load {cpu['load_pct']:.0f}%"
            if cpu["foreign_pct"] > FOREIGN_CPU_LIMIT:
                status += f", OTHER JOBS {cpu['foreign_pct']:.0f}% (run disturbed)"
        self.log(
            f"{what}: {run.rps:8.0f} req/s{rate}, c={run.connections}, p50 {run.p50_ms:.2f} ms, "
            f"p99 {run.p99_ms:.2f} ms{status}"
        )

    def peak(self, server: Server, world: World, mode: str) -> Run:
        if mode == "put":
            self.put(server, world, self.plan.warmup, measured=False)
            return self.put(server, world, self.plan.seconds)
        self.get(server, world, self.plan.warmup, measured=False)
        return self.get(server, world, self.plan.seconds)

    def profile_put(self, server: Server, world: World, name: str, seconds: float) -> dict[str, Any]:
        """py-spy on the server while wrk drives PUTs at full speed."""
        folded = self.work / f"{name}.folded"
        env = {**os.environ}
        self.wait_quiet()
        wrk_seconds = seconds + 3
        command = [sys.executable, "-c", _WRK_IN_BACKGROUND, server.base, str(world.signed), str(wrk_seconds)]
        command.append(str(world.offset))
        load = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        time.sleep(1.0)
        try:
            line = prof.record(server.pid, seconds, folded)
        finally:
            out, _ = load.communicate(timeout=wrk_seconds + 60)
        world.offset = int(out.strip() or world.offset) + CONNECTIONS
        summary = prof.read_folded(folded).summary()
        summary["py_spy"] = line
        summary["folded_file"] = folded.name
        self.log(prof.format_profile(f"profile {name}", summary, top=12))
        return summary

    # --- the parts of a run -------------------------------------------------------------------------------
    def scenario_path(self) -> dict[str, Any]:
        """Time the operator's path (``levpref scenario load`` of a JSON file) against the direct bulk load."""
        spec = WorldSpec(self.plan.scenario_accounts, 1)
        path = self.work / "scenario.json"
        started = time.perf_counter()
        path.write_text(json.dumps(scenario(spec)))
        written = time.perf_counter() - started
        db = self.work / "scenario.db"
        rss_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        command = [str(LEVPREF), "scenario", "load", str(path), "--database-url", f"sqlite:///{db}"]
        subprocess.run(
            [*command, "--master-key-file", str(self.key_file)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=1800,
        )
        loaded = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        json_bytes = path.stat().st_size
        direct = build_sqlite(spec, self.work / "direct.db", self.key_file)
        for name in ("scenario.json", "scenario.db", "scenario.db-wal", "scenario.db-shm", "direct.db"):
            (self.work / name).unlink(missing_ok=True)
        result = {
            "accounts": spec.accounts,
            "scenario_json_bytes": json_bytes,
            "scenario_write_seconds": round(written, 2),
            "scenario_load_seconds": round(loaded, 2),
            "scenario_load_peak_rss_kb": rss if rss > rss_before else None,
            "direct_seconds": round(direct.seconds, 2),
            "scenario_accounts_per_s": round(spec.accounts / loaded),
            "direct_accounts_per_s": round(spec.accounts / direct.seconds),
        }
        self.log(
            f"scenario path: {spec.accounts} accounts in {loaded:.1f} s via `levpref scenario load`, "
            f"{direct.seconds:.1f} s direct"
        )
        return result

    def ceiling(self, world: World) -> dict[str, Any]:
        with Server.hello(self.work).start() as hello:
            out: dict[str, Any] = {}
            for mode in ("put", "get"):
                wrk(hello.base, world.signed, mode, self.plan.warmup)

                def attempt(mode: str = mode) -> Run:
                    run = wrk(hello.base, world.signed, mode, self.plan.seconds, server_pids=(hello.pid,))
                    self.check(run, f"ceiling, {mode.upper()}-shaped requests")
                    return run

                out[mode] = self.steady(attempt).as_dict()
            out["peak_rss_kb"] = hello.peak_rss_kb()
        return out

    def reference(self, world: World, *, backend: str) -> dict[str, Any]:
        out: dict[str, Any] = {"world": world.spec.name, "build": world.build.as_dict()}
        with self.server(world) as server:
            put = self.peak(server, world, "put")
            get = self.peak(server, world, "get")
            out["put"], out["get"] = put.as_dict(), get.as_dict()
            half = {"connections": PACED_CONNECTIONS}
            put_half = self.put(server, world, self.plan.latency_seconds, rate=put.rps / 2, **half)
            get_half = self.get(server, world, self.plan.latency_seconds, rate=get.rps / 2, **half)
            out["put_half_rate"], out["get_half_rate"] = put_half.as_dict(), get_half.as_dict()
            if backend == "sqlite" and shutil.which("hey"):

                def hey_run() -> Run:
                    run = hey_get(
                        server.base,
                        world.signed,
                        self.plan.latency_seconds,
                        get.rps / 2,
                        server_pids=self.server_pids(server),
                    )
                    self.check(run, "GET at half rate, hey -q (one account)")
                    return run

                out["get_half_rate_hey"] = self.steady(hey_run).as_dict()
            out["put_one_connection"] = self.put(server, world, self.plan.latency_seconds, connections=1).as_dict()
            if backend == "sqlite" and self.plan.profile_seconds:
                out["profile_put"] = self.profile_put(server, world, "put", self.plan.profile_seconds)
            out["peak_rss_kb"] = server.peak_rss_kb()
        if backend == "sqlite" and self.plan.sync_full:
            with self.server(world, {"LEVPREF_SQLITE_SYNCHRONOUS": "FULL"}) as server:
                full = self.peak(server, world, "put")
                one = self.put(server, world, self.plan.latency_seconds, connections=1)
                out["put_synchronous_full"] = {"put": full.as_dict(), "put_one_connection": one.as_dict()}
        out["state_changes"] = world.extra.get("state_changes", [])
        return out

    def k_sweep(self, reference: dict[str, Any]) -> list[dict[str, Any]]:
        rows = [
            {
                "positions": 1,
                "accounts": self.plan.reference.accounts,
                "put": reference["put"],
                "put_one_connection": reference["put_one_connection"],
                "peak_rss_kb": reference["peak_rss_kb"],
            }
        ]
        for k in self.plan.k_values:
            world = self.sqlite_world(replace(self.plan.reference, positions=k))
            row: dict[str, Any] = {"positions": k, "accounts": world.spec.accounts, "build": world.build.as_dict()}
            with self.server(world) as server:
                row["put"] = self.peak(server, world, "put").as_dict()
                one = self.put(server, world, self.plan.latency_seconds, connections=1)
                row["put_one_connection"] = one.as_dict()
                if k == max(self.plan.k_values) and self.plan.profile_seconds and not self.plan.quick:
                    row["profile_put"] = self.profile_put(server, world, f"put-k{k}", self.plan.profile_seconds / 2)
                row["peak_rss_kb"] = server.peak_rss_kb()
            row["state_changes"] = world.extra.get("state_changes", [])
            self.drop(world)
            rows.append(row)
        return rows

    def n_sweep(self, reference: dict[str, Any]) -> list[dict[str, Any]]:
        rows = [
            {
                "accounts": self.plan.reference.accounts,
                "put": reference["put"],
                "get": reference["get"],
                "peak_rss_kb": reference["peak_rss_kb"],
            }
        ]
        for n in self.plan.n_values:
            world = self.sqlite_world(replace(self.plan.reference, accounts=n))
            row: dict[str, Any] = {"accounts": n, "build": world.build.as_dict(), **world.extra}
            with self.server(world) as server:
                row["put"] = self.peak(server, world, "put").as_dict()
                row["get"] = self.peak(server, world, "get").as_dict()
                row["peak_rss_kb"] = server.peak_rss_kb()
            row["visited_accounts"] = min(n, self.plan.sample)
            row["state_changes"] = world.extra.get("state_changes", [])
            self.drop(world)
            rows.append(row)
        return rows

    def remote_postgres(self, world: World, url: str) -> dict[str, Any]:
        """PUT peaks with the database behind a network round trip (a delaying proxy), one and two processes."""
        out: dict[str, Any] = {}
        for rtt in REMOTE_RTTS_MS:
            proxy, through = _delaying_proxy(url, rtt)
            try:
                remote = World(world.spec, through, world.signed, world.build)
                remote.offset = world.offset
                figures: dict[str, Any] = {}
                for workers in (1, 2):
                    with self.server(remote, workers=workers) as server:
                        figures[f"{workers}_process"] = {"put": self.peak(server, remote, "put").as_dict()}
                world.offset = remote.offset
                out[f"rtt_{rtt}ms"] = figures
            finally:
                os.killpg(proxy.pid, signal.SIGTERM)
                proxy.wait(timeout=10)
        return out

    def postgres(self) -> dict[str, Any]:
        """The reference world on PostgreSQL with one server process, then peaks with two (``--workers 2``)."""
        sys.path.insert(0, str(ROOT))
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster()
        cluster.start()
        postmaster = (cluster.data / "postmaster.pid").read_text().split()[0]
        self.database_pids = (int(postmaster),)
        try:
            spec = self.plan.reference
            url = cluster.create_database("levpref_bench")
            build = build_postgres(spec, url, self.key_file)
            self.log(f"world {spec.name} on PostgreSQL: built in {build.seconds:.1f} s")
            world = World(spec, url, self.sign(spec), build)
            out = {"reference": self.reference(world, backend="postgres")}
            with self.server(world, workers=2) as server:
                out["two_processes"] = {
                    "put": self.peak(server, world, "put").as_dict(),
                    "get": self.peak(server, world, "get").as_dict(),
                }
            with self.server(world, workers=4) as server:
                out["four_processes"] = {"put": self.peak(server, world, "put").as_dict()}
            out["remote"] = self.remote_postgres(world, url)
            return out
        finally:
            self.database_pids = ()
            cluster.stop()


REMOTE_RTTS_MS = (0.25, 0.5, 1.0)


def _delaying_proxy(url: str, rtt_ms: float) -> tuple[subprocess.Popen[str], str]:
    """``bench.delay_proxy`` in front of the database of ``url``; returns the process and the URL through it."""
    match = re.match(r"(postgresql://[^@]+@)([^:/]+):(\d+)(/.*)", url)
    assert match, url
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.delay_proxy", "--listen", str(port), "--target",
         f"{match[2]}:{match[3]}", "--rtt-ms", str(rtt_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc, f"{match[1]}127.0.0.1:{port}{match[4]}"


_WRK_IN_BACKGROUND = """
import sys
from pathlib import Path
from bench.load import wrk
run = wrk(sys.argv[1], Path(sys.argv[2]), "put", float(sys.argv[3]), offset=int(sys.argv[4]))
print(run.next_offset)
"""


def _foreign(run: Run) -> float:
    return (run.cpu or {}).get("foreign_pct", 0.0)


def audit_max(database_url: str) -> int:
    """The last audit id: every accepted leverage change writes exactly one audit row."""
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(f"file:{database_url[len('sqlite:///') :]}?mode=ro", uri=True, timeout=30)
        try:
            row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit").fetchone()
        finally:
            conn.close()
        return int(row[0])
    import psycopg

    with psycopg.connect(database_url) as conn:
        found = conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit").fetchone()
    return int(found[0]) if found else 0


def machine() -> dict[str, Any]:
    def version(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return "missing"
        return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else "?"

    import uvicorn

    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    return {
        "cpus": os.cpu_count(),
        "memory": " ".join(mem.split()[1:]),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "uvicorn": uvicorn.__version__,
        "wrk": version(["wrk", "--version"]),
        "hey": "present" if shutil.which("hey") else "missing",
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def export_src(sha: str, into: Path) -> None:
    """``src/`` as committed at ``sha``, unpacked into ``into`` (``git archive``; the repository is not touched)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha, "src"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False)
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small worlds, short runs: a smoke test (~1 minute)")
    parser.add_argument("--postgres", action="store_true", help="also the reference world on a throwaway PostgreSQL")
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy")
    parser.add_argument(
        "--workdir", type=Path, help="databases and logs, on a real disk (default: a new bench/.work/run-<pid>/)"
    )
    parser.add_argument("--retries", type=int, default=2, help="repeat a run disturbed by other jobs up to N times")
    parser.add_argument(
        "--priority", type=int, default=10, help="run server and load at nice -N when root (0: leave it), default 10"
    )
    parser.add_argument(
        "--working-tree",
        action="store_true",
        help="measure src/ as it is on disk (default: the committed HEAD, exported once, so edits during the run and "
        "uncommitted changes do not leak into the numbers)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory afterwards")
    parser.add_argument("--out", type=Path, help="the JSON record (default bench/results/<date>-<sha>[-quick].json)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # stop the servers (context managers) when terminated
    if args.priority and os.geteuid() == 0:
        # Children inherit it: the server and wrk get most of the CPU even while other jobs run on the machine.
        os.setpriority(os.PRIO_PROCESS, 0, -args.priority)
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is missing (apt-get install wrk hey, or ./dev bench)", file=sys.stderr)
            return 2
    plan = QUICK if args.quick else FULL
    if args.no_profile or prof.py_spy() is None:
        plan = replace(plan, profile_seconds=0)
    # A directory of its own: two benchmarks started at once must not delete each other's databases.
    args.workdir = args.workdir or BENCH / ".work" / f"run-{os.getpid()}"
    if args.workdir.exists() and any(args.workdir.iterdir()):
        print(f"bench: {args.workdir} is not empty", file=sys.stderr)
        return 2
    args.workdir.mkdir(parents=True, exist_ok=True)
    full_sha = git("rev-parse", "HEAD")
    sha = full_sha[:10] or "nogit"
    measured = "working tree" if args.working_tree else f"HEAD {sha}"
    if not args.working_tree and sha != "nogit":
        snapshot = args.workdir / "src-at-head"
        export_src(full_sha, snapshot)
        prof.SRC = snapshot / "src"
        # Every levpref process (serve, migrate, scenario load) imports this copy: it precedes the editable install.
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(snapshot / "src"), os.environ.get("PYTHONPATH")]))
    label = f"{time.strftime('%Y-%m-%d', time.gmtime())}-{sha}" + ("-quick" if plan.quick else "")
    bench = Bench(plan, args.workdir, label, retries=args.retries, retry_budget=120 if plan.quick else 300)
    started = time.monotonic()
    record: dict[str, Any] = {
        "label": label,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_sha": full_sha,
        "measured_src": measured,
        "src_dirty": bool(git("status", "--porcelain", "--", "src")),
        "machine": machine(),
        "plan": {k: v if not isinstance(v, WorldSpec) else v.name for k, v in vars_of(plan).items()},
        "load": {"connections": CONNECTIONS, "paced_connections": PACED_CONNECTIONS, "wrk_threads": 1},
        "workdir_fs": filesystem_of(args.workdir),
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
    }
    try:
        record["scenario_path"] = bench.scenario_path()
        reference = bench.sqlite_world(plan.reference)
        record["ceiling"] = bench.ceiling(reference)
        record["sqlite"] = {"reference": bench.reference(reference, backend="sqlite")}
        bench.drop(reference)
        record["sqlite"]["positions_sweep"] = bench.k_sweep(record["sqlite"]["reference"])
        record["sqlite"]["accounts_sweep"] = bench.n_sweep(record["sqlite"]["reference"])
        if args.postgres:
            record["postgres"] = bench.postgres()
        record["round_trips"] = roundtrips.run(args.postgres)
    except BaseException:
        print(f"bench: failed; logs and databases kept in {args.workdir}", file=sys.stderr)
        raise
    record["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    record["elapsed_seconds"] = round(time.monotonic() - started)
    record["quiet_waits"] = {"count": len(bench.waited), "foreign_pct_at_start": bench.waited}
    record["summary"] = summarise(record)
    out = args.out or RESULTS / f"{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    for folded in args.workdir.glob("*.folded"):
        shutil.copy(folded, out.parent / f"{label}-{folded.name}")
    print_report(record)
    print(f"\nrecord: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def vars_of(plan: Plan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in plan.__dataclass_fields__}


def filesystem_of(path: Path) -> str:
    """The filesystem type holding ``path`` (tmpfs would make fsync free and the numbers meaningless)."""
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) > 2 and str(path.resolve()).startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind


if __name__ == "__main__":
    raise SystemExit(main())
