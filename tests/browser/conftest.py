"""Browser-test fixtures: a live server on a fresh database, Debian's Chromium driven by
Playwright, and an axe-core accessibility check.

Playwright's own browser download cannot work here, so the tests launch the distribution's
Chromium and are skipped when it is not installed.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_REASON = "Debian's chromium is not installed (apt-get install chromium); browser tests skipped"

# Only these impacts fail a test; "moderate" and "minor" findings are left to review.
FAILING_IMPACTS = {"serious", "critical"}
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
}


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


class LiveServer:
    """The application served over HTTP by werkzeug in a background thread."""

    def __init__(self, app: Flask, url: str) -> None:
        self.app = app
        self.url = url

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture
def live_server(app_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """Serve a fresh-database app on 127.0.0.1 with a free port; its emailed links point here."""
    # Bind first (port 0 picks a free port), then build the app with the real base URL.
    holder: dict[str, Flask] = {}

    def wsgi(environ, start_response):  # type: ignore[no-untyped-def]
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = app_factory(BASE_URL=url)
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian Chromium for the whole run."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail("REQUIRE_BROWSER_TESTS is set (as in CI) but " + SKIP_REASON)
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser):  # type: ignore[no-untyped-def]
    """Open browser contexts (separate cookie jars) that close after the test."""
    contexts = []

    def make(**options: object):  # type: ignore[no-untyped-def]
        options.setdefault("locale", "en-GB")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def serious_violations(violations: list[dict]) -> list[dict]:
    """The serious and critical violations (no exceptions)."""
    return [v for v in violations if v.get("impact") in FAILING_IMPACTS]


def format_violations(url: str, violations: list[dict]) -> str:
    lines = [f"axe-core found {len(violations)} serious or critical violation(s) on {url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" [{violation.get('helpUrl', '')}]"
        )
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").strip().replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def axe_check() -> Callable[..., None]:
    """``axe_check(page)`` fails the test on any serious or critical axe-core violation."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page) -> None:  # type: ignore[no-untyped-def]
        page.wait_for_load_state("load")
        results = axe.run(page, options=AXE_OPTIONS)
        failing = serious_violations(results.response["violations"])
        if failing:
            raise AssertionError(format_violations(page.url, failing))

    return check
