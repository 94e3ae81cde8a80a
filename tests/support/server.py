"""A real levpref server process, started with ``levpref serve`` on a free port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from levpref.testing.server import stop_process_group
from tests.support.postgres import free_port

ADMIN_TOKEN = "test-admin-token-0123456789"
SERVER_LOGS: list[Path] = []  # every server log of the session, scanned for secrets at the end (conftest)


class ServerProcess:
    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 1,
        port: int | None = None,
        scenario: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        master_key_file: str | None = None,
    ) -> None:
        self.database_url = database_url
        self.workers = workers
        self.port = port or free_port()
        self.scenario = scenario
        self.extra_env = env or {}
        self.master_key_file = master_key_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="levpref-server-", suffix=".log")[1])
        SERVER_LOGS.append(self.log_path)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, load_scenario: bool = True) -> ServerProcess:
        args = [
            sys.executable,
            "-m",
            "levpref.cli",
            "serve",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--admin-token",
            ADMIN_TOKEN,
            "--workers",
            str(self.workers),
            "--log-level",
            "info",
        ]
        if self.master_key_file:
            args += ["--master-key-file", self.master_key_file]
        if self.scenario is not None and load_scenario:
            path = Path(tempfile.mkstemp(prefix="levpref-scenario-", suffix=".json")[1])
            path.write_text(json.dumps(self.scenario))
            args += ["--scenario", str(path)]
        env = {**os.environ, **self.extra_env}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become ready:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc, 10)
        self.proc = None

    def kill9(self) -> None:
        """``kill -9`` the whole process group (uvicorn's supervisor and every worker)."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)

    def load(self, scenario: dict[str, Any]) -> None:
        with self.admin() as admin:
            response = admin.put("/admin/v1/scenario", json=scenario)
            assert response.status_code == 200, response.text

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")
