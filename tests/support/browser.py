"""A headless Chromium for the console tests: selenium 4 driving the system ``chromium`` and ``chromedriver``.

Nothing is downloaded: the browser and its driver are Debian's (``apt-get install chromium chromium-driver``), and
selenium is pointed at both explicitly so that Selenium Manager never runs. Each browser gets a fresh profile in a
temporary directory, removed afterwards.
"""

from __future__ import annotations

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
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers
    "--window-size=1440,1000",
)


def missing() -> str | None:
    """Why no browser can be started here, or ``None`` when one can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
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
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: WebDriver) -> list[str]:
    """The page's console messages of level SEVERE since the last call (uncaught errors, failed loads)."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(entry["message"]) for entry in entries if entry.get("level") == "SEVERE"]


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 5.0) -> Any:
    """Poll ``condition`` until it returns something truthy (then return it), failing after ``timeout`` seconds.

    An element missing or replaced mid-check (the page re-renders its tables) counts as "not yet".
    """
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.wait import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=ignored).until(condition)
