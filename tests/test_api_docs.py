"""The API reference at /api/v1/docs renders in a real browser from our own static files, under the
site's Content-Security-Policy, and lists every operation."""

from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from touchpoint.api import api

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


def test_docs_render_every_operation(live_server):
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    operations = sum(len(ops) for ops in schema["paths"].values())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"error: {error}"))
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        outside: list[str] = []
        page.on("request", lambda r: r.url.startswith(live_server.url) or outside.append(r.url))
        page.goto(f"{live_server.url}/api/v1/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        assert page.locator(".opblock").count() == operations
        assert page.get_by_text("Touchpoint API").first.is_visible()
        browser.close()
    assert outside == [], "the docs must not load anything from elsewhere"
    assert problems == []
