"""Accounts end to end: registration, email verification, sign-in sessions, passwords,
suspension and the create-admin command."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import pytest
from flask import Flask, current_app
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from marketplace import security
from marketplace.extensions import db
from marketplace.models import (
    AllowedDomain,
    AuditEvent,
    JoinRequest,
    Organisation,
    OrgStatus,
    OutboxEmail,
    User,
    UserSession,
)
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import (
    CouncilFactory,
    SupplierFactory,
    UserFactory,
    admin_user,
    council_user,
    supplier_user,
)

NEW_PASSWORD = "tangerine-lantern-orbit-42"
SESSION_COOKIE = "marketplace_session"
LINK_RE = re.compile(r"http://marketplace\.test(/\S+)")


# Fixtures ---------------------------------------------------------------------------------




# Helpers ----------------------------------------------------------------------------------


def emails(to: str | None = None, subject_contains: str | None = None) -> list[OutboxEmail]:
    """Outbox rows, oldest first, optionally for one address and subject."""
    db.session.expire_all()
    stmt = select(OutboxEmail).order_by(OutboxEmail.id)
    if to is not None:
        stmt = stmt.where(OutboxEmail.to_address == to)
    rows = list(db.session.scalars(stmt))
    if subject_contains is not None:
        rows = [r for r in rows if subject_contains in r.subject]
    return rows


def link_in(message: OutboxEmail, prefix: str) -> str:
    """The site-relative path of the link in an email that starts with ``prefix``."""
    paths = [p for p in LINK_RE.findall(message.body_text) if p.startswith(prefix)]
    assert paths, f"no {prefix} link in: {message.body_text}"
    return paths[0]


def verification_path(email: str) -> str:
    messages = emails(email, "Confirm your email address")
    assert messages, f"no verification email for {email}"
    return link_in(messages[-1], "/verify-email/")


def user_named(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def registration(**fields: str) -> dict[str, str]:
    data = {
        "full_name": "Ada Lovelace",
        "email": "ada@analytical.example.com",
        "password": TEST_PASSWORD,
        "password_confirm": TEST_PASSWORD,
        "organisation_choice": "new",
        "organisation_name": "Analytical Engines Ltd",
        "organisation": "0",
    }
    data.update(fields)
    return data


def register(client, kind: str = "supplier", **fields: str):  # type: ignore[no-untyped-def]
    return client.post(f"/register/{kind}", data=registration(**fields))


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def without_nonces(html: str) -> str:
    """A page with its per-request CSP nonces and CSRF tokens blanked, for comparisons."""
    html = re.sub(r'nonce="[^"]+"', 'nonce=""', html)
    return re.sub(r'name="csrf_token"([^>]*)value="[^"]+"', r'name="csrf_token"\1value=""', html)


def assert_signed_out(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def assert_signed_in(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/dashboard")
    assert response.status_code == 200, response.headers.get("Location")


def cookie_value(client) -> str:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def session_data(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with client.session_transaction() as sess:
        return dict(sess)


def backdated(token: str, purpose: str, seconds: int) -> str:
    """The same signed payload, stamped ``seconds`` in the past."""
    secret = current_app.config["SECRET_KEY"]
    salt = f"marketplace.{purpose}"
    payload = URLSafeTimedSerializer(secret, salt=salt).loads(token)

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds

    return URLSafeTimedSerializer(secret, salt=salt, signer=PastSigner).dumps(payload)


# Registration: suppliers ------------------------------------------------------------------


def test_supplier_registers_new_company(client):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/register/check-email"
    assert "ada@analytical.example.com" in page_text(client.get("/register/check-email"))

    user = user_named("ada@analytical.example.com")
    assert user is not None
    assert not user.email_verified
    assert user.full_name == "Ada Lovelace"
    assert user.roles == {"org_admin", "bidder"}
    assert user.password_hash != TEST_PASSWORD and user.password_hash.startswith("$argon2id$")
    org = user.organisation
    assert org is not None and org.name == "Analytical Engines Ltd"
    assert org.kind == "supplier" and org.status == OrgStatus.PENDING.value

    verify = emails("ada@analytical.example.com")
    assert [m.subject for m in verify] == [
        "Confirm your email address for the Council Innovation Marketplace"
    ]
    assert "Hello Ada Lovelace" in verify[0].body_text
    assert verification_path(user.email).startswith("/verify-email/")

    actions = audit_actions()
    assert "organisation.registered" in actions and "user.registered" in actions
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.registered"))
    assert event.actor_id == user.id and event.object_id == str(user.id)
    assert event.after["roles"] == ["bidder", "org_admin"]


def test_registration_normalises_email_and_spacing(client):
    response = register(client, email="Ada@Analytical.Example.COM",
                        full_name="  Ada   Lovelace ", organisation_name=" Analytical   Engines ")
    assert response.status_code == 302
    user = user_named("ada@analytical.example.com")
    assert user is not None and user.full_name == "Ada Lovelace"
    assert user.organisation.name == "Analytical Engines"


def test_supplier_joins_existing_company(client):
    company = SupplierFactory(name="Civic Widgets Ltd")
    admin = supplier_user("org_admin", organisation=company, email="boss@widgets.example.com")
    supplier_user("bidder", organisation=company, email="bidder@widgets.example.com")
    other_company_admin = supplier_user("org_admin", email="boss@elsewhere.example.com")

    response = register(client, email="newbie@widgets.example.com", full_name="Nia Newbie",
                        organisation_choice="join", organisation=str(company.id),
                        organisation_name="")
    assert response.status_code == 302, page_text(response)

    user = user_named("newbie@widgets.example.com")
    assert user is not None
    assert user.organisation_id is None and user.roles == set()
    request = db.session.scalar(select(JoinRequest).where(JoinRequest.user_id == user.id))
    assert request is not None
    assert request.organisation_id == company.id and request.status == "pending"
    assert count(Organisation) == 2  # no new organisation

    to_admin = emails(admin.email)
    assert len(to_admin) == 1
    assert to_admin[0].subject == "Nia Newbie wants to join Civic Widgets Ltd"
    assert "newbie@widgets.example.com" in to_admin[0].body_text
    assert link_in(to_admin[0], "/organisation")
    assert emails("bidder@widgets.example.com") == []  # only org admins are told
    assert emails(other_company_admin.email) == []
    assert emails(user.email, "Confirm your email address")
    assert "join_request.created" in audit_actions()


def test_cannot_join_a_council_or_rejected_company_as_supplier(client):
    council = CouncilFactory()
    rejected = SupplierFactory(status=OrgStatus.REJECTED.value)
    for target in (council, rejected):
        response = register(client, organisation_choice="join", organisation=str(target.id),
                            organisation_name="")
        assert response.status_code == 200
        assert "Select an organisation from the list" in page_text(response)
    assert count(User) == 0 and count(JoinRequest) == 0


def test_join_needs_an_organisation_choice(client):
    response = register(client, organisation_choice="join", organisation="0",
                        organisation_name="")
    assert response.status_code == 200
    assert "Select the organisation you want to join" in page_text(response)
    response = register(client, organisation_choice="new", organisation_name="  ")
    assert "Enter the name of your organisation" in page_text(response)
    assert count(User) == 0


def test_new_organisation_name_clash_is_refused(client):
    SupplierFactory(name="Civic Widgets Ltd")
    response = register(client, organisation_name="  civic   WIDGETS ltd ")
    assert response.status_code == 200
    text = page_text(response)
    assert "A company called ‘Civic Widgets Ltd’ is already registered" in text
    assert "Ask to join it instead" in text
    assert count(User) == 0 and count(Organisation) == 1 and count(OutboxEmail) == 0


def test_council_and_supplier_names_do_not_clash(client):
    CouncilFactory(name="Leeds City Council")
    assert register(client, organisation_name="Leeds City Council").status_code == 302


# Registration: councils -------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["officer@gov.uk", "officer@leeds.gov.uk", "Officer@Housing.Leeds.GOV.UK",
     "nurse@nhs.uk", "officer@edinburgh.gov.scot"],
)
def test_council_registration_on_public_sector_domain(client, email):
    response = register(client, "council", email=email, organisation_name="Leeds City Council")
    assert response.status_code == 302, page_text(response)
    user = user_named(email.lower())
    assert user is not None
    assert user.roles == {"org_admin", "challenge_owner", "procurement_officer"}
    assert user.organisation.kind == "council"
    assert user.organisation.status == OrgStatus.PENDING.value


@pytest.mark.parametrize(
    "email",
    ["officer@gmail.com", "officer@evilgov.uk", "officer@gov.uk.evil.com",
     "officer@leeds-gov.uk", "officer@notnhs.uk", "officer@gov.uk.example.com",
     "officer@gov.scot.evil.example"],
)
def test_council_registration_refuses_other_domains(client, email):
    response = register(client, "council", email=email, organisation_name="Leeds City Council")
    assert response.status_code == 200
    assert "Enter an email address on a public-sector domain" in page_text(response)
    assert count(User) == 0 and count(Organisation) == 0 and count(OutboxEmail) == 0


def test_supplier_registration_accepts_any_domain(client):
    assert register(client, email="founder@gmail.com").status_code == 302


def test_admin_added_domain_allows_council_registration(app, client):
    refused = register(client, "council", email="chief@example-fire.org.uk",
                       organisation_name="Example Fire and Rescue")
    assert "public-sector domain" in page_text(refused)

    admin_client = app.test_client()
    admin = admin_user()
    sign_in(admin_client, admin.email)
    added = admin_client.post("/admin/domains", data={"domain": "Example-Fire.org.uk"})
    assert added.status_code == 302, page_text(added)
    assert db.session.scalar(select(AllowedDomain.domain)) == "example-fire.org.uk"

    accepted = register(client, "council", email="chief@example-fire.org.uk",
                        organisation_name="Example Fire and Rescue")
    assert accepted.status_code == 302, page_text(accepted)
    sub = register(client, "council", email="crew@north.example-fire.org.uk",
                   organisation_name="North Station")
    assert sub.status_code == 302, page_text(sub)
    lookalike = register(client, "council", email="x@notexample-fire.org.uk",
                         organisation_name="Fake Station")
    assert "public-sector domain" in page_text(lookalike)
    assert user_named("x@notexample-fire.org.uk") is None


def test_domain_added_directly_in_the_table_is_honoured(client):
    db.session.add(AllowedDomain(domain="police.example"))
    db.session.commit()
    response = register(client, "council", email="pc@met.police.example",
                        organisation_name="Met Police")
    assert response.status_code == 302


# Registration: duplicates and passwords ---------------------------------------------------


def test_duplicate_email_sends_owner_a_notice_and_reveals_nothing(client, app):
    existing = supplier_user("bidder", email="taken@example.com", full_name="Tess Taken")
    fresh_client = app.test_client()
    fresh = register(fresh_client, email="brand-new@example.com",
                     organisation_name="Brand New Ltd")

    response = register(client, email="TAKEN@example.com", full_name="Mallory",
                        organisation_name="Another Company Ltd")
    assert response.status_code == fresh.status_code == 302
    assert response.headers["Location"] == fresh.headers["Location"]
    check = page_text(client.get("/register/check-email"))
    assert "already" not in check.lower()
    fresh_check = page_text(fresh_client.get("/register/check-email"))
    assert without_nonces(check.replace("taken@example.com", "X")) == without_nonces(
        fresh_check.replace("brand-new@example.com", "X"))

    assert count(User, User.email == "taken@example.com") == 1
    assert count(Organisation, Organisation.name == "Another Company Ltd") == 0
    db.session.refresh(existing)
    assert existing.full_name == "Tess Taken"
    notices = emails("taken@example.com")
    assert [m.subject for m in notices] == [
        "Someone tried to create an account with your email address"
    ]
    assert "Hello Tess Taken" in notices[0].body_text
    assert "http://marketplace.test/sign-in" in notices[0].body_text
    assert "http://marketplace.test/password/forgot" in notices[0].body_text
    assert "user.registration_duplicate" in audit_actions()


def test_duplicate_email_with_clashing_name_answers_like_a_new_email(client):
    """The organisation-name check must not become an oracle for registered addresses."""
    SupplierFactory(name="Civic Widgets Ltd")
    supplier_user("bidder", email="taken@example.com")
    answers = []
    for email in ("taken@example.com", "unknown@example.com"):
        response = register(client, email=email, organisation_name="Civic Widgets Ltd")
        answers.append((response.status_code, "already registered. Ask to join" in
                        page_text(response)))
    assert answers[0] == answers[1] == (200, True)
    assert emails("taken@example.com") == []


def test_duplicate_registration_costs_a_password_hash_like_a_new_one(client, monkeypatch):
    """Timing must not reveal registered addresses: both paths hash the password once."""
    supplier_user("bidder", email="taken@example.com")
    calls: list[str] = []
    real = security.hash_password

    def counting(password: str) -> str:
        calls.append(password)
        return real(password)

    monkeypatch.setattr(security, "hash_password", counting)
    register(client, email="new@example.com", organisation_name="New Ltd")
    new_calls = len(calls)
    register(client, email="taken@example.com", organisation_name="Other Ltd")
    assert new_calls == 1
    assert len(calls) - new_calls == new_calls


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password123456", "Password is too easy to guess"),
        ("short", "Password must be 10 characters or more"),
        ("Abc12345!", "Password must be 10 characters or more"),
        ("x" * 257, "Password must be 256 characters or fewer"),
        ("featherstonehaugh2024", "your name or email address"),
        ("RosalindFeatherstonehaugh", "your name or email address"),
        ("rosalind.featherstonehaugh", "your name or email address"),
        ("Featherstonehaugh-Rosalind", "your name or email address"),
        ("RosalindFeatherstonehaugh1", "your name or email address"),
        ("analytical-example-com", "your name or email address"),
    ],
)
def test_weak_passwords_are_refused(client, password, message):
    response = register(client, email="rosalind.featherstonehaugh@analytical-example.com",
                        full_name="Rosalind Featherstonehaugh", password=password,
                        password_confirm=password)
    assert response.status_code == 200
    assert message in page_text(response)
    assert count(User) == 0 and count(Organisation) == 0 and count(OutboxEmail) == 0


@pytest.mark.parametrize(
    "password",
    ["rosemary-lantern-orbit-42",  # contains "rose" but is not based on it
     "Rose-tangerine-marmalade-orbit",  # a name word among enough other words
     "Tq8#v!2rLz9@pQ-x7Kd",  # password-manager style
     "garden-vivid-otter-marmalade"],
)
def test_good_passwords_are_accepted_even_near_personal_words(client, password):
    response = register(client, email="rose@garden.example.com", full_name="Rose Garden",
                        password=password, password_confirm=password)
    assert response.status_code == 302, page_text(response)


def test_personal_words_are_fine_for_someone_else(client):
    """The personal-information rule is about the person registering, not a word list."""
    response = register(client, email="ada@analytical.example.com", full_name="Ada Lovelace",
                        password="featherstonehaugh2024", password_confirm="featherstonehaugh2024")
    assert response.status_code == 302, page_text(response)


def test_password_confirmation_must_match(client):
    response = register(client, password_confirm=TEST_PASSWORD + "x")
    assert response.status_code == 200
    assert "Passwords must match" in page_text(response)
    assert count(User) == 0 and count(Organisation) == 0 and count(OutboxEmail) == 0


def test_registration_requires_fields(client):
    response = client.post("/register/supplier", data={"organisation_choice": "new"})
    text = page_text(response)
    for message in ("Enter your full name", "Enter your email address", "Enter a password"):
        assert message in text
    response = register(client, email="not-an-email")
    assert "Enter an email address in the correct format" in page_text(response)
    assert count(User) == 0


def test_register_kind_choice_redirects(client):
    response = client.post("/register", data={"kind": "council"})
    assert response.status_code == 302 and response.headers["Location"] == "/register/council"
    assert client.get("/register/admin").status_code == 404


# Email verification -----------------------------------------------------------------------


def test_verification_link_verifies_and_allows_sign_in(client):
    register(client)
    user = user_named("ada@analytical.example.com")
    refused = sign_in(client, user.email)
    assert refused.status_code == 200
    text = page_text(refused)
    assert "You need to confirm your email address before you can sign in" in text
    assert "/verify-email/resend" in text
    assert count(UserSession) == 0

    page = client.get(verification_path(user.email))
    assert page.status_code == 200
    assert "Email address confirmed" in page_text(page)
    assert user_named(user.email).email_verified
    assert "user.email_verified" in audit_actions()
    assert client.get(verification_path(user.email)).status_code == 200  # harmless twice
    assert audit_actions().count("user.email_verified") == 1

    assert sign_in(client, user.email).status_code == 302
    assert_signed_in(client)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),
    lambda t: "x" + t,
    lambda t: t.split(".")[0],
    lambda t: "not-a-token",
])
def test_tampered_verification_link_is_refused(client, mangle):
    register(client)
    token = verification_path("ada@analytical.example.com").removeprefix("/verify-email/")
    response = client.get(f"/verify-email/{mangle(token)}")
    assert response.status_code == 400
    text = page_text(response)
    assert "There is a problem with this link" in text
    assert "This link is not valid" in text
    assert "Get a new confirmation link" in text
    assert not user_named("ada@analytical.example.com").email_verified


def test_expired_verification_link_is_refused(client):
    register(client)
    token = verification_path("ada@analytical.example.com").removeprefix("/verify-email/")
    old = backdated(token, "verify-email", current_app.config["EMAIL_TOKEN_MAX_AGE"] + 60)
    response = client.get(f"/verify-email/{old}")
    assert response.status_code == 400
    assert "This link has expired. Request a new one" in page_text(response)
    assert not user_named("ada@analytical.example.com").email_verified
    # Just inside the limit it still works.
    fresh_enough = backdated(token, "verify-email",
                             current_app.config["EMAIL_TOKEN_MAX_AGE"] - 60)
    assert client.get(f"/verify-email/{fresh_enough}").status_code == 200


def test_verification_max_age_is_configurable(app_factory):
    app = app_factory(EMAIL_TOKEN_MAX_AGE=60)
    with app.app_context():
        client = app.test_client()
        register(client)
        token = verification_path("ada@analytical.example.com").removeprefix("/verify-email/")
        response = client.get(f"/verify-email/{backdated(token, 'verify-email', 120)}")
        assert response.status_code == 400
        assert "expired" in page_text(response)


def test_token_for_another_purpose_is_not_a_verification_link(client):
    register(client)
    user = user_named("ada@analytical.example.com")
    reset_token = security.make_token("reset-password", {"uid": user.id, "email": user.email})
    assert client.get(f"/verify-email/{reset_token}").status_code == 400
    other = security.make_token("verify-email", {"uid": user.id, "email": "other@example.com"})
    assert client.get(f"/verify-email/{other}").status_code == 400
    assert not user_named(user.email).email_verified


def test_resend_verification(client):
    register(client)
    user = user_named("ada@analytical.example.com")
    verified = supplier_user("bidder", email="done@example.com")
    before = len(emails())

    response = client.post("/verify-email/resend", data={"email": "ADA@analytical.example.com"})
    assert response.status_code == 302 and response.headers["Location"] == "/register/check-email"
    links = emails(user.email, "Confirm your email address")
    assert len(links) == 2
    assert client.get(link_in(links[-1], "/verify-email/")).status_code == 200

    for address in ("nobody@example.com", verified.email):
        response = client.post("/verify-email/resend", data={"email": address})
        assert response.status_code == 302
        assert response.headers["Location"] == "/register/check-email"
    assert len(emails()) == before + 1


# Sessions ---------------------------------------------------------------------------------


def test_sign_in_rotates_the_whole_session(client):
    user = council_user("challenge_owner")
    client.get("/sign-in")
    with client.session_transaction() as sess:
        sess["planted"] = "attacker-chosen"
        sess["sid"] = "attacker-chosen-sid"
    before = session_data(client)
    before_cookie = cookie_value(client)

    assert sign_in(client, user.email).status_code == 302
    after = session_data(client)
    assert "planted" not in after
    assert after["sid"] != "attacker-chosen-sid"
    assert after.get("csrf_token") != before["csrf_token"]
    assert after["_user_id"] == str(user.id)
    assert cookie_value(client) != before_cookie

    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.token_hash == hashlib.sha256(after["sid"].encode()).hexdigest()
    assert row.token_hash != after["sid"] and row.revoked_at is None

    client.post("/sign-out")
    assert sign_in(client, user.email).status_code == 302
    assert session_data(client)["sid"] != after["sid"]


def test_sign_in_records_session_details(client):
    user = council_user("challenge_owner")
    sign_in(client, user.email, headers={"User-Agent": "TestBrowser/1.0"})
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.user_agent == "TestBrowser/1.0"
    assert row.ip == "127.0.0.1"
    assert user_named(user.email).last_sign_in_at is not None
    assert "user.signed_in" in audit_actions()


def test_wrong_password_and_unknown_account_give_the_same_answer(client):
    user = council_user("challenge_owner")
    wrong = sign_in(client, user.email, "not-the-password-at-all")
    unknown = sign_in(client, "nobody@example.gov.uk", "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 200
    for response in (wrong, unknown):
        assert "Enter a correct email address and password" in page_text(response)
    assert count(UserSession) == 0
    assert "user.sign_in_failed" in audit_actions()


def test_sign_out_kills_the_cookie_for_good(app, client, login):
    user = council_user("challenge_owner")
    login(user)
    stolen = cookie_value(client)

    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, stolen)
    assert_signed_in(thief)  # the copy works while the session is live

    response = client.post("/sign-out")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert_signed_out(client)
    assert db.session.scalar(select(UserSession.revoked_at)) is not None

    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, stolen)
    assert_signed_out(replay)
    assert_signed_out(thief)
    assert replay.get("/account").status_code == 302


def aged_cookie(app: Flask, cookie: str, seconds: int) -> str:
    """The same session cookie, signed as if issued ``seconds`` ago."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    data = serializer.loads(cookie)

    class PastSigner(serializer.signer):  # type: ignore[name-defined, misc]
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds

    serializer.signer = PastSigner
    return serializer.dumps(data)


def test_session_cookie_expires_after_its_lifetime(app, client, login):
    login(council_user("challenge_owner"))
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    cookie = cookie_value(client)

    recent = app.test_client()
    recent.set_cookie(SESSION_COOKIE, aged_cookie(app, cookie, lifetime - 60))
    assert_signed_in(recent)
    stale = app.test_client()
    stale.set_cookie(SESSION_COOKIE, aged_cookie(app, cookie, lifetime + 60))
    assert_signed_out(stale)


def test_sign_out_needs_post_and_sign_in(client, login):
    assert client.get("/sign-out").status_code == 405
    response = client.post("/sign-out")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    login(council_user("challenge_owner"))
    assert client.get("/sign-out").status_code == 405
    assert_signed_in(client)


def test_session_cookie_needs_the_server_side_row(app, client, login):
    user = council_user("challenge_owner")
    login(user)
    forged = app.test_client()
    with forged.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    assert_signed_out(forged)
    with forged.session_transaction() as sess:
        sess["sid"] = "guessed"
    assert_signed_out(forged)
    # A live sid of another user does not sign you in as this one.
    other = council_user("challenge_owner")
    other_client = app.test_client()
    sign_in(other_client, other.email)
    with other_client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
    assert_signed_out(other_client)


def test_password_change_signs_out_every_other_browser(app, client, login):
    user = council_user("challenge_owner")
    login(user)
    laptop_cookie = cookie_value(client)
    phone = app.test_client()
    assert sign_in(phone, user.email).status_code == 302
    assert_signed_in(phone)

    response = client.post("/account/password", data={
        "current_password": TEST_PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirm": NEW_PASSWORD,
    })
    assert response.status_code == 302, page_text(response)
    assert response.headers["Location"] == "/account"
    assert "signed out everywhere else" in page_text(client.get("/account"))

    assert_signed_in(client)  # the changer stays signed in, on a new session
    assert_signed_out(phone)
    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, laptop_cookie)
    assert_signed_out(replay)  # even this browser's old cookie is dead
    live = count(UserSession, UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    assert live == 1

    assert sign_in(app.test_client(), user.email, TEST_PASSWORD).status_code == 200
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    notices = emails(user.email, "Your password has been changed")
    assert len(notices) == 1 and "/password/forgot" in notices[0].body_text
    assert "user.password_changed" in audit_actions()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"current_password": "wrong-password-here"}, "Your current password is not correct"),
        ({"new_password": TEST_PASSWORD, "new_password_confirm": TEST_PASSWORD},
         "must be different"),
        ({"new_password": "password123456", "new_password_confirm": "password123456"},
         "too easy to guess"),
        ({"new_password_confirm": "something-else-entirely"}, "Passwords must match"),
    ],
)
def test_password_change_refusals_keep_sessions(app, client, login, fields, message):
    user = council_user("challenge_owner")
    login(user)
    phone = app.test_client()
    sign_in(phone, user.email)
    data = {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD, **fields}
    response = client.post("/account/password", data=data)
    assert response.status_code == 200
    assert message in page_text(response)
    assert_signed_in(client)
    assert_signed_in(phone)
    assert security.verify_password(user_named(user.email).password_hash, TEST_PASSWORD)


def test_sign_out_other_sessions(app, client, login):
    user = council_user("challenge_owner")
    login(user)
    phone = app.test_client()
    sign_in(phone, user.email)
    response = client.post("/account/sessions/sign-out-others")
    assert response.status_code == 302
    assert "Signed out of 1 other session" in page_text(client.get("/account"))
    assert_signed_in(client)
    assert_signed_out(phone)


def test_password_change_requires_sign_in(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=/account/password"


# Password reset ---------------------------------------------------------------------------


def request_reset(client, email: str) -> str:  # type: ignore[no-untyped-def]
    response = client.post("/password/forgot", data={"email": email})
    assert response.status_code == 200
    messages = emails(email.lower(), "Reset your password")
    assert messages, "no reset email"
    return link_in(messages[-1], "/password/reset/")


def test_password_reset_works_once_and_ends_every_session(app, client):
    user = council_user("challenge_owner")
    signed_in_elsewhere = app.test_client()
    sign_in(signed_in_elsewhere, user.email)
    assert_signed_in(signed_in_elsewhere)

    path = request_reset(client, user.email)
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": NEW_PASSWORD,
                                       "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert "Your password has been changed" in page_text(client.get("/sign-in"))

    assert_signed_out(signed_in_elsewhere)
    assert count(UserSession, UserSession.revoked_at.is_(None)) == 0
    assert sign_in(app.test_client(), user.email, TEST_PASSWORD).status_code == 200
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302

    reused = app.test_client().get(path)
    assert reused.status_code == 400
    assert "already been used" in page_text(reused)
    again = app.test_client().post(path, data={"password": "vivid-otter-marmalade-31",
                                                "password_confirm": "vivid-otter-marmalade-31"})
    assert again.status_code == 400
    assert security.verify_password(user_named(user.email).password_hash, NEW_PASSWORD)
    assert "user.password_reset" in audit_actions()
    assert emails(user.email, "Your password has been changed")


def test_password_reset_while_signed_in_signs_out(client, login):
    user = council_user("challenge_owner")
    login(user)
    path = request_reset(client, user.email)
    client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert_signed_out(client)


def test_expired_reset_link_is_refused(client):
    user = council_user("challenge_owner")
    path = request_reset(client, user.email)
    token = path.removeprefix("/password/reset/")
    old = backdated(token, "reset-password", current_app.config["PASSWORD_RESET_MAX_AGE"] + 5)
    for response in (client.get(f"/password/reset/{old}"),
                     client.post(f"/password/reset/{old}",
                                 data={"password": NEW_PASSWORD,
                                       "password_confirm": NEW_PASSWORD})):
        assert response.status_code == 400
        text = page_text(response)
        assert "This password reset link has expired. Request a new one" in text
        assert "Get a new password reset link" in text
    assert security.verify_password(user_named(user.email).password_hash, TEST_PASSWORD)


def test_tampered_reset_link_is_refused(client):
    user = council_user("challenge_owner")
    token = request_reset(client, user.email).removeprefix("/password/reset/")
    response = client.get(f"/password/reset/{token[:-2]}xx")
    assert response.status_code == 400
    assert "This password reset link is not valid" in page_text(response)
    forged = security.make_token("verify-email", {"uid": user.id, "fp": "0" * 16})
    assert client.get(f"/password/reset/{forged}").status_code == 400


def test_reset_refuses_weak_password_and_keeps_link_usable(client):
    user = council_user("challenge_owner")
    path = request_reset(client, user.email)
    weak = client.post(path, data={"password": "password123456",
                                   "password_confirm": "password123456"})
    assert weak.status_code == 200 and "too easy to guess" in page_text(weak)
    assert client.post(path, data={"password": NEW_PASSWORD,
                                   "password_confirm": NEW_PASSWORD}).status_code == 302


def test_reset_request_does_not_reveal_accounts(client):
    council_user("challenge_owner", email="known@example.gov.uk")
    known = client.post("/password/forgot", data={"email": "known@example.gov.uk"})
    unknown = client.post("/password/forgot", data={"email": "unknown@example.gov.uk"})
    assert known.status_code == unknown.status_code == 200
    assert without_nonces(page_text(known).replace("known@example.gov.uk", "X")) == (
        without_nonces(page_text(unknown).replace("unknown@example.gov.uk", "X")))
    assert emails("unknown@example.gov.uk") == []
    assert len(emails("known@example.gov.uk")) == 1


def test_reset_verifies_an_unverified_address(client):
    user = UserFactory(email_verified_at=None, organisation=SupplierFactory())
    path = request_reset(client, user.email)
    client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert user_named(user.email).email_verified
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302


# Suspension -------------------------------------------------------------------------------


def test_suspended_user_is_signed_out_and_cannot_sign_in(app, client, login):
    user = council_user("challenge_owner")
    login(user)
    assert_signed_in(client)

    admin_client = app.test_client()
    admin = admin_user()
    sign_in(admin_client, admin.email)
    response = admin_client.post(f"/admin/users/{user.id}", data={"reason": "Left the council"})
    assert response.status_code == 302, page_text(response)

    assert_signed_out(client)
    refused = sign_in(app.test_client(), user.email)
    assert refused.status_code == 200
    assert "Your account has been suspended" in page_text(refused)
    live = count(UserSession, UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    assert live == 0
    # No reset email either, and an old reset link stops working.
    before = len(emails(user.email))
    client.post("/password/forgot", data={"email": user.email})
    assert len(emails(user.email)) == before
    assert "user.suspended" in audit_actions()


def test_suspension_kills_sessions_even_if_rows_were_left_live(app, client, login):
    """Belt and braces: the user loader refuses a suspended person's still-live row."""
    user = council_user("challenge_owner")
    login(user)
    user = user_named(user.email)
    from marketplace.models import utcnow

    user.suspended_at = utcnow()
    db.session.commit()
    assert_signed_out(client)


def test_reset_link_issued_before_suspension_is_refused(app, client):
    user = council_user("challenge_owner")
    path = request_reset(client, user.email)
    admin = admin_user()
    from marketplace.services import admin as admin_service

    admin_service.suspend_user(admin, user.id, "Left the council")
    response = client.get(path)
    assert response.status_code == 400
    assert "suspended" in page_text(response)


# Command line: create-admin ---------------------------------------------------------------


def run_create_admin(app: Flask, *args: str, password: str):  # type: ignore[no-untyped-def]
    db.session.commit()
    return app.test_cli_runner().invoke(
        args=["create-admin", *args, "--password-stdin"], input=password + "\n"
    )


def test_create_admin_command(app, client):
    result = run_create_admin(app, "X@Example.org", "--name", "Xena Admin",
                              password=NEW_PASSWORD)
    assert result.exit_code == 0, result.output
    assert "Created platform admin x@example.org" in result.output
    user = user_named("x@example.org")
    assert user is not None and user.is_platform_admin and user.email_verified
    assert user.full_name == "Xena Admin" and user.organisation_id is None
    assert security.verify_password(user.password_hash, NEW_PASSWORD)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.admin_created"))
    assert event is not None and event.actor_label == "command line"

    assert sign_in(client, "x@example.org", NEW_PASSWORD).status_code == 302
    assert client.get("/admin").status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [("password123456", "Password is too easy to guess"),
     ("short", "Password must be 10 characters or more"),
     ("", "Password must be 10 characters or more")],
)
def test_create_admin_refuses_weak_password(app, password, message):
    result = run_create_admin(app, "x@example.org", "--name", "X", password=password)
    assert result.exit_code != 0
    assert f"Error: {message}" in result.output
    assert user_named("x@example.org") is None


def test_create_admin_refuses_existing_account(app):
    council_user("challenge_owner", email="taken@example.gov.uk")
    result = run_create_admin(app, "taken@example.gov.uk", "--name", "X", password=NEW_PASSWORD)
    assert result.exit_code != 0
    assert "Error: An account for taken@example.gov.uk already exists" in result.output
    assert count(User, User.is_platform_admin.is_(True)) == 0


def test_create_admin_refuses_a_non_email(app):
    result = run_create_admin(app, "not-an-email", "--name", "X", password=NEW_PASSWORD)
    assert result.exit_code != 0 and "Enter an email address" in result.output
