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
from tests.e2e.web_proxy import INGRESS_PREFIX, ingress_app, page_app, serve_in_thread
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


def _resolved_urls(page: Page) -> list[str]:
    """Every address the page links to or loads, as the browser resolved it."""
    urls: list[str] = page.page.evaluate(
        """() => [...document.querySelectorAll('[href], [src], form[action]')]
            .map((node) => node.getAttribute(node.tagName === 'FORM' ? 'action'
                : node.hasAttribute('href') ? 'href' : 'src'))
            .filter((value) => !value.startsWith('data:'))
            .map((value) => new URL(value, document.baseURI).href)"""
    )
    return urls


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_the_page_works_under_an_ingress_prefix(
    web_bridge: tuple[ManagedProcess, str, Path],
    plates: ChosenPlates,
    broker: Any,
    tmp_path: Path,
) -> None:
    """Behind a reverse proxy that mounts it under /api/hassio_ingress/<token>/ (as Home
    Assistant does): every link, form, script, style sheet, picture and the live stream
    stay under the prefix; a read appears live, the search and the watch-list form work."""
    process, url, state = web_bridge
    with serve_in_thread(ingress_app(url)) as proxy, chromium(tmp_path / "shots", proxy) as page:
        base = f"{proxy}{INGRESS_PREFIX}/"
        page.goto(INGRESS_PREFIX + "/")
        page.page.locator("#live-state.good").wait_for()  # app.js ran; the stream is open
        assert page.page.evaluate("() => document.styleSheets[0].cssRules.length") > 0
        read(plates, broker, "ing1abc")
        entry = live_read(page, "ing1abc")
        picture = entry.locator("img").first
        page.page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=picture.element_handle()
        )
        for where in ("", "history", "watchlist", "health", "plate/ING1ABC"):
            page.goto(f"{INGRESS_PREFIX}/{where}")
            page.page.wait_for_load_state("load")
            outside = [u for u in _resolved_urls(page) if not u.startswith(base)]
            assert outside == [], (where, outside)

        page.goto(INGRESS_PREFIX + "/history")
        form = page.page.locator("#search")
        form.locator('input[name="plate"]').fill("ING1A8C")
        form.get_by_role("button", name="Search").click()
        page.page.wait_for_url(base + "history?*")
        row = page.page.locator('#results tr.read[data-plate="ing1abc"]').first
        row.wait_for()
        row.locator("td.plate a").click()
        page.page.wait_for_url(base + "plate/ING1ABC")
        page.page.locator("#summary").wait_for()
        thumb = page.page.locator("img.thumb").first
        page.page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
        )

        page.goto(INGRESS_PREFIX + "/watchlist")
        add = page.page.locator("#add-entry")
        add.locator('[name="name"]').fill("Ingress van")
        add.locator('[name="plate"]').fill("ING2XYZ")
        add.get_by_role("button", name="Add").click()
        page.page.wait_for_url(base + "watchlist?done=added*")
        page.page.locator('#watchlist tr.entry[data-plate="ING2XYZ"]').wait_for()
        assert "ING2XYZ" in (state / "watchlist.yaml").read_text()
        page.screenshot("ingress-watchlist")

        # Edit keeps the plate and changes owner and tolerance; Remove asks first.
        row = page.page.locator('#watchlist tr.entry[data-plate="ING2XYZ"]')
        row.get_by_role("link", name="Edit").click()
        edit = page.page.locator("#edit-entry")
        assert edit.get_by_label("Plate", exact=True).input_value() == "ING2XYZ"
        edit.get_by_label("Owner", exact=True).fill("Ingrid")
        edit.locator('[name="tolerance"]').select_option("1")
        edit.get_by_role("button", name="Save").click()
        page.page.wait_for_url(base + "watchlist?done=updated*")
        assert row.locator(".owner").inner_text() == "Ingrid"
        assert row.locator(".tolerance").inner_text().startswith("1")
        row.get_by_role("link", name="Remove").click()
        page.page.wait_for_url(base + "watchlist?remove=ING2XYZ")
        assert row.count() == 1  # asked, not removed yet
        page.page.locator("#remove-entry").get_by_role("button", name="Remove ING2XYZ").click()
        page.page.wait_for_url(base + "watchlist?done=removed*")
        assert row.count() == 0
        assert "ING2XYZ" not in (state / "watchlist.yaml").read_text()

        # A phone's width: nothing wider than the screen (the tables scroll inside).
        page.page.set_viewport_size({"width": 390, "height": 844})
        for where in ("", "history", "watchlist", "health", "plate/ING1ABC"):
            page.goto(f"{INGRESS_PREFIX}/{where}")
            page.page.wait_for_load_state("load")
            width = page.page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, (where, width)
            page.screenshot(f"phone-{where.split('/')[0] or 'live'}")
        errors = [e for e in page.console_errors if "favicon" not in e]
        assert errors == [], errors
    process.check_alive()


def _forging_page(action: str, csrf: str) -> str:
    """Another site's page that posts a watch-list entry to the bridge as soon as it opens
    (its own inline script: that site has no Content-Security-Policy)."""
    return (
        f'<form method="post" action="{action}">'
        '<input name="action" value="add"><input name="name" value="forged">'
        '<input name="plate" value="EVIL123"><input name="tolerance" value="2">'
        f'<input name="csrf" value="{csrf}"></form>'
        "<script>document.forms[0].submit()</script>"
    )


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_other_sites_cannot_write_and_inline_script_is_blocked(
    web_bridge: tuple[ManagedProcess, str, Path], tmp_path: Path
) -> None:
    """In Chromium: a page of another site (localhost, another port) and of the same site
    but another origin (127.0.0.1, another port) post the watch-list form to the bridge,
    even with a valid CSRF token: refused, nothing written. And the page's own
    Content-Security-Policy stops an inline script that a flaw might let in."""
    process, url, state = web_bridge
    with chromium(tmp_path / "shots", url) as page:
        page.goto("/watchlist")
        csrf = page.page.locator('#add-entry input[name="csrf"]').get_attribute("value") or ""
        assert len(csrf) > 20
        pages = {
            "/with-token": _forging_page(url + "/watchlist", csrf),
            "/without-token": _forging_page(url + "/watchlist", "guessed"),
        }
        with (
            serve_in_thread(page_app(pages), "localhost") as other_site,
            serve_in_thread(page_app(pages)) as other_origin,
        ):
            page.page.route(re.compile(r"^http://localhost:\d+/"), lambda route: route.continue_())
            for origin in (other_site, other_origin):
                for path in pages:
                    page.page.goto(origin + path)
                    page.page.wait_for_url(url + "/watchlist")
                    body = page.page.locator("body").inner_text()
                    assert "refused" in body, (origin, path, body)
        assert not (state / "watchlist.yaml").exists()
        page.goto("/watchlist")
        assert page.page.locator('#watchlist tr.entry[data-plate="EVIL123"]').count() == 0

        # The bridge's own answer (its headers), with an inline script for a body.
        inline = "<p id='probe'>probe</p><script>window.__inline = 1</script>"

        def with_inline_script(route: Any, keep_csp: bool) -> None:
            answer = route.fetch(url=url + "/")
            headers = dict(answer.headers)
            if not keep_csp:
                headers.pop("content-security-policy")
            route.fulfill(status=200, headers=headers, body=inline)

        page.page.route(url + "/probe-csp", lambda route: with_inline_script(route, True))
        page.page.route(url + "/probe-none", lambda route: with_inline_script(route, False))
        page.goto("/probe-none")  # the probe works: without the policy the script runs
        page.page.wait_for_function("() => window.__inline === 1")
        page.goto("/probe-csp")
        page.page.locator("#probe").wait_for()
        page.page.wait_for_load_state("load")
        assert page.page.evaluate("() => window.__inline === undefined")
        assert any("Content Security Policy" in e for e in page.console_errors)
    process.check_alive()
