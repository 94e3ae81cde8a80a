"""The package as a user gets it: build the wheel, install it (not editable) into a fresh venv, run it.

    python tests/smoke/wheel_smoke.py [--python PYTHON]

Checks, with nothing from the source tree on the path (the installed copy runs from a temporary directory):
- the wheel holds the demo data, the typing marker, the console assets that exist, the LICENSE and the
  ``pytest11`` entry point, and its version is the project's;
- ``levpref demo`` starts from the installed scripts on a free port and prints a key and secret;
- ``GET /derivatives/api/v3/instruments`` lists the demo contracts; a signed ``PUT /leveragepreferences`` (the
  ``Authent`` of SPEC §2.1, computed here with the standard library) succeeds and a signed ``GET`` shows it;
- the testing toolkit (``levpref.testing.LevprefServer``) starts and stops a server of the installed package;
- the server stops on SIGTERM.
Only the standard library is used here, so the script runs under any Python 3.11+.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEVERAGE = "/derivatives/api/v3/leveragepreferences"


def run(*args: str | Path, cwd: Path | None = None) -> str:
    print("+", " ".join(str(a).splitlines()[0] for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def authent(secret: str, post_data: str, path: str, nonce: str = "") -> str:
    digest = hashlib.sha256((post_data + nonce + path.removeprefix("/derivatives")).encode()).digest()
    return base64.b64encode(hmac.new(base64.b64decode(secret), digest, hashlib.sha512).digest()).decode()


def call(base: str, method: str, path: str, query: str = "", key: tuple[str, str] | None = None) -> dict[str, object]:
    url = f"{base}{path}" + (f"?{query}" if query else "")
    request = urllib.request.Request(url, method=method, data=b"" if method == "PUT" else None)  # noqa: S310
    if key is not None:
        request.add_header("APIKey", key[0])
        request.add_header("Authent", authent(key[1], query, path))
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own server on 127.0.0.1)
        assert response.status == 200, response.status
        answer: dict[str, object] = json.loads(response.read())
    assert answer.get("result") == "success", answer
    return answer


def check_wheel(wheel: Path, version: str) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("levpref/data/demo.toml", "levpref/data/demo-instruments.json", "levpref/py.typed"):
        assert needed in names, f"{needed} is missing from {wheel.name}"
    assert "levpref/testing/plugin.py" in names
    for asset in (ROOT / "src" / "levpref" / "console").glob("*"):
        if asset.suffix in (".html", ".js", ".css"):
            assert f"levpref/console/{asset.name}" in names, f"console/{asset.name} is missing from {wheel.name}"
    info = f"levpref-{version}.dist-info"
    assert any(n.startswith(f"{info}/licenses/LICENSE") for n in names), "LICENSE is missing"
    entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    assert "[pytest11]" in entry_points, entry_points
    assert "levpref = levpref.testing.plugin" in entry_points, entry_points
    print(f"wheel {wheel.name}: {len(names)} files, demo data, plugin entry point and LICENSE present", flush=True)


def wait_for_banner(log: Path, process: subprocess.Popen[bytes]) -> tuple[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        key, secret = re.search(r"API key:\s+(\S+)", text), re.search(r"API secret:\s+(\S+)", text)
        if key and secret:
            return key[1], secret[1]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"levpref demo printed no key:\n{log.read_text(errors='replace')[-3000:]}")


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/ready", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server never answered GET /ready")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError("levpref did not stop on SIGTERM") from None


def demo_round_trip(venv: Path, work: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [venv / "bin" / "levpref", "demo", "--port", str(port), "--database-url", f"sqlite:///{work / 'demo.db'}"],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("LEVPREF_")},
        )
    try:
        key = wait_for_banner(log, process)
        wait_ready(base)
        symbols = {i["symbol"] for i in call(base, "GET", "/derivatives/api/v3/instruments")["instruments"]}  # type: ignore[attr-defined]
        assert {"PF_XBTUSD", "PF_ETHUSD", "PI_XBTUSD"} <= symbols, symbols
        call(base, "PUT", LEVERAGE, "symbol=PF_ETHUSD&maxLeverage=10", key)
        listed = call(base, "GET", LEVERAGE, "", key)["leveragePreferences"]
        assert listed == [{"symbol": "PF_ETHUSD", "maxLeverage": 10.0}], listed
        print(f"levpref demo from the wheel: {len(symbols)} instruments, signed PUT and GET answered", flush=True)
    finally:
        stop(process)
    print("levpref demo stopped on SIGTERM", flush=True)


TOOLKIT = """
from levpref.testing import LevprefServer
with LevprefServer() as server:
    pid = server.process.pid
    server.admin.mark("PF_XBTUSD", "58500")
    assert server.admin.account("demo")["account"] == "demo"
try:
    os.kill(pid, 0)
except ProcessLookupError:
    print("levpref.testing from the wheel: started, admin answered, stopped")
else:
    raise SystemExit("the toolkit's server is still running")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the fresh venv")
    options = parser.parse_args()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="levpref-wheel-") as tmp:
        work = Path(tmp)
        run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", ROOT)
        (wheel,) = (work / "dist").glob("levpref-*.whl")
        check_wheel(wheel, version)
        run(options.python, "-m", "venv", work / "venv")
        venv = work / "venv"
        run(venv / "bin" / "python", "-m", "pip", "install", "-q", "-c", ROOT / "requirements.lock", wheel)
        shown = run(
            venv / "bin" / "python", "-c", "import importlib.metadata as m; print(m.version('levpref'))", cwd=work
        )
        assert shown.strip() == version, (shown, version)
        located = run(venv / "bin" / "python", "-c", "import levpref; print(levpref.__file__)", cwd=work)
        assert located.startswith(str(venv)), f"levpref imported from {located}, not from the venv"
        demo_round_trip(venv, work)
        print(run(venv / "bin" / "python", "-c", "import os\n" + TOOLKIT, cwd=work).strip(), flush=True)
    print(f"wheel smoke test of levpref {version}: passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
