"""A throwaway PostgreSQL cluster from the installed server binaries (initdb, pg_ctl) in a temp directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _pg_bin() -> Path:
    """``LEVPREF_PG_BIN``, else the newest ``/usr/lib/postgresql/N/bin`` (Debian and Ubuntu packages)."""
    configured = os.environ.get("LEVPREF_PG_BIN")
    if configured:
        return Path(configured)
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parent.parent.name.isdigit()]
    return max(found, key=lambda p: int(p.parent.name), default=Path("/usr/lib/postgresql/15/bin"))


PG_BIN = _pg_bin()


def _major(bin_dir: Path) -> int:
    """The server's major version (``initdb (PostgreSQL) 15.18`` → 15)."""
    out = subprocess.run([str(bin_dir / "initdb"), "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1].split(".")[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    def __init__(self) -> None:
        self._as_postgres = os.geteuid() == 0  # root runs the server as the packages' postgres user
        # That user must reach the directory: under /tmp, not a TMPDIR inside root's home.
        self.root = Path(tempfile.mkdtemp(prefix="levpref-pg-", dir="/tmp" if self._as_postgres else None))
        self.data = self.root / "data"
        self.port = free_port()

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")

    def start(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL server binaries not found in {PG_BIN}")
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "levpref",
            "--auth=trust",
            "-E",
            "UTF8",
            # A collation like production's (not C): SQL that sorts text by the database's collation shows up.
            *(["--locale-provider=icu", "--icu-locale=en-US"] if _major(PG_BIN) >= 15 else []),
            "--no-sync",
        )
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on "
            "-c synchronous_commit=on -c max_connections=200 -c shared_buffers=128MB"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://levpref@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "levpref", name)
        return self.url(name)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
