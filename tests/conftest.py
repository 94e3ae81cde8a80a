"""Shared fixtures: a real server process on a real SQLite file, reset to the test world per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import world
from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = Path(tmp_path_factory.mktemp("sqlite")) / "levpref.db"
    server = ServerProcess(f"sqlite:///{db}", scenario=world.scenario()).start()
    yield server
    server.stop()


@pytest.fixture
def server(sqlite_server: ServerProcess) -> ServerProcess:
    """The session's server, with the test world freshly loaded."""
    sqlite_server.load(world.scenario())
    return sqlite_server


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=10) as client:
        yield client
