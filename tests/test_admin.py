"""Platform administration: organisations, council domains, suspensions, users and mailbox."""

from __future__ import annotations

import re

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AllowedDomain, Organisation, OrgStatus, User
from marketplace.services import accounts, organisations
from marketplace.services import admin as admin_service
from marketplace.services.errors import Conflict, PermissionDenied, ValidationFailed
from tests.conftest import sign_in
from tests.factories import (
    SupplierFactory,
    UserFactory,
    admin_user,
    council_user,
    supplier_user,
)
from tests.team_admin_support import (
    audit_events,
    browser,
    fresh,
    is_sign_in_redirect,
    last_email,
    outbox,
    text_of,
)


@pytest.fixture
def platform(app: Flask) -> User:
    return admin_user(email="root@marketplace.example.org", full_name="Ada Admin")


@pytest.fixture
def pending_supplier(app: Flask) -> Organisation:
    org = SupplierFactory(name="Fresh Ideas Ltd", name_key="fresh ideas ltd",
                          status=OrgStatus.PENDING.value, verified_at=None)
    supplier_user("org_admin", "bidder", organisation=org, email="founder@freshideas.example.com")
    supplier_user("bidder", organisation=org, email="bidder@freshideas.example.com")
    return org


# --------------------------------------------------------------------------- organisations


def test_organisation_list_shows_pending_ones(app: Flask, platform: User,
                                              pending_supplier: Organisation) -> None:
    SupplierFactory(name="Old Hands Ltd")
    client = browser(app, platform)
    pending = text_of(client.get("/admin/organisations?status=pending"))
    assert "Fresh Ideas Ltd" in pending and "Old Hands Ltd" not in pending
    everything = text_of(client.get("/admin/organisations"))
    assert "Fresh Ideas Ltd" in everything and "Old Hands Ltd" in everything
    searched = text_of(client.get("/admin/organisations?q=old%20HANDS"))
    assert "Old Hands Ltd" in searched and "Fresh Ideas Ltd" not in searched
    page = client.get(f"/admin/organisations/{pending_supplier.id}")
    assert page.status_code == 200
    assert "founder@freshideas.example.com" in text_of(page)


def test_verify_an_organisation(app: Flask, platform: User,
                                pending_supplier: Organisation) -> None:
    client = browser(app, platform)
    response = client.post(f"/admin/organisations/{pending_supplier.id}/verify")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/organisations/{pending_supplier.id}"
    org = fresh(Organisation, pending_supplier.id)
    assert org.status == OrgStatus.VERIFIED
    assert org.verified_at is not None

    email = last_email("founder@freshideas.example.com")
    assert email.subject == "Fresh Ideas Ltd is verified"
    assert email.body_text.startswith("Hello ")
    assert outbox("bidder@freshideas.example.com") == []  # only org admins are told
    (event,) = audit_events("organisation.verified")
    assert event.actor_id == platform.id
    assert event.before == {"status": "pending", "reason": None}
    assert event.after == {"status": "verified", "reason": None}

    again = client.post(f"/admin/organisations/{pending_supplier.id}/verify",
                        follow_redirects=True)
    assert "Fresh Ideas Ltd is already verified" in text_of(again)
    assert len(audit_events("organisation.verified")) == 1


def test_rejecting_an_organisation_needs_a_reason(app: Flask, platform: User,
                                                  pending_supplier: Organisation) -> None:
    with pytest.raises(ValidationFailed, match="Enter the reason") as err:
        admin_service.reject_organisation(platform, pending_supplier.id, "   ")
    assert err.value.field == "reason"

    client = browser(app, platform)
    for reason in ("", "   "):
        response = client.post(f"/admin/organisations/{pending_supplier.id}/reject",
                               data={"reason": reason})
        assert response.status_code == 400
        assert "Enter the reason" in text_of(response)
    assert fresh(Organisation, pending_supplier.id).status == OrgStatus.PENDING
    assert audit_events("organisation.rejected") == []
    assert outbox("founder@freshideas.example.com") == []


def test_reject_an_organisation(app: Flask, platform: User,
                                pending_supplier: Organisation) -> None:
    client = browser(app, platform)
    response = client.post(f"/admin/organisations/{pending_supplier.id}/reject",
                           data={"reason": "Not on Companies House"})
    assert response.status_code == 302
    org = fresh(Organisation, pending_supplier.id)
    assert org.status == OrgStatus.REJECTED
    assert org.status_reason == "Not on Companies House"
    assert org.verified_at is None

    email = last_email("founder@freshideas.example.com")
    assert email.subject == "Fresh Ideas Ltd was not verified"
    assert "Reason: Not on Companies House" in email.body_text
    (event,) = audit_events("organisation.rejected")
    assert event.after == {"status": "rejected", "reason": "Not on Companies House"}
    assert "Not on Companies House" in text_of(client.get(f"/admin/organisations/{org.id}"))


def test_unknown_organisation_is_404(app: Flask, platform: User) -> None:
    client = browser(app, platform)
    assert client.get("/admin/organisations/999999").status_code == 404
    assert client.post("/admin/organisations/999999/verify").status_code == 404
    assert client.post("/admin/organisations/999999/reject",
                       data={"reason": "x"}).status_code == 404


# --------------------------------------------------------------------------- council domains


def test_add_and_remove_a_council_domain(app: Flask, platform: User) -> None:
    council_admin = council_user("org_admin")
    assert not accounts.is_public_sector_email("clerk@parish.example.org")
    client = browser(app, platform)

    response = client.post("/admin/domains", data={"domain": " @Parish.Example.ORG. "})
    assert response.status_code == 302
    row = db.session.scalar(select(AllowedDomain))
    assert row is not None and row.domain == "parish.example.org"
    assert row.added_by_id == platform.id
    domain_id = row.id
    assert "parish.example.org" in text_of(client.get("/admin/domains"))
    assert accounts.is_public_sector_email("clerk@parish.example.org")
    assert accounts.is_public_sector_email("clerk@town.parish.example.org")  # subdomains too
    organisations.invite(council_admin, "clerk@parish.example.org", ["evaluator"])
    assert [e.after for e in audit_events("allowed_domain.added")] == [
        {"domain": "parish.example.org"}]

    response = client.post(f"/admin/domains/{domain_id}/delete")
    assert response.status_code == 302
    assert db.session.scalars(select(AllowedDomain)).all() == []
    assert not accounts.is_public_sector_email("clerk@parish.example.org")
    assert [e.before for e in audit_events("allowed_domain.removed")] == [
        {"domain": "parish.example.org"}]
    assert client.post(f"/admin/domains/{domain_id}/delete").status_code == 404


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("not a domain", "Enter a domain like example.gov.uk"),
        ("localhost", "Enter a domain like example.gov.uk"),
        ("parish..example.org", "Enter a domain like example.gov.uk"),
        ("-bad.example.org", "Enter a domain like example.gov.uk"),
        ("example.123", "Enter a domain like example.gov.uk"),
        ("https://parish.example.org/", "Enter a domain like example.gov.uk"),
        ("", "Enter a domain"),
        ("gov.uk", "gov.uk is already allowed"),
        ("NHS.UK", "nhs.uk is already allowed"),
    ],
)
def test_invalid_or_configured_domains_are_refused(app: Flask, platform: User, domain: str,
                                                   message: str) -> None:
    response = browser(app, platform).post("/admin/domains", data={"domain": domain})
    assert response.status_code == 200
    assert message in text_of(response)
    assert db.session.scalars(select(AllowedDomain)).all() == []
    assert audit_events("allowed_domain.added") == []


def test_duplicate_domains_are_refused(app: Flask, platform: User) -> None:
    admin_service.add_domain(platform, "parish.example.org")
    with pytest.raises(ValidationFailed, match="parish.example.org is already allowed"):
        admin_service.add_domain(platform, "PARISH.example.org")
    response = browser(app, platform).post("/admin/domains",
                                           data={"domain": "parish.example.org."})
    assert response.status_code == 200
    assert "parish.example.org is already allowed" in text_of(response)
    assert len(db.session.scalars(select(AllowedDomain)).all()) == 1


def test_only_platform_admins_manage_domains_in_the_service(app: Flask) -> None:
    org_admin = council_user("org_admin")
    with pytest.raises(PermissionDenied):
        admin_service.add_domain(org_admin, "parish.example.org")


# --------------------------------------------------------------------------- suspension


def test_suspending_needs_a_reason(app: Flask, platform: User) -> None:
    person = council_user("evaluator")
    with pytest.raises(ValidationFailed, match="Enter the reason"):
        admin_service.suspend_user(platform, person.id, "  ")
    response = browser(app, platform).post(f"/admin/users/{person.id}", data={"reason": ""})
    assert response.status_code == 400
    assert "Enter the reason" in text_of(response)
    assert fresh(User, person.id).suspended_at is None


def test_suspend_and_reinstate(app: Flask, platform: User) -> None:
    person = council_user("evaluator", email="suspect@borough.gov.uk")
    their_browser = browser(app, person)
    assert their_browser.get("/dashboard").status_code == 200

    client = browser(app, platform)
    response = client.post(f"/admin/users/{person.id}", data={"reason": "Shared their login"})
    assert response.status_code == 302
    suspended = fresh(User, person.id)
    assert suspended.suspended_at is not None
    assert suspended.suspended_reason == "Shared their login"
    assert "Suspended: Shared their login" in text_of(client.get(f"/admin/users/{person.id}"))

    # Signed out everywhere, and cannot sign in again.
    assert is_sign_in_redirect(their_browser.get("/dashboard"), "/dashboard")
    refused = sign_in(browser(app), person.email)
    assert refused.status_code == 200
    assert "Your account has been suspended" in text_of(refused)
    (event,) = audit_events("user.suspended")
    assert event.before["suspended"] is False
    assert event.after["suspended"] is True and event.after["reason"] == "Shared their login"

    response = client.post(f"/admin/users/{person.id}/reinstate")
    assert response.status_code == 302
    assert fresh(User, person.id).suspended_at is None
    assert audit_events("user.reinstated")
    assert browser(app, person).get("/dashboard").status_code == 200

    again = client.post(f"/admin/users/{person.id}/reinstate", follow_redirects=True)
    assert "This account is not suspended" in text_of(again)
    with pytest.raises(Conflict):
        admin_service.reinstate_user(platform, person.id)


def test_an_admin_cannot_suspend_themselves(app: Flask, platform: User) -> None:
    with pytest.raises(ValidationFailed, match="cannot suspend your own account"):
        admin_service.suspend_user(platform, platform.id, "Testing")
    client = browser(app, platform)
    page = client.get(f"/admin/users/{platform.id}")
    assert page.status_code == 200
    assert "Suspend this account" not in text_of(page)
    response = client.post(f"/admin/users/{platform.id}", data={"reason": "Testing"})
    assert response.status_code == 400
    assert "You cannot suspend your own account" in text_of(response)
    assert fresh(User, platform.id).suspended_at is None
    assert client.get("/admin").status_code == 200  # still signed in


def test_suspending_twice_is_refused(app: Flask, platform: User) -> None:
    person = council_user("evaluator")
    admin_service.suspend_user(platform, person.id, "First")
    with pytest.raises(Conflict, match="already suspended"):
        admin_service.suspend_user(platform, person.id, "Second")
    assert fresh(User, person.id).suspended_reason == "First"


def test_another_platform_admin_can_be_suspended(app: Flask, platform: User) -> None:
    colleague = admin_user()
    colleague_browser = browser(app, colleague)
    assert colleague_browser.get("/admin").status_code == 200
    admin_service.suspend_user(platform, colleague.id, "Left the team")
    assert is_sign_in_redirect(colleague_browser.get("/admin"), "/admin")
    with pytest.raises(PermissionDenied):
        admin_service.suspend_user(fresh(User, colleague.id), platform.id, "Revenge")


# --------------------------------------------------------------------------- users and mailbox


def _listed_emails(response) -> list[str]:  # type: ignore[no-untyped-def]
    body = response.get_data(as_text=True)
    return re.findall(r'<td class="govuk-table__cell">([^<@\s]+@[^<\s]+)</td>', body)


def test_user_search(app: Flask, platform: User) -> None:
    UserFactory(email="alice.smith@borough.gov.uk", full_name="Alice Smith")
    UserFactory(email="bob@civictech.example.com", full_name="Robert Smithson")
    UserFactory(email="carol@borough.gov.uk", full_name="Carol Jones")
    client = browser(app, platform)

    everyone = _listed_emails(client.get("/admin/users"))
    assert {"alice.smith@borough.gov.uk", "bob@civictech.example.com",
            "carol@borough.gov.uk", platform.email} <= set(everyone)
    assert everyone == sorted(everyone)
    assert sorted(_listed_emails(client.get("/admin/users?q=SMITH"))) == [
        "alice.smith@borough.gov.uk", "bob@civictech.example.com"]
    assert _listed_emails(client.get("/admin/users?q=civictech")) == [
        "bob@civictech.example.com"]
    assert _listed_emails(client.get("/admin/users?q=carol%20jones")) == [
        "carol@borough.gov.uk"]
    assert _listed_emails(client.get("/admin/users?q=nobody-like-this")) == []


def test_user_page(app: Flask, platform: User) -> None:
    person = council_user("evaluator", "challenge_owner", full_name="Pat Person")
    page = browser(app, platform).get(f"/admin/users/{person.id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Pat Person" in text and person.organisation.name in text
    assert "Challenge owner, Evaluator" in text
    assert browser(app, platform).get("/admin/users/999999").status_code == 404


def test_mailbox_lists_messages_and_shows_one(app: Flask, platform: User) -> None:
    council_admin = council_user("org_admin")
    organisations.invite(council_admin, "first@borough.gov.uk", ["evaluator"])
    organisations.invite(council_admin, "second@borough.gov.uk", ["evaluator"])
    client = browser(app, platform)

    listing = client.get("/admin/mailbox")
    assert listing.status_code == 200
    text = text_of(listing)
    assert text.index("second@borough.gov.uk") < text.index("first@borough.gov.uk")  # newest
    assert f"invited you to join {council_admin.organisation.name}" in text
    assert "Queued" in text

    filtered = text_of(client.get("/admin/mailbox?to=FIRST@"))
    assert "first@borough.gov.uk" in filtered and "second@borough.gov.uk" not in filtered

    message = last_email("first@borough.gov.uk")
    with app.test_request_context():
        message_url = url_for("admin.mailbox_message", message_id=message.id)
    assert message_url in listing.get_data(as_text=True)
    page = client.get(message_url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert message.subject in text_of(page)
    assert 'href="http://marketplace.test/invitations/' in body  # links can be followed
    assert client.get("/admin/mailbox/999999").status_code == 404


def test_admin_home_counts(app: Flask, platform: User, pending_supplier: Organisation) -> None:
    SupplierFactory()
    organisations.invite(council_user("org_admin"), "x@borough.gov.uk", ["evaluator"])
    page = browser(app, platform).get("/admin")
    assert page.status_code == 200
    text = text_of(page)
    assert "Organisations waiting for verification 1" in text
    assert "Organisations 3" in text  # pending, the other supplier, the inviting council
    people = db.session.scalars(select(User.id)).all()
    assert f"People {len(people)}" in text
    assert "Emails not yet delivered 1" in text


# --------------------------------------------------------------------------- access


def _admin_routes(app: Flask) -> list[tuple[str, str, dict[str, int]]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                routes.append((rule.endpoint, method, {a: 0 for a in rule.arguments}))
    return routes


@pytest.mark.parametrize("who", ["council_org_admin", "supplier_org_admin",
                                 "procurement_officer", "no_organisation"])
def test_non_admins_get_403_on_every_admin_page(app: Flask, platform: User,
                                                pending_supplier: Organisation,
                                                who: str) -> None:
    person = {
        "council_org_admin": lambda: council_user("org_admin"),
        "supplier_org_admin": lambda: supplier_user("org_admin"),
        "procurement_officer": lambda: council_user("procurement_officer"),
        "no_organisation": lambda: UserFactory(email="loner@example.com"),
    }[who]()
    domain = admin_service.add_domain(platform, "parish.example.org")
    organisations.invite(council_user("org_admin"), "x@borough.gov.uk", ["evaluator"])
    real_ids = {
        "org_id": pending_supplier.id,
        "domain_id": domain.id,
        "user_id": person.id,
        "message_id": last_email("x@borough.gov.uk").id,
    }
    client = browser(app, person)
    routes = _admin_routes(app)
    assert len(routes) >= 10
    for endpoint, method, args in routes:
        values = {name: real_ids[name] for name in args}
        with app.test_request_context():
            url = url_for(endpoint, **values)
        response = client.get(url) if method == "GET" else client.post(
            url, data={"reason": "Because", "domain": "evil.example.org"})
        assert response.status_code == 403, (who, method, url, response.status_code)

    assert fresh(Organisation, pending_supplier.id).status == OrgStatus.PENDING
    assert fresh(User, person.id).suspended_at is None
    assert [d.domain for d in db.session.scalars(select(AllowedDomain))] == [
        "parish.example.org"]
