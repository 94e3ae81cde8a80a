"""A headless Chromium for the console tests: selenium 4 driving the system ``chromium`` and ``chromedriver``.

Nothing is downloaded: the browser and its driver are Debian's (``./dev test`` installs ``chromium
chromium-driver``), and selenium is pointed at both explicitly so that Selenium Manager never runs. Each browser
gets a fresh profile in a temporary directory, removed afterwards, and resolves no host name but the loopback
address: a page that needed the network would fail its test.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH, HEIGHT = 1440, 900
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no network: only the server under test
    "--force-device-scale-factor=1",
    f"--window-size={WIDTH},{HEIGHT}",
)


def missing() -> str | None:
    """Why no browser can be started here, or ``None`` when one may."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (./dev setup installs the test extras)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing (./dev test installs it: apt-get install chromium chromium-driver)"
    return None


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless Chromium with browser-console logging on; quit and its profile removed on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="levpref-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: WebDriver) -> list[str]:
    """The page's console messages of level SEVERE since the last call (uncaught errors, failed loads, CSP)."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(entry["message"]) for entry in entries if entry.get("level") == "SEVERE"]


def resources(driver: WebDriver) -> list[str]:
    """Every URL the current page loaded or fetched (the Resource Timing entries), the page itself first."""
    script = "return [location.href, ...performance.getEntriesByType('resource').map((e) => e.name)]"
    return [str(url) for url in driver.execute_script(script)]


def color_scheme(driver: WebDriver, scheme: str) -> None:
    """Emulate ``prefers-color-scheme: scheme`` (``light``, ``dark``) for the current tab."""
    features = [{"name": "prefers-color-scheme", "value": scheme}]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})


def screenshot(driver: WebDriver, path: Path) -> Path:
    """A PNG of the whole page (beyond the window when it is taller), at one device pixel per CSS pixel."""
    size = driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    clip = {"x": 0, "y": 0, "width": max(int(size[0]), WIDTH), "height": max(int(size[1]), 1), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 5.0) -> Any:
    """Poll ``condition`` until it returns something truthy (then return it), failing after ``timeout`` seconds.

    An element missing or replaced mid-check (the page re-renders its tables) counts as "not yet".
    """
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.wait import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=ignored).until(condition)
