"""The running UI (``run_ui``) driven in headless Chromium against the REAL API.

Streamlit ships an empty page and streams its content over a websocket, so the test waits for the
cards themselves. It selects a viewer, likes the first title, waits for the feed to change (the
liked card gone); MOVIERECS_UPDATE_SCREENSHOT=1 saves docs/screenshots/ui.png for the README.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ui_helpers import free_port, stop

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, MAX_SCREENSHOT_BYTES, save_screenshot
from movierecs.ui.launch import run_ui

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "ui.png"
VIEWER = 10

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is absent: install Debian's chromium (scripts/install-system.sh)",
    ),
]

# Item ids of the feed cards, in page order: each card is a keyed container (class st-key-card_<id>).
CARD_IDS_JS = """() => Array.from(document.querySelectorAll('[class*="st-key-card_"]'))
  .map(el => Array.from(el.classList).find(c => c.startsWith('st-key-card_')))
  .filter(Boolean).map(c => Number(c.slice('st-key-card_'.length)))"""
SETTLED_JS = "() => !document.querySelector('[data-stale=\"true\"]')"


@pytest.fixture(scope="module")
def ui_url(api_url: str) -> Iterator[str]:
    port = free_port()
    proc = run_ui(api_url, "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode} before it served {url}")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text.strip() == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer on {url} within 45 s")
            time.sleep(0.25)
        yield url
    finally:
        stop(proc)


def test_like_in_browser_changes_feed(ui_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 1020})
        try:
            page.goto(ui_url, wait_until="domcontentloaded")
            page.wait_for_selector('[class*="st-key-card_"]', timeout=30_000)

            viewer = page.get_by_role("spinbutton", name="Viewer id")
            viewer.fill(str(VIEWER))
            viewer.press("Enter")
            page.get_by_text(f"Recommendations for viewer {VIEWER}").wait_for(timeout=15_000)
            page.wait_for_function(SETTLED_JS, timeout=15_000)
            before = page.evaluate(CARD_IDS_JS)
            assert len(before) >= 5, before

            liked = before[0]
            clicked = time.monotonic()
            page.locator(f".st-key-like_{liked} button").click()
            page.wait_for_function(
                f"() => ({CARD_IDS_JS})().length > 0 && !({CARD_IDS_JS})().includes({liked})",
                timeout=15_000,
            )
            changed_s = time.monotonic() - clicked
            page.wait_for_function(SETTLED_JS, timeout=15_000)
            after = page.evaluate(CARD_IDS_JS)
            assert liked not in after
            assert after != before
            assert page.get_by_text("ials_online").count() > 0
            print(f"feed changed {changed_s * 1000:.0f} ms after the click: {before[:5]} -> {after[:5]}")
            assert changed_s < 5, f"the feed took {changed_s:.1f} s to change"

            page.wait_for_timeout(300)  # let the toast finish sliding in
            # the README's screenshot is refreshed on request only, so a test run leaves the tree clean
            shot = SCREENSHOT if os.environ.get("MOVIERECS_UPDATE_SCREENSHOT") else tmp_path / "ui.png"
            save_screenshot(page.screenshot(), shot)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()
    assert shot.stat().st_size < MAX_SCREENSHOT_BYTES
