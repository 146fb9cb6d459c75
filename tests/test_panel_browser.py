"""The panel in a real browser: Debian's chromium, driven by Playwright, against the real app.

The app runs in a real WSGI server on a free port; sends go through the Twilio stand-in.
Chromium comes from Debian (`make browser`; `.ci/run` installs it) — never a downloaded
browser. Without it on PATH this test is skipped, unless REQUIRE_CHROMIUM is set (CI).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from webhooks.app import create_app

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "browser-test-password"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if not chromium:
        message = "Debian chromium is not on PATH (install it with `make browser`)"
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def serving(app):
    """The app on 127.0.0.1:<free port> in a thread, as a browser reaches a real deployment."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def test_login_paste_preview_confirm_and_the_history_follows(browser, configure, run_jobs, twilio_api):
    app = create_app(configure(PANEL_PASSWORD=PASSWORD))
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(app) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(base + "/panel/")
        expect(page).to_have_url(re.compile(r"/panel/login"))
        page.get_by_label("Panel password").fill(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Multi-SMS", level=1)).to_be_visible()

        page.get_by_label("Numbers").fill("+48 600 123 456\n0048600123456\n+48600123457\n+48 600 12")
        page.get_by_label("Message").fill("Team meeting moved to 5 pm, room 2.")
        page.get_by_role("button", name="Preview").click()
        preview = page.locator("#preview")
        expect(preview).to_be_focused()
        invalid = preview.locator("table.invalid")
        expect(invalid).to_contain_text("+48 600 12")
        expect(invalid).to_contain_text("too short")
        expect(preview.locator("dd", has_text="2 numbers")).to_be_visible()

        page.get_by_role("button", name="Confirm and send 2 messages").click()
        expect(page.get_by_text("Batch #1 is queued: 2 messages to send.")).to_be_visible()
        status = page.locator("#batch-1 [data-field=status_label]")
        expect(status).to_have_text("Queued")
        page.evaluate("window.stillTheSamePage = true")

        run_jobs()
        expect(status).to_have_text("Completed with errors", timeout=15_000)
        assert page.evaluate("window.stillTheSamePage") is True, "the history must refresh without a reload"
        expect(page.locator("#live")).to_have_text("Batch #1: Completed with errors.")
        expect(page.locator("#batch-1 [data-field=success]")).to_have_text("2")

        toggle = page.locator("#batch-1 button.toggle")
        expect(toggle).to_have_accessible_name("Show 2 recipients of batch #1")
        toggle.focus()
        page.keyboard.press("Enter")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(toggle).to_have_accessible_name("Hide 2 recipients of batch #1")
        recipients = page.locator("#recipients-1")
        expect(recipients).to_contain_text("+48600123457")
        expect(recipients.locator("tr", has_text="+48600123456")).to_contain_text("Accepted by Twilio")

        screenshot = ARTIFACTS / "panel.png"
        page.screenshot(path=str(screenshot), full_page=True)
        print(f"\npanel screenshot: {screenshot}")

        page.emulate_media(media="print")
        expect(page.locator("#compose-form")).to_be_hidden()
        expect(page.locator("#batch-1")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "panel-print.png"), full_page=True)
        page.pdf(path=str(ARTIFACTS / "panel.pdf"))
        page.emulate_media(media="screen")

        page.get_by_role("link", name="#1").click()
        expect(page.get_by_role("heading", name=re.compile(r"Batch #1"), level=1)).to_be_visible()
        expect(page.get_by_role("img", name=re.compile("Accepted by Twilio: 2"))).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "panel-batch.png"), full_page=True)
        assert problems == [], problems
        page.close()
    assert {m["to"] for m in twilio_api.messages} == {"+48600123456", "+48600123457"}
