"""levpref's pytest plugin (entry point ``pytest11``): an offline Kraken Futures for a bot's own test suite.

Fixtures:
- ``levpref_server`` (function scope): a fresh ``levpref serve`` process for each test that asks for it, started
  with the world of the closest ``@pytest.mark.levpref_scenario(...)`` marker (a TOML/JSON path relative to the
  test file, or a dict), else the packaged demo world; stopped when the test ends, passed or failed.
- ``levpref_server_factory`` (session scope): ``factory(scenario=None, *, base_dir=None, env=None, args=())``
  starts a server and returns it; every server it started is stopped at the end of the session at the latest.
  A wider scope is one fixture override away (see ``docs/testing.md``)::

      @pytest.fixture(scope="session")
      def levpref_server(levpref_server_factory):
          return levpref_server_factory("world.toml")   # relative to the rootdir
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from levpref.testing.server import LevprefServer, ScenarioSource

MARKER = "levpref_scenario"


class ServerFactory:
    """Starts :class:`LevprefServer` processes and stops every one of them when :meth:`stop_all` runs."""

    def __init__(self, directories: pytest.TempPathFactory, rootdir: Path) -> None:
        self._directories = directories
        self._rootdir = rootdir
        self._started: list[LevprefServer] = []

    def __call__(
        self,
        scenario: ScenarioSource = None,
        *,
        base_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        start_timeout: float = 30.0,
    ) -> LevprefServer:
        """A started server on ``scenario`` (relative paths resolve against ``base_dir``, default the rootdir)."""
        server = LevprefServer(
            scenario,
            directory=self._directories.mktemp("levpref"),
            base_dir=base_dir or self._rootdir,
            env=env,
            args=args,
            start_timeout=start_timeout,
        )
        self._started.append(server)
        return server.start()

    def stop_all(self) -> None:
        started, self._started = self._started, []
        for server in reversed(started):
            server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(scenario): the world levpref_server starts with: a TOML/JSON scenario file (a path relative to "
        "the test file) or a dict in the scenario structure; default: the packaged demo world",
    )


@pytest.fixture(scope="session")
def levpref_server_factory(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[ServerFactory]:
    """Start levpref servers of any scope: ``levpref_server_factory(scenario)`` returns a started server."""
    factory = ServerFactory(tmp_path_factory, pytestconfig.rootpath)
    try:
        yield factory
    finally:
        factory.stop_all()


def scenario_of(request: pytest.FixtureRequest) -> ScenarioSource:
    """The scenario of the closest ``levpref_scenario`` marker of the requesting node (``None``: the demo world)."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return None
    if len(marker.args) != 1 or marker.kwargs:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} takes exactly one argument: a scenario file or a dict")
    (scenario,) = marker.args
    if not isinstance(scenario, (str, os.PathLike, Mapping)):
        raise pytest.UsageError(f"@pytest.mark.{MARKER}: expected a path or a dict, got {type(scenario).__name__}")
    return scenario


@pytest.fixture
def levpref_server(request: pytest.FixtureRequest, levpref_server_factory: ServerFactory) -> Iterator[LevprefServer]:
    """A real levpref server for this test, on the world of its ``levpref_scenario`` marker (default: the demo)."""
    server = levpref_server_factory(scenario_of(request), base_dir=request.path.parent)
    try:
        yield server
    finally:
        server.stop()
