"""A real Home Assistant with its frontend, and Chromium (Debian's) driven by Playwright.

`FrontendHomeAssistant` is `HomeAssistantProcess` with the built frontend
(`home-assistant-frontend`, the version Home Assistant 2025.4.4 pins) served at its
URL, and with onboarding finished: the steps after the owner's account are marked done
in `.storage/onboarding` before the start, and the owner is created over REST as in
the other end-to-end tests, so the browser lands on the login page, not the wizard.

`Page` wraps a Playwright page: log in, take numbered screenshots, read every text the
user sees (through the frontend's shadow roots, which `inner_text` does not enter), and
collect console errors. Nothing here sleeps: each wait is on a condition, with
deadlines generous enough for a busy machine.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.e2e.homeassistant import PASSWORD, USERNAME, HomeAssistantProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Waits for the UI: the first page load compiles a few MB of JavaScript.
TIMEOUT_MS = 60_000

# Every onboarding step but the owner's account, which `start()` creates over REST.
ONBOARDING = {
    "version": 4,
    "minor_version": 1,
    "key": "onboarding",
    "data": {"done": ["core_config", "analytics", "integration"]},
}

# Text on screen that means a string of ours is broken.
BROKEN_TEXT = re.compile(r"Translation error|component\.plate_recognizer\.|MALFORMED_ARGUMENT")

# All text of the page, shadow roots included (the frontend is made of web components).
DEEP_TEXT_JS = """
() => {
  const parts = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE && node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE
        && node.nodeType !== Node.DOCUMENT_NODE) return;
    if (node.tagName === 'STYLE' || node.tagName === 'SCRIPT') return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document);
  return parts.join(' ').replace(/\\s+/g, ' ');
}
"""


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import hass_frontend  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as err:
        return f"{err.name} is not installed (requirements/dev.lock)"
    return None


class FrontendHomeAssistant(HomeAssistantProcess):
    """`hass` serving its real frontend, onboarded up to the login page."""

    name = "plate-bridge browser"

    def ui_configuration(self) -> str:
        return "frontend:\nlogbook:\n"  # the real UI, and the logbook its pages show

    def write_config(self) -> None:
        super().write_config()
        storage = self.config_dir / ".storage"
        storage.mkdir(exist_ok=True)
        (storage / "onboarding").write_text(json.dumps(ONBOARDING))

    def template(self, text: str) -> str:
        """A template rendered by Home Assistant (device ids, for instance)."""
        answer = self.client.request("POST", "/api/template", json={"template": text})
        answer.raise_for_status()
        return answer.text.strip()


class Page:
    """One browser tab on Home Assistant: what the test does, sees and records."""

    def __init__(self, page: Any, base_url: str, shots: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.shots = shots
        self.console_errors: list[str] = []
        self._count = 0
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", self._on_console)
        page.on("pageerror", lambda err: self.console_errors.append(f"page error: {err}"))
        # Nothing leaves the machine: the brand icons and the like fail at once.
        page.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        # Requests we aborted on purpose (off-machine URLs) are not the page's fault.
        if "Failed to load resource" in message.text and not where.startswith(self.base_url):
            return
        self.console_errors.append(f"{message.text} ({where})")

    def goto(self, path: str) -> None:
        """Open `path`; again if the frontend's own history step aborted the navigation.

        Closing a dialog makes the frontend go back in the history, and a navigation
        started meanwhile is aborted (net::ERR_ABORTED): it is simply started again.
        """
        from playwright.sync_api import Error

        for attempt in (1, 2, 3):
            try:
                self.page.goto(self.base_url + path, wait_until="domcontentloaded")
                return
            except Error as err:
                if "ERR_ABORTED" not in str(err) or attempt == 3:
                    raise
                self.page.wait_for_load_state("domcontentloaded")

    def close_dialog(self) -> None:
        """Close the open dialog with its X, and wait until it is gone."""
        self.page.locator("ha-dialog[open]").get_by_role("button", name="Close").click()
        self.page.locator("ha-dialog[open]").wait_for(state="detached")

    def log_in(self) -> None:
        self.goto("/")
        self.page.get_by_label("Username").fill(USERNAME)
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(re.compile(r"/(lovelace|home)"), timeout=TIMEOUT_MS)

    def text(self) -> str:
        """Every text on the page, shadow roots included."""
        result: str = self.page.evaluate(DEEP_TEXT_JS)
        return result

    def wait_for_text(self, needle: str | re.Pattern[str], timeout_ms: int = TIMEOUT_MS) -> str:
        """The page's text once it contains `needle` (fails after `timeout_ms`)."""
        pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
        self.page.wait_for_function(
            f"() => ({DEEP_TEXT_JS})().search(new RegExp({json.dumps(pattern.pattern)})) >= 0",
            timeout=timeout_ms,
        )
        return self.text()

    def open_until_text(self, path: str, needle: str, attempts: int = 3) -> str:
        """Open `path` until the page shows `needle`.

        Closing a dialog makes the frontend go back in its history a moment later; on a
        busy machine that step can land after the next page has loaded, and takes the
        browser back to where the dialog was. Opening the page again is what a person
        would do. Each attempt waits up to TIMEOUT_MS / 2 for the text.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        for attempt in range(attempts):
            self.goto(path)
            try:
                return self.wait_for_text(needle, timeout_ms=TIMEOUT_MS // 2)
            except PlaywrightTimeoutError:
                # In the test's report: where the browser was instead.
                print(f"{path}: no {needle!r} after attempt {attempt + 1}, at {self.page.url}")
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def click_until_text(self, target: Any, needle: str, attempts: int = 6) -> str:
        """Click `target` until the page shows `needle`.

        A click can land while the frontend re-renders the element (an entry reloading
        after a change re-creates its row), and is then lost; clicking again is what a
        person would do. Each attempt waits up to TIMEOUT_MS / 2 for the text.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        for attempt in range(attempts):
            target.click()
            try:
                return self.wait_for_text(needle, timeout_ms=TIMEOUT_MS // 2)
            except PlaywrightTimeoutError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def screenshot(self, name: str) -> Path:
        """Save `NN-name.png` (numbered in the order taken) and check the page's strings."""
        self._count += 1
        path = self.shots / f"{self._count:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        self.assert_no_broken_text(name)
        return path

    def assert_no_broken_text(self, where: str) -> None:
        found = BROKEN_TEXT.search(self.text())
        assert found is None, f"{where}: broken string on screen: {found.group(0)!r}"

    def our_console_errors(self) -> list[str]:
        """Console errors that concern our integration or its strings."""
        ours = re.compile(r"plate_recognizer|Translation|MALFORMED|IntlMessageFormat")
        return [error for error in self.console_errors if ours.search(error)]


@contextmanager
def chromium(shots: Path, base_url: str) -> Iterator[Page]:
    """Debian's Chromium, headless, one page on `base_url`; closed at the end."""
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC"
            )
            yield Page(context.new_page(), base_url, shots)
        finally:
            browser.close()


def publish_screenshots(shots: Path, names: dict[str, str], target: Path | None) -> None:
    """Copy the chosen screenshots (`NN-name.png` by name) to `target`, when one is given.

    Set PLATE_BRIDGE_SCREENSHOTS=docs/screenshots to refresh the ones the docs show.
    """
    if target is None:
        return
    target = target if target.is_absolute() else REPO / target
    target.mkdir(parents=True, exist_ok=True)
    for source in shots.glob("*.png"):
        name = source.stem.split("-", 1)[1]
        if name in names:
            shutil.copyfile(source, target / names[name])
