"""The audit API pages through the whole log, and exports keep secrets out unless asked (SPEC §4)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import world
from tests.support.server import ServerProcess

REPO = Path(__file__).resolve().parents[2]
MARKS = ("58000", "58100", "58200", "58300", "58400", "58500", "58600")


def _move_marks(admin: httpx.Client) -> list[int]:
    """Seven audited mark changes; returns the newest id before them."""
    newest = admin.get("/admin/v1/audit", params={"limit": 1}).json()["audit"][0]["id"]
    for price in MARKS:
        assert admin.put("/admin/v1/marks/PF_XBTUSD", json={"price": price}).status_code == 200
    return newest


def test_the_log_pages_newest_first_through_every_entry_with_a_next_cursor(server: ServerProcess) -> None:
    with server.admin() as admin:
        start = _move_marks(admin)
        seen: list[int] = []
        cursor: dict[str, int] = {}
        while True:
            page = admin.get("/admin/v1/audit", params={"limit": 3, "after_id": start, **cursor}).json()
            assert len(page["audit"]) <= 3
            seen += [entry["id"] for entry in page["audit"]]
            if page["next"] is None:
                break
            cursor = page["next"]
            assert set(cursor) == {"before_id"}
    assert len(seen) == len(MARKS)
    assert seen == sorted(seen, reverse=True)
    assert min(seen) > start


def test_the_log_reads_oldest_first_when_asked_and_filters_by_symbol_action_and_time(server: ServerProcess) -> None:
    with server.admin() as admin:
        start = _move_marks(admin)
        oldest = admin.get("/admin/v1/audit", params={"after_id": start, "order": "oldest", "limit": 2}).json()
        assert [e["after"]["price"] for e in oldest["audit"]] == list(MARKS[:2])
        assert oldest["next"] == {"after_id": oldest["audit"][-1]["id"]}
        marks = admin.get("/admin/v1/audit", params={"after_id": start, "symbol": "PF_XBTUSD", "action": "set_mark"})
        assert [e["after"]["price"] for e in marks.json()["audit"]] == list(reversed(MARKS))
        assert admin.get("/admin/v1/audit", params={"symbol": "PF_NOPE"}).json()["audit"] == []
        at = marks.json()["audit"][-1]["at"]  # the first of the seven
        since = admin.get("/admin/v1/audit", params={"after_id": start, "since": at}).json()["audit"]
        assert len(since) == len(MARKS)
        until = admin.get("/admin/v1/audit", params={"after_id": start, "until": at}).json()["audit"]
        assert all(e["at"] < at for e in until)
        assert admin.get("/admin/v1/audit", params={"since": "4102444800000"}).json()["audit"] == []  # 2100, in ms


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("after_id=-1", "after_id"),
        ("before_id=1e3", "before_id"),
        ("order=sideways", "order"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("symbol=PF%00X", "symbol"),
        ("action=DROP%20TABLE", "action"),
        ("limt=5", "limt"),
        ("limit=5&limit=6", "limit"),
    ],
)
def test_a_bad_audit_query_is_a_400_naming_the_parameter(server: ServerProcess, query: str, parameter: str) -> None:
    with server.admin() as admin:
        for path in ("/admin/v1/audit", "/admin/v1/accounts/alice/audit"):
            response = admin.get(httpx.URL(f"{path}?{query}"))
            assert response.status_code == 400, response.text
            assert response.json()["error"] == "invalid"
            assert response.json()["detail"].startswith(f"{parameter}: "), response.text


def _secrets(exported: dict[str, object]) -> set[str]:
    accounts = exported["accounts"]
    assert isinstance(accounts, list)
    return {key["secret"] for account in accounts for key in account["keys"] if "secret" in key}


def test_the_scenario_export_leaves_secrets_out_unless_asked(server: ServerProcess) -> None:
    with server.admin() as admin:
        plain = admin.get("/admin/v1/scenario")
        backup = admin.get("/admin/v1/scenario", params={"secrets": "true"}).json()
    assert _secrets(plain.json()) == set()
    assert world.ALICE_FULL[1] not in plain.text
    assert {world.ALICE_FULL[1], world.BOB_FULL[1]} <= _secrets(backup)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "levpref.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_cli_shows_the_newest_audit_entries_first_and_exports_secrets_only_when_asked(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    assert _cli("scenario", "load", str(REPO / "examples" / "scenario.toml"), *db).returncode == 0
    for price in ("58000", "58500", "59000"):
        assert _cli("marks", "PF_XBTUSD", price, *db).returncode == 0
    shown = json.loads(_cli("audit", "--limit", "2", *db).stdout)
    assert [e["after"]["price"] for e in shown["audit"]] == ["59000", "58500"]
    assert shown["next"] == {"before_id": shown["audit"][-1]["id"]}
    assert _cli("audit", "--limit", "0", *db).stderr.strip() == "levpref: limit: expected an integer from 1 to 1000"
    plain = json.loads(_cli("scenario", "export", *db).stdout)
    backup = json.loads(_cli("scenario", "export", "--with-secrets", *db).stdout)
    assert _secrets(plain) == set()
    assert "c3VwZXItc2VjcmV0LWtleS1mb3ItcHJvYmluZy0wMTIzNDU2Nzg5" in _secrets(backup)
