"""Server processes for the benchmark: levpref in its production configuration, and the hello-world ceiling.

Rules:
- levpref runs as ``.venv/bin/levpref serve`` with the given database, a fixed admin token and the master key file
  the world was sealed with; nothing else is changed from the defaults (one worker, ``synchronous=NORMAL``).
- With one worker uvicorn serves in the process it was started in, so that process's ``VmHWM`` is the server's
  peak RSS; with more workers the children's are added.
- Every process is started in its own session and stopped by its own process group, nothing else.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.world import LEVPREF, ROOT
from levpref.testing.server import stop_process_group

ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"  # noqa: S105 - a throwaway token for a throwaway server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server process on a free port; ``base`` is its URL."""

    def __init__(self, name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.args = [*args, "--port", str(self.port)]
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def levpref(
        cls,
        name: str,
        database_url: str,
        key_file: Path,
        log_dir: Path,
        env: dict[str, str] | None = None,
        workers: int = 1,
    ) -> Server:
        args = [
            str(LEVPREF),
            "serve",
            "--database-url",
            database_url,
            "--admin-token",
            ADMIN_TOKEN,
            "--master-key-file",
            str(key_file),
            "--workers",
            str(workers),
        ]
        return cls(name, args, log_dir, env)

    @classmethod
    def hello(cls, log_dir: Path) -> Server:
        return cls("hello", [sys.executable, "-m", "bench.hello", "--workers", "1"], log_dir)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, ready_path: str = "/health", timeout: float = 60.0) -> Server:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + ready_path, timeout=1.0) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log_path.read_text()[-3000:]}")

    def peak_rss_kb(self) -> int:
        """``VmHWM`` of the server process and its children (uvicorn workers), in kB."""
        total = 0
        for pid in [self.pid, *_children(self.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process_group(self.proc)
        self.proc = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]
