"""levpref's testing toolkit (SPEC §6.3): a real levpref server for a bot's own test suite.

With levpref installed, pytest loads the plugin by itself (entry point ``pytest11``) and offers the fixtures
``levpref_server`` and ``levpref_server_factory`` and the marker ``levpref_scenario``; see ``docs/testing.md``.
Outside pytest, :class:`LevprefServer` is a context manager::

    with LevprefServer("world.toml") as server:
        server.ccxt().set_leverage(10, "BTC/USD:USD")
"""

from __future__ import annotations

from levpref.testing.server import (
    DEMO_SCENARIO,
    Admin,
    Key,
    LevprefAdminError,
    LevprefServer,
    LevprefStartError,
    World,
    ccxt_urls,
    read_world,
)

__all__ = [
    "DEMO_SCENARIO",
    "Admin",
    "Key",
    "LevprefAdminError",
    "LevprefServer",
    "LevprefStartError",
    "World",
    "ccxt_urls",
    "read_world",
]
