"""The ``levpref`` command as an operator meets it (issue 11): real processes, a private data directory per test.

Every process here gets ``XDG_DATA_HOME`` set to the test's directory, so the default database is the test's own,
never the developer's; ``LEVPREF_*`` variables of the calling environment are not passed on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from levpref.config import Config
from levpref.testing.server import stop_process_group
from tests.support import world
from tests.support.postgres import free_port
from tests.support.server import SERVER_LOGS
from tests.support.signing import call

ACCOUNTS = "/derivatives/api/v3/accounts"
LEVERAGE = "/derivatives/api/v3/leveragepreferences"
TOKEN = "cli-test-admin-token-0123456789"


def clean_env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEVPREF_")}
    return {**env, "XDG_DATA_HOME": str(data), **extra}


def levpref(*args: str, data: Path, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "levpref.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or data,
        env=clean_env(data),
        check=False,
    )


class Running:
    """``levpref serve`` or ``levpref demo`` in its own process group, its output (stdout and stderr) in a file."""

    def __init__(self, *args: str, data: Path, cwd: Path | None = None) -> None:
        self.log = data / f"server-{time.monotonic_ns()}.log"
        SERVER_LOGS.append(self.log)  # scanned for the test world's secrets at the end of the session
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "levpref.cli", *args],
                cwd=cwd or data,
                env=clean_env(data),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := re.search(pattern, self.output()):
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in:\n{self.output()[-3000:]}")

    @property
    def base(self) -> str:
        return self.wait_for(r"listening on (http://[^\s\"]+)")[1]

    def stop(self) -> None:
        stop_process_group(self.proc)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def demo(data: Path) -> Iterator[Running]:
    running = Running("demo", "--port", "0", data=data, cwd=data)
    running.wait_for(r"listening on")
    yield running
    running.stop()


def banner_keys(output: str) -> dict[str, tuple[str, str]]:
    """The full-access key the demo banner printed for each account."""
    return {m[1]: (m[2], m[3]) for m in re.finditer(r"^ {4}(\S+)\s+key: (\S+)\s+secret: (\S+)$", output, re.M)}


def admin_token(output: str) -> str:
    return re.findall(r"admin token: (\S+) \(a new one", output)[-1]


# --- 1. the version ---------------------------------------------------------------------------------------------


def test_version_prints_the_package_version(data: Path) -> None:
    shown = levpref("--version", data=data)
    assert shown.returncode == 0
    assert shown.stdout == "levpref 0.2.0\n"


# --- 2. one database for the demo and the tools -----------------------------------------------------------------


def test_the_tools_act_on_the_database_the_demo_serves_from_any_directory(demo: Running, data: Path) -> None:
    elsewhere = data / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    listed = levpref("accounts", "list", data=data, cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["accounts"] == [
        {"id": "demo", "active": True},
        {"id": "near-liquidation", "active": True},
        {"id": "thin", "active": True},
    ]
    database = data / "levpref" / "levpref.db"
    assert f"database:   {database}" in demo.output()
    assert not (elsewhere / ".levpref").exists()
    assert levpref("marks", "PF_XBTUSD", "58000", data=data, cwd=elsewhere).returncode == 0
    with httpx.Client(base_url=demo.base) as http:  # the demo serves what the tool changed
        positions = call(http, "GET", "/derivatives/api/v3/openpositions", banner_keys(demo.output())["thin"])
    assert positions.json()["openPositions"][0]["symbol"] == "PF_XBTUSD"
    audit = json.loads(levpref("audit", "--limit", "1", data=data, cwd=elsewhere).stdout)["audit"]
    assert (audit[0]["action"], audit[0]["actor"]) == ("set_mark", "cli")


def test_a_tool_on_a_missing_database_says_where_it_looked_and_creates_nothing(data: Path) -> None:
    shown = levpref("accounts", "show", "demo", data=data)
    database = data / "levpref" / "levpref.db"
    assert shown.returncode == 2
    assert shown.stderr.startswith(f"levpref: no database at {database} (`levpref serve` or `levpref demo` creates it")
    assert not database.exists()
    assert not (data / "levpref" / "master.key").exists()


def test_a_relative_sqlite_path_is_resolved_from_the_working_directory(data: Path) -> None:
    work = data / "work"
    work.mkdir()
    loaded = levpref(
        "scenario", "load", str(_scenario_file(data)), "--database-url", "sqlite:///rel/w.db", data=data, cwd=work
    )
    assert loaded.returncode == 0, loaded.stderr
    assert (work / "rel" / "w.db").exists()
    assert (
        levpref(
            "accounts", "show", "alice", "--database-url", f"sqlite:///{work / 'rel' / 'w.db'}", data=data
        ).returncode
        == 0
    )


def _scenario_file(data: Path, accounts: int | None = None) -> Path:
    scenario = world.scenario()
    if accounts is not None:
        template = scenario["accounts"][0]
        scenario["accounts"] = [
            {**template, "id": f"acct-{i}", "keys": [{"access": "full"}], "preferences": []} for i in range(accounts)
        ]
    path = data / f"world-{accounts}.json"
    path.write_text(json.dumps(scenario))
    return path


# --- 3. the admin token -----------------------------------------------------------------------------------------


def test_the_demo_prints_a_new_admin_token_at_every_start_and_only_the_newest_works(data: Path) -> None:
    tokens = []
    for _ in range(2):
        running = Running("demo", "--port", "0", data=data)
        try:
            running.wait_for("listening on")
            tokens.append(admin_token(running.output()))
            with httpx.Client(base_url=running.base) as http:
                assert (
                    http.get("/admin/v1/accounts", headers={"Authorization": f"Bearer {tokens[-1]}"}).status_code == 200
                )
                if len(tokens) == 2:
                    old = http.get("/admin/v1/accounts", headers={"Authorization": f"Bearer {tokens[0]}"})
                    assert old.status_code == 401
        finally:
            running.stop()
    assert len(tokens[0]) >= 24
    assert tokens[0] != tokens[1]


def test_serve_says_where_the_token_is_and_rotate_prints_a_new_one(data: Path) -> None:
    first = Running("serve", "--port", "0", data=data)
    try:
        made = first.wait_for(r"admin token \(printed once, store it\): (\S+)")[1]
        first.wait_for("listening on")
    finally:
        first.stop()
    again = Running("serve", "--port", "0", data=data)
    try:
        again.wait_for("listening on")
        assert made not in again.output()
        assert (
            "admin token: set earlier and stored as a hash (not shown); `levpref admin-token --rotate`"
            in again.output()
        )
    finally:
        again.stop()
    assert "an admin token is set" in levpref("admin-token", data=data).stdout
    rotated = levpref("admin-token", "--rotate", data=data)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert len(new) >= 24
    assert "restart them" in rotated.stderr
    audit = json.loads(levpref("audit", "--limit", "1", data=data).stdout)["audit"][0]
    assert (audit["action"], audit["actor"]) == ("rotate_admin_token", "cli")
    assert new not in json.dumps(audit)
    third = Running("serve", "--port", "0", data=data)
    try:
        with httpx.Client(base_url=third.base) as http:
            assert http.get("/admin/v1/accounts", headers={"Authorization": f"Bearer {new}"}).status_code == 200
            assert http.get("/admin/v1/accounts", headers={"Authorization": f"Bearer {made}"}).status_code == 401
    finally:
        third.stop()


def test_an_admin_token_shorter_than_24_characters_is_refused_before_anything_is_touched(data: Path) -> None:
    refused = levpref("serve", "--port", "0", "--admin-token", "x" * 23, data=data)
    assert refused.returncode == 2
    assert refused.stderr == (
        "levpref: the admin token (--admin-token, LEVPREF_ADMIN_TOKEN) must be at least 24 characters, this one "
        "has 23; leave it out to have one generated\n"
    )
    assert not (data / "levpref").exists()


# --- 4. a second demo -------------------------------------------------------------------------------------------


def test_a_second_demo_fails_before_touching_the_running_one(demo: Running, data: Path) -> None:
    port = demo.base.rsplit(":", 1)[1]
    keys = banner_keys(demo.output())
    same_port = levpref("demo", "--port", port, data=data)
    assert same_port.returncode == 2
    assert same_port.stderr == (
        f"levpref: cannot listen on 127.0.0.1:{port}: address already in use; is another levpref demo or server "
        "running? choose another --port\n"
    )
    assert "API key" not in same_port.stdout
    other_port = levpref("demo", "--port", "0", data=data)
    assert other_port.returncode == 2
    assert other_port.stderr.startswith("levpref: another levpref process (a demo or a server) is using ")
    assert "API key" not in other_port.stdout
    with httpx.Client(base_url=demo.base) as http:  # the running demo's world and keys are intact
        flex = call(http, "GET", ACCOUNTS, keys["thin"]).json()["accounts"]["flex"]
    assert flex["availableMargin"] == 880


# --- 5. logs ----------------------------------------------------------------------------------------------------


def test_serve_logs_one_listening_line_at_the_default_level(data: Path) -> None:
    dashed = "-" + TOKEN  # a generated token may begin with "-": it is still a value, not an option
    running = Running("serve", "--port", "0", "--admin-token", dashed, data=data)
    try:
        base = running.base
        admin = httpx.get(f"{base}/admin/v1/accounts", headers={"Authorization": f"Bearer {dashed}"})
        assert admin.status_code == 200
    finally:
        running.stop()
    logged = [line for line in running.output().splitlines() if line.startswith("{")]
    assert [json.loads(line)["msg"] for line in logged] == [f"listening on {base}"]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_every_log_line_has_the_chosen_format_uvicorns_too(data: Path, fmt: str) -> None:
    running = Running(
        "serve", "--port", "0", "--admin-token", TOKEN, "--log-level", "info", "--log-format", fmt, data=data
    )
    try:
        httpx.get(f"{running.base}/health")
        running.wait_for(r"Application startup complete")
    finally:
        running.stop()
    lines = [line for line in running.output().splitlines() if not line.startswith("admin token")]
    text = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warning|error|debug)\s+\S+ .+")
    for line in lines:
        if fmt == "json":
            assert set(json.loads(line)) >= {"ts", "level", "logger", "msg"}, line
        else:
            assert text.fullmatch(line), line
    loggers = {json.loads(line)["logger"] if fmt == "json" else line.split()[2] for line in lines}
    assert {"levpref.serve", "levpref.http", "uvicorn.error"} <= loggers


# --- 6. an operator's mistakes ----------------------------------------------------------------------------------


def test_an_unreachable_postgresql_answers_a_clear_message_within_five_seconds(data: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        url = f"postgresql://levpref:hunter2-secret@127.0.0.1:{port}/levpref"
        started = time.monotonic()
        answered = levpref("accounts", "list", "--database-url", url, data=data)
        elapsed = time.monotonic() - started
    assert answered.returncode == 2
    assert answered.stderr.startswith(f"levpref: cannot connect to PostgreSQL at levpref@127.0.0.1:{port}/levpref: ")
    assert answered.stderr.count("\n") == 1
    assert "hunter2" not in answered.stderr
    assert elapsed < 5 + 3  # five seconds, and the interpreter's start
    refused = levpref(
        "serve", "--port", "0", "--database-url", f"postgresql://levpref@127.0.0.1:{free_port()}/x", data=data
    )
    assert refused.returncode == 2
    assert "Connection refused" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("serve", "--port", "99999"),
            "levpref: port must be between 1 and 65535 (or 0 for any free port), not 99999\n",
        ),
        (("serve", "--scenario", "."), "levpref: scenario . is a directory, not a scenario file (TOML or JSON)\n"),
        (("scenario", "load", "."), "levpref: scenario . is a directory, not a scenario file (TOML or JSON)\n"),
        (("serve", "--scenario", "nope.toml"), "levpref: scenario nope.toml: no such file\n"),
        (("scenario", "load", "nope.toml"), "levpref: scenario nope.toml: no such file\n"),
    ],
)
def test_a_bad_setting_is_one_line_and_no_traceback(data: Path, args: tuple[str, ...], message: str) -> None:
    answered = levpref(*args, data=data)
    assert answered.returncode == 2
    assert answered.stderr == message
    assert not (data / "levpref").exists()


def test_accounts_activate_of_a_typo_and_add_of_an_existing_account_are_errors(data: Path) -> None:
    assert levpref("scenario", "load", str(_scenario_file(data)), data=data).returncode == 0
    typo = levpref("accounts", "activate", "alcie", data=data)
    assert typo.returncode == 2
    assert typo.stderr.startswith("levpref: no account alcie (`levpref accounts list` lists them")
    existing = levpref("accounts", "add", "alice", data=data)
    assert existing.returncode == 2
    assert existing.stderr.startswith("levpref: account alice already exists")
    listed = json.loads(levpref("accounts", "list", data=data).stdout)["accounts"]
    assert [a["id"] for a in listed] == ["alice", "bob", "dormant"]
    assert (
        levpref("accounts", "add", "carol", "--inactive", data=data).stdout == "account carol created, active=False\n"
    )


# --- 7. lists, show, help ---------------------------------------------------------------------------------------


def test_accounts_and_keys_list_and_show_give_the_active_flag_positions_preferences_and_public_keys(data: Path) -> None:
    assert levpref("scenario", "load", str(_scenario_file(data)), data=data).returncode == 0
    assert levpref("accounts", "deactivate", "bob", data=data).returncode == 0
    listed = json.loads(levpref("accounts", "list", data=data).stdout)
    assert listed == {
        "accounts": [
            {"id": "alice", "active": True},
            {"id": "bob", "active": False},
            {"id": "dormant", "active": False},
        ]
    }
    keys = json.loads(levpref("keys", "list", "alice", data=data).stdout)
    assert keys["account"] == "alice"
    assert {(k["public"], k["access"], k["revoked"]) for k in keys["keys"]} >= {
        (world.ALICE_FULL[0], "full", False),
        (world.ALICE_READ[0], "read", False),
    }
    assert len(keys["keys"]) == 3
    shown = levpref("accounts", "show", "alice", data=data)
    account = json.loads(shown.stdout)
    assert account["active"] is True
    assert [p["symbol"] for p in account["positions"]] == ["PF_XBTUSD"]
    assert "preferences" in account
    assert {k["public"] for k in account["keys"]} == {k["public"] for k in keys["keys"]}
    for _, secret in world.ALL_KEYS:
        assert secret not in shown.stdout + keys["account"]
    missing = levpref("keys", "list", "zed", data=data)
    assert (missing.returncode, missing.stderr) == (2, "levpref: no account zed\n")


HELP_OF_EVERY_COMMAND = """
import contextlib, io, sys
from levpref.cli import main
for command in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*command.split(), "--help"])
    print("=== " + command)
    print(out.getvalue())
"""
COMMANDS = [
    "",
    "serve",
    "demo",
    "migrate",
    "admin-token",
    "scenario load",
    "scenario export",
    "accounts list",
    "accounts add",
    "accounts activate",
    "accounts deactivate",
    "accounts show",
    "keys list",
    "keys create",
    "keys revoke",
    "collateral",
    "prices",
    "positions set",
    "positions delete",
    "marks",
    "instruments",
    "rotate-master-key",
    "audit",
]


def _helps(data: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", HELP_OF_EVERY_COMMAND, *COMMANDS],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(data, COLUMNS="120"),
        check=True,
    )
    parts = re.split(r"^=== (.*)$", done.stdout, flags=re.M)[1:]
    return dict(zip(parts[::2], parts[1::2], strict=True))


def test_help_has_a_line_for_every_flag_and_argument_and_no_markup(data: Path) -> None:
    helps = _helps(data)
    assert set(helps) == set(COMMANDS)
    for command, text in helps.items():
        for markup in ("``", ":class:", "%(", "**"):
            assert markup not in text, command
        lines = text.splitlines()
        for i, line in enumerate(lines):
            entry = re.match(r"^ {2}(?: {2})?(\S.*?)(?:\s{2,}(\S.*))?$", line)
            if not entry or line.startswith("  " * 12):
                continue
            described = entry[2] or (i + 1 < len(lines) and re.match(r"^ {10,}\S", lines[i + 1]))
            assert described, f"levpref {command} --help: {line.strip()!r} has no help line"


def test_every_setting_has_a_flag_in_serve_help(data: Path) -> None:
    helps = _helps(data)
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        assert re.search(rf"^  {flag}\b", helps["serve"], re.M), f"serve has no {flag}"
        assert f"[LEVPREF_{field.name.upper()}]" in helps["serve"]
        if field.name != "scenario":
            assert re.search(rf"^  {flag}\b", helps["demo"], re.M), f"demo has no {flag}"


def test_a_flag_overrides_its_variable_and_the_variable_its_default(data: Path) -> None:
    env_port = free_port()
    with_env = clean_env(data, LEVPREF_PORT=str(env_port), LEVPREF_ADMIN_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "levpref.cli", "serve", "--no-require-nonce"],
        cwd=data,
        env=with_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        seen = ""
        while "listening on" not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        assert f"listening on http://127.0.0.1:{env_port}" in seen
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
        proc.stdout.close()  # type: ignore[union-attr]


# --- 8. loading a large scenario --------------------------------------------------------------------------------


def test_loading_a_large_scenario_on_a_terminal_shows_progress_and_counts(data: Path) -> None:
    scenario = _scenario_file(data, accounts=3000)
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "levpref.cli", "scenario", "load", str(scenario)],
        cwd=data,
        env=clean_env(data, TERM="xterm", COLUMNS="100"),
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    shown = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        try:
            chunk = os.read(controller, 65536) if ready else b""
        except OSError:  # the terminal closed with the process
            chunk = b""
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(controller)
    assert proc.returncode == 0
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", shown).decode(errors="replace")
    assert "loading accounts" in text
    assert "3000/3000" in text
    loaded = json.loads(out)
    assert loaded["counts"] == {"instruments": 5, "accounts": 3000, "keys": 3000, "positions": 3000}
    assert len(loaded["keys"]) == 3000


def test_serve_prints_what_its_scenario_loaded(data: Path) -> None:
    scenario = _scenario_file(data)
    running = Running("serve", "--port", "0", "--admin-token", TOKEN, "--scenario", str(scenario), data=data)
    try:
        running.wait_for("listening on")
    finally:
        running.stop()
    assert f"loaded {scenario.name}: 5 instruments, 3 accounts, 5 keys, 1 position\n" in running.output()


# --- 9. the demo banner -----------------------------------------------------------------------------------------


def test_the_demo_banner_prints_a_working_full_access_key_for_every_account(demo: Running) -> None:
    output = demo.output()
    keys = banner_keys(output)
    assert list(keys) == ["demo", "near-liquidation", "thin"]
    assert re.search(r"API key:    (\S+)", output)[1] == keys["demo"][0]  # type: ignore[index]
    assert "world:      5 instruments, 3 accounts, 4 keys, 3 positions" in output
    with httpx.Client(base_url=demo.base) as http:
        thin = call(http, "PUT", LEVERAGE, keys["thin"], "symbol=PF_XBTUSD&maxLeverage=2").json()
        near = call(http, "PUT", LEVERAGE, keys["near-liquidation"], "symbol=PF_XBTUSD&maxLeverage=10").json()
        ok = call(http, "PUT", LEVERAGE, keys["demo"], "symbol=PF_ETHUSD&maxLeverage=10").json()
    assert thin["errors"][0]["code"] == 92
    assert near["errors"][0]["code"] == 41
    assert ok["result"] == "success"
