"""The bridge's web page in a real browser: Debian's Chromium driven by Playwright.

A real `plate-bridge run` (a subprocess, the real broker, the web page on a free port)
reads pictures published on its snapshot topic with the fake API, whose answer the test
chooses for each picture. What a user does on the page is what the test does:

- a read published through the real pipeline appears on the live page without a reload;
- the history search finds it, look-alikes included, and its plate page sums it up;
- an entry added in the watch-list form turns the next read of that plate into a
  watched one (and the entry is on disk, for the next start);
- a "plate" made of HTML renders as text: no element, no script, no dialog.

Screenshots are saved in the test's folder; `PLATE_BRIDGE_SCREENSHOTS=docs/screenshots`
refreshes the ones the README and docs show.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.demo.photos import FOLDER
from tests.e2e.browser import CHROMIUM, TIMEOUT_MS, Page, chromium, publish_screenshots
from tests.e2e.helpers import FAKE_TOKEN, BridgeRunner, publish, wait_online
from tests.e2e.processes import ManagedProcess
from tests.fake_api import FakePlateRecognizer
from tests.fake_api.records import RecordedRequest
from tests.fake_api.shapes import default_results
from tests.fake_api.threaded import run_in_thread
from tests.mosquitto import free_port

pytestmark = pytest.mark.slow

BASE = "e2e_web"
CAMERA = "front_gate"
HOSTILE = '<img src=x onerror="window.__pwned=1">'
SCREENSHOTS = {
    "live": "web-live.png",
    "history": "web-history.png",
    "watchlist": "web-watchlist.png",
}


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (requirements/dev.lock)"
    return None


class ChosenPlates:
    """The fake API's answer: the plate the test chose for the next picture."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.plate = "zz000zz"

    def set(self, plate: str) -> None:
        with self._lock:
            self.plate = plate

    def __call__(self, request: RecordedRequest) -> list[Any]:
        with self._lock:
            plate = self.plate
        first = default_results(request)[0]
        first["plate"] = plate
        first["candidates"] = [{"plate": plate, "score": first["score"]}]
        return [first]


@pytest.fixture
def plates() -> ChosenPlates:
    return ChosenPlates()


@pytest.fixture
def fake(plates: ChosenPlates) -> Iterator[FakePlateRecognizer]:
    with run_in_thread(mode="cloud", responder=plates) as server:
        yield server


@pytest.fixture
def web_bridge(
    bridges: BridgeRunner, fake: FakePlateRecognizer, tmp_path: Path
) -> tuple[ManagedProcess, str, Path]:
    """A bridge with its web page; (process, page URL, state directory)."""
    port = free_port()
    config = bridges.config(
        BASE,
        fake.url,
        sources={"snapshot_topics": [{"topic": f"{BASE}/{{camera}}/snapshot"}]},
        storage={"save_snapshots": True},
        pipeline={"metrics_interval": 0, "shutdown_timeout": 5, "cooldown": 0},
        web={"host": "127.0.0.1", "port": port},
        watchlist=[{"name": "Alice", "plate": "AL1CE00"}],
    )
    process = bridges.start(config, token=FAKE_TOKEN)
    process.wait_for_output(r"web page: http://127\.0\.0\.1:\d+/", within=60)
    wait_online(bridges.broker, process, BASE)
    return process, f"http://127.0.0.1:{port}", Path(config["storage"]["path"])


# The API's demo photo (MIT, shipped with the demo): the fake's answer boxes its car.
PHOTO = (FOLDER / "demo.jpg").read_bytes()


def read(plates: ChosenPlates, broker: Any, plate: str) -> None:
    """Send one picture, which the fake API reads as `plate`."""
    plates.set(plate)
    publish(broker, f"{BASE}/{CAMERA}/snapshot", PHOTO)


def live_read(page: Page, plate: str) -> Any:
    """The live page's entry for `plate`, once it is there."""
    locator = page.page.locator(f'#live li.read[data-plate="{plate}"]').first
    locator.wait_for(timeout=TIMEOUT_MS)
    return locator


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_live_history_watchlist_and_hostile_plate(
    web_bridge: tuple[ManagedProcess, str, Path],
    plates: ChosenPlates,
    broker: Any,
    tmp_path: Path,
) -> None:
    process, url, state = web_bridge
    shots = tmp_path / "screenshots"
    dialogs: list[str] = []
    with chromium(shots, url) as page:
        page.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        # Live: the page is open before the read; the read arrives without a reload.
        page.goto("/")
        page.page.locator("#live").wait_for()
        page.page.evaluate("() => { window.__sameDocument = true; }")
        read(plates, broker, "web1abc")
        entry = live_read(page, "web1abc")
        assert page.page.evaluate("() => window.__sameDocument === true"), "the page reloaded"
        assert entry.get_attribute("data-watched") == "false"
        assert entry.locator(".camera").inner_text().strip() == CAMERA
        assert "unknown" in entry.locator(".status").inner_text().lower()
        assert entry.locator(".vehicle").inner_text().strip() != ""
        picture = entry.locator("img").first
        picture.wait_for()
        page.page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=picture.element_handle()
        )
        page.screenshot("live-first")

        # History: a look-alike search (8 for B) finds the read; the plate page sums it up.
        page.goto("/history")
        form = page.page.locator("#search")
        form.locator('input[name="plate"]').fill("WEB1A8C")
        form.locator('button[type="submit"], input[type="submit"]').first.click()
        row = page.page.locator('#results tr.read[data-plate="web1abc"]').first
        row.wait_for()
        page.screenshot("history")
        form = page.page.locator("#search")
        form.locator('input[name="plate"]').fill("WEB1XYZ")
        form.locator('button[type="submit"], input[type="submit"]').first.click()
        page.page.wait_for_url(re.compile(r"plate=WEB1XYZ", re.IGNORECASE))
        assert page.page.locator("#results tr.read").count() == 0
        page.goto("/plate/WEB1ABC")
        summary = page.page.locator("#summary")
        summary.wait_for()
        assert summary.locator(".count").inner_text().strip() == "1"
        assert CAMERA in summary.locator(".cameras").inner_text()

        # Watch list: add an entry in the form; the next read of that plate is watched.
        page.goto("/watchlist")
        add = page.page.locator("#add-entry")
        add.locator('[name="name"]').fill("Bob's van")
        add.locator('[name="plate"]').fill("WEB2XYZ")
        add.locator('[name="owner"]').fill("Bob")
        add.locator('[name="tolerance"]').select_option("0")
        add.get_by_role("button", name="Add").click()
        page.page.locator('#watchlist tr.entry[data-plate="WEB2XYZ"]').wait_for()
        assert "Bob's van" in page.page.locator("#watchlist").inner_text()
        page.screenshot("watchlist")
        saved = yaml.safe_load((state / "watchlist.yaml").read_text())
        assert {"name": "Bob's van", "plate": "WEB2XYZ"}.items() <= saved["watchlist"][-1].items()

        # A bad entry is refused with a message, and changes nothing.
        before = (state / "watchlist.yaml").read_bytes()
        add = page.page.locator("#add-entry")
        add.locator('[name="name"]').fill("nobody")
        add.locator('[name="plate"]').fill("!!!")
        add.get_by_role("button", name="Add").click()
        page.page.locator("#message").filter(has_text=re.compile(r"\S")).wait_for()
        assert (state / "watchlist.yaml").read_bytes() == before

        page.goto("/")
        page.page.locator("#live").wait_for()
        read(plates, broker, "web2xyz")
        entry = live_read(page, "web2xyz")
        assert entry.get_attribute("data-watched") == "true"
        assert "Bob's van" in entry.locator(".status").inner_text()
        page.screenshot("live")

        # A hostile "plate" is text on every page that shows it.
        read(plates, broker, HOSTILE)
        entry = page.page.locator("#live li.read").filter(has_text="onerror").first
        entry.wait_for()
        assert HOSTILE in entry.locator(".plate").inner_text()
        for path in ("/", "/history?plate=*", "/history"):
            page.goto(path)
            page.page.wait_for_load_state("load")
            assert page.page.locator('img[src="x"]').count() == 0, path
            assert page.page.evaluate("() => window.__pwned === undefined"), path
        page.goto("/history?plate=*")
        assert "onerror" in page.page.locator("#results").inner_text()

        # Health: the broker is connected, and no secret is shown anywhere.
        page.goto("/health")
        health = page.page.locator("#health")
        health.wait_for()
        assert "connected" in health.inner_text().lower()
        page.screenshot("health")
        for path in ("/", "/history", "/watchlist", "/health"):
            page.goto(path)
            assert FAKE_TOKEN not in page.page.content(), path

        errors = [e for e in page.console_errors if "favicon" not in e]
        assert errors == [], errors
    assert dialogs == []
    target = os.environ.get("PLATE_BRIDGE_SCREENSHOTS")
    publish_screenshots(shots, SCREENSHOTS, Path(target) if target else None)
    process.check_alive()
