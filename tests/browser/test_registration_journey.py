"""End-to-end journeys in a real browser, with an axe-core check of every page visited."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PASSWORD
from tests.factories import admin_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

SUPPLIER_NAME = "Ada Lovelace"
SUPPLIER_EMAIL = "ada@analytical-engines.example.com"
SUPPLIER_PASSWORD = "velvet-orchard-compass-71"  # zxcvbn score 4
COMPANY_NAME = "Analytical Engines Ltd"


def sign_in(page, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_supplier_registers_verifies_email_and_signs_in(live_server, new_context, axe_check):
    """Registers a supplier, verifies the email through the development mailbox and signs in,
    with an axe-core check of each page it visits."""
    with live_server.app.app_context():
        admin = admin_user(full_name="Platform Admin")
        admin_email = admin.email

    supplier = new_context().new_page()

    # Home page, then the register link in the header.
    supplier.goto(live_server("/"))
    expect(supplier.get_by_role("heading", level=1)).to_have_text("Council Innovation Marketplace")
    axe_check(supplier)
    supplier.get_by_role("navigation").get_by_role("link", name="Register").click()

    # What kind of organisation?
    expect(supplier.get_by_role("heading", level=1)).to_contain_text(
        "What kind of organisation do you work for?"
    )
    axe_check(supplier)
    supplier.get_by_label("A supplier").check()
    supplier.get_by_role("button", name="Continue").click()

    # The supplier registration form.
    expect(supplier).to_have_url(live_server("/register/supplier"))
    expect(supplier.get_by_role("heading", level=1)).to_have_text("Create a supplier account")
    axe_check(supplier)
    supplier.get_by_label("Full name").fill(SUPPLIER_NAME)
    supplier.get_by_label("Email address").fill(SUPPLIER_EMAIL)
    supplier.get_by_label("Create a password").fill(SUPPLIER_PASSWORD)
    supplier.get_by_label("Confirm password").fill(SUPPLIER_PASSWORD)
    supplier.get_by_label("Register a new company").check()
    supplier.get_by_label("Company name").fill(COMPANY_NAME)
    axe_check(supplier)  # with the new-company choice made and the name filled in
    supplier.get_by_role("button", name="Create account").click()

    expect(supplier.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(supplier.get_by_text(SUPPLIER_EMAIL)).to_be_visible()
    axe_check(supplier)

    # A platform admin reads the message in the development mailbox, in a separate context.
    admin_page = new_context().new_page()
    admin_page.goto(live_server("/sign-in"))
    axe_check(admin_page)
    sign_in(admin_page, admin_email, TEST_PASSWORD)
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Welcome, Platform Admin")
    admin_page.goto(live_server("/admin/mailbox"))
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Mailbox")
    axe_check(admin_page)
    row = (
        admin_page.get_by_role("row")
        .filter(has_text=SUPPLIER_EMAIL)
        .filter(has_text="Confirm your email address")
    )
    expect(row).to_have_count(1)
    row.get_by_role("link", name=re.compile("^Confirm your email address")).click()
    expect(admin_page.get_by_role("heading", level=1)).to_contain_text("Confirm your email address")
    axe_check(admin_page)
    body = admin_page.get_by_test_id("email-body").inner_text()
    found = re.search(re.escape(live_server.url) + r"/verify-email/\S+", body)
    assert found, f"no confirmation link to the live server in the email:\n{body}"
    link = found.group(0)

    # The supplier follows the link, then signs in.
    supplier.goto(link)
    expect(supplier.get_by_role("heading", level=1)).to_have_text("Email address confirmed")
    axe_check(supplier)
    supplier.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(supplier.get_by_role("heading", level=1)).to_have_text("Sign in")
    axe_check(supplier)
    sign_in(supplier, SUPPLIER_EMAIL, SUPPLIER_PASSWORD)

    expect(supplier).to_have_url(live_server("/dashboard"))
    expect(supplier.get_by_role("heading", level=1)).to_have_text(f"Welcome, {SUPPLIER_NAME}")
    expect(supplier.get_by_role("main")).to_contain_text(COMPANY_NAME)
    axe_check(supplier)


def test_sign_in_error_summary_and_pages_without_javascript(live_server, new_context, axe_check):
    """A wrong password shows a GOV.UK error summary that passes axe, and registration starts
    without JavaScript."""
    with live_server.app.app_context():
        user = admin_user()
        email = user.email

    page = new_context().new_page()
    page.goto(live_server("/sign-in"))
    sign_in(page, email, "not-the-right-password-42")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page).to_have_title(re.compile("^Error: Sign in"))
    axe_check(page)

    no_js = new_context(java_script_enabled=False).new_page()
    no_js.goto(live_server("/register"))
    no_js.get_by_label("A supplier").check()
    no_js.get_by_role("button", name="Continue").click()
    expect(no_js).to_have_url(live_server("/register/supplier"))
    expect(no_js.get_by_role("heading", level=1)).to_have_text("Create a supplier account")
    # The form works without JavaScript. (axe itself needs JavaScript, so it cannot run in
    # this context; the same page is checked in the journey.)
    expect(no_js.get_by_label("Company name")).to_be_visible()
