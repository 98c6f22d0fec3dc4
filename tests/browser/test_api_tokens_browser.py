"""API tokens and the developer page in a real browser: axe-core on the token list (empty,
with errors, with tokens), the page that shows a new token once, and the API reference; the
token made in the browser then works against the live API, and stops working once revoked."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import TEST_PASSWORD
from tests.factories import council_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect


def _me(url: str, secret: str) -> int:
    request = urllib.request.Request(  # noqa: S310 (the live server's http URL)
        url, headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = json.loads(response.read())
            assert body["email"] == "officer@leeds.gov.uk"
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_make_use_and_revoke_a_token(live_server, new_context, axe_check) -> None:
    with live_server.app.app_context():
        council_user("procurement_officer", email="officer@leeds.gov.uk")
    page = new_context().new_page()

    # The API reference is public.
    page.goto(live_server("/developers/api"))
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    axe_check(page)

    page.goto(live_server("/sign-in?next=/account/tokens"))
    page.get_by_label("Email address").fill("officer@leeds.gov.uk")
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()
    axe_check(page)

    # Nothing chosen: an error summary that links to the fields.
    page.get_by_role("button", name="Create token").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Enter a name for the token")
    axe_check(page)

    page.get_by_label("Token name").fill("Nightly export")
    page.get_by_label("Read only").check()
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="API token created")).to_be_visible()
    secret = page.locator("#token-secret").input_value()
    assert secret.startswith("mkt_")
    axe_check(page)

    assert _me(live_server("/api/v1/me"), secret) == 200

    page.get_by_role("link", name="Back to your API tokens").click()
    expect(page.get_by_role("row", name="Nightly export")).to_contain_text("Read only")
    assert secret not in page.content()
    axe_check(page)
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row", name="Nightly export")).to_contain_text("Revoked")
    assert _me(live_server("/api/v1/me"), secret) == 401
