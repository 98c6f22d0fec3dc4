"""Personal access tokens: the account settings page, the token service's refusals, and the
create-token and create-user commands."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from marketplace import security
from marketplace.extensions import db
from marketplace.models import ApiToken, AuditEvent, User, utcnow
from marketplace.services import tokens
from marketplace.services.tokens import TokenRefused
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user
from tests.team_admin_support import browser, fresh

SECRET_RE = re.compile(r"mkt_[A-Za-z0-9_-]{43}")
NEW_PASSWORD = "tangerine-lantern-orbit-42"


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def _tokens_of(user: User) -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id)))


def _create(client, **data: str):  # type: ignore[no-untyped-def]
    form = {"name": "Nightly export", "scope": "read", "days": "90"}
    form.update(data)
    return client.post("/account/tokens", data=form)


# The page -----------------------------------------------------------------------------------

def test_account_page_links_to_tokens(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    client = login(council_user("challenge_owner"))
    page = _text(client.get("/account"))
    assert 'href="/account/tokens"' in page
    listing = client.get("/account/tokens")
    assert listing.status_code == 200
    assert "You have no API tokens" in _text(listing)
    assert 'href="/developers/api"' in _text(listing)


def test_anonymous_people_are_sent_to_sign_in(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/account/tokens")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    response = client.post("/account/tokens", data={"name": "x", "scope": "read", "days": "7"})
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0


def test_creating_a_token_shows_the_secret_once(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    user = council_user("challenge_owner")
    client = login(user)
    response = _create(client, name="Nightly export", scope="write", days="30")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = _text(response)
    secrets = set(SECRET_RE.findall(page))
    assert len(secrets) == 1
    secret = secrets.pop()
    assert "It will not be shown again" in page
    assert f'curl -H "Authorization: Bearer {secret}" http://marketplace.test/api/v1/challenges' \
        in page

    [token] = _tokens_of(user)
    assert token.name == "Nightly export" and token.scope == "write"
    # Only a fingerprint is kept, never the secret.
    assert token.token_hash != secret and secret not in token.token_hash
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:10]
    assert timedelta(days=29, hours=23) < token.expires_at - token.created_at \
        <= timedelta(days=30)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.created"))
    assert event is not None and event.actor_id == user.id
    assert secret not in str(event.after)

    # The list shows the token by its first characters, never the whole secret again.
    listing = _text(client.get("/account/tokens"))
    assert secret not in listing
    assert f"{token.prefix}…" in listing
    assert "Nightly export" in listing and "Read and write" in listing
    assert "Never" in listing and "Active" in listing

    # And the secret works.
    assert tokens.authenticate(secret).id == token.id


def test_the_form_offers_expiry_within_the_configured_maximum(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory(API_TOKEN_MAX_DAYS=60)
    with app.app_context():
        user = council_user("challenge_owner")
        client = browser(app, user)
        page = _text(client.get("/account/tokens"))
        assert 'value="30"' in page and 'value="90"' not in page
        response = _create(client, days="90")
        assert response.status_code == 400
        assert "Select when the token expires" in _text(response)
        assert _tokens_of(user) == []


def test_validation_errors_are_shown_in_an_error_summary(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    user = council_user("challenge_owner")
    client = login(user)
    response = client.post("/account/tokens", data={"name": "", "scope": "admin", "days": "ten"})
    assert response.status_code == 400
    page = _text(response)
    assert "<title>Error:" in page
    summary = page[page.index("govuk-error-summary"):page.index("<h1")]
    assert '<a href="#name">Enter a name for the token</a>' in summary
    assert '<a href="#scope">Select read only or read and write</a>' in summary
    assert '<a href="#days">Select when the token expires</a>' in summary

    response = client.post("/account/tokens", data={"name": "x" * 101, "days": "7"})
    page = _text(response)
    assert "Name must be 100 characters or fewer" in page
    assert "Select read only or read and write" in page

    # A name of spaces gets past the form; the service's refusal is shown against the field.
    response = _create(client, name="    ")
    assert response.status_code == 400
    assert '<a href="#name">Enter a name for the token</a>' in _text(response)
    assert _tokens_of(user) == []


def test_everything_is_escaped(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    client = login(council_user("challenge_owner"))
    created = _text(_create(client, name='<script>alert("x")</script>'))
    listing = _text(client.get("/account/tokens"))
    for page in (created, listing):
        assert '<script>alert("x")' not in page
        assert "&lt;script&gt;alert(" in page


def test_csrf_is_required(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    user = council_user("challenge_owner")
    client = login(user)
    response = client.post("/account/tokens", csrf=False,
                           data={"name": "x", "scope": "write", "days": "7"})
    assert response.status_code == 400
    assert _tokens_of(user) == []

    made = tokens.create_token(user, "Mine", "read")
    response = client.post(f"/account/tokens/{made.token.id}/revoke", csrf=False, data={})
    assert response.status_code == 400
    assert fresh(ApiToken, made.token.id).revoked_at is None


def test_revoking_a_token(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    user = council_user("challenge_owner")
    client = login(user)
    made = tokens.create_token(user, "Reporting script", "write")
    kept = tokens.create_token(user, "Another", "read")
    page = _text(client.get("/account/tokens"))
    assert f'action="/account/tokens/{made.token.id}/revoke"' in page

    response = client.post(f"/account/tokens/{made.token.id}/revoke", data={})
    assert response.status_code == 302 and response.headers["Location"] == "/account/tokens"
    page = _text(client.get("/account/tokens"))
    assert "Token ‘Reporting script’ revoked" in page
    assert "Revoked" in page
    assert f'action="/account/tokens/{made.token.id}/revoke"' not in page
    assert f'action="/account/tokens/{kept.token.id}/revoke"' in page

    assert fresh(ApiToken, made.token.id).revoked_at is not None
    with pytest.raises(TokenRefused, match="revoked"):
        tokens.authenticate(made.secret)
    assert tokens.authenticate(kept.secret).id == kept.token.id
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "api_token.revoked")).all()
    assert [e.object_id for e in events] == [str(made.token.id)]

    # Revoking again changes nothing and is not an error.
    response = client.post(f"/account/tokens/{made.token.id}/revoke", data={})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "api_token.revoked")) == 1


def test_another_persons_token_is_not_found(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    owner = supplier_user("bidder")
    theirs = tokens.create_token(owner, "Theirs", "write")
    client = login(council_user("challenge_owner"))
    assert client.post(f"/account/tokens/{theirs.token.id}/revoke", data={}).status_code == 404
    assert client.post("/account/tokens/987654/revoke", data={}).status_code == 404
    assert fresh(ApiToken, theirs.token.id).revoked_at is None
    assert "Theirs" not in _text(client.get("/account/tokens"))
    assert tokens.authenticate(theirs.secret).user_id == owner.id


def test_expired_tokens_are_refused_and_shown_as_expired(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    user = council_user("challenge_owner")
    made = tokens.create_token(user, "Short lived", "read", 1)
    with pytest.raises(TokenRefused, match="expired"):
        tokens.authenticate(made.secret, now=utcnow() + timedelta(days=1, seconds=1))
    past = utcnow() - timedelta(days=10)
    db.session.execute(update(ApiToken).where(ApiToken.id == made.token.id)
                       .values(created_at=past, expires_at=past + timedelta(days=1)))
    db.session.commit()
    with pytest.raises(TokenRefused, match="expired"):
        tokens.authenticate(made.secret)
    page = _text(login(user).get("/account/tokens"))
    assert "Expired" in page
    assert f'action="/account/tokens/{made.token.id}/revoke"' not in page


def test_unknown_and_malformed_tokens_are_refused(app: Flask) -> None:
    with pytest.raises(TokenRefused, match="not a marketplace"):
        tokens.authenticate("Bearer something")
    with pytest.raises(TokenRefused, match="not recognised"):
        tokens.authenticate("mkt_" + "a" * 43)


def test_authenticate_records_the_last_use(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    user = council_user("challenge_owner")
    made = tokens.create_token(user, "Used", "read")
    assert made.token.last_used_at is None
    first = utcnow()
    tokens.authenticate(made.secret, now=first)
    assert fresh(ApiToken, made.token.id).last_used_at == first
    # Within a minute the stored time is kept (reads do not all become writes)...
    tokens.authenticate(made.secret, now=first + timedelta(seconds=30))
    assert fresh(ApiToken, made.token.id).last_used_at == first
    # ...after it, it moves on.
    later = first + timedelta(minutes=2)
    tokens.authenticate(made.secret, now=later)
    assert fresh(ApiToken, made.token.id).last_used_at == later
    page = _text(login(user).get("/account/tokens"))
    assert "Never" not in page


def test_suspended_people_cannot_make_or_use_tokens(app: Flask) -> None:
    from marketplace.services.errors import PermissionDenied

    user = council_user("challenge_owner")
    made = tokens.create_token(user, "Before", "read")
    user.suspended_at = utcnow()
    db.session.commit()
    with pytest.raises(TokenRefused, match="suspended"):
        tokens.authenticate(made.secret)
    with pytest.raises(PermissionDenied):
        tokens.create_token(user, "After", "read")


# create-token -------------------------------------------------------------------------------

def _cli(app: Flask, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    db.session.commit()
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    db.session.expire_all()
    return result


def test_create_token_prints_only_a_usable_secret(app: Flask) -> None:
    user = supplier_user("bidder", email="bidder@example.com")
    result = _cli(app, "create-token", "  BIDDER@example.com ", "--scope", "write",
                  "--name", "Deploy bot", "--days", "7")
    assert result.exit_code == 0, result.output
    assert SECRET_RE.fullmatch(result.stdout.strip()), result.stdout
    assert result.stdout.count("\n") == 1
    secret = result.stdout.strip()
    token = tokens.authenticate(secret)
    assert token.user_id == user.id and token.scope == "write" and token.name == "Deploy bot"
    assert timedelta(days=6, hours=23) < token.expires_at - token.created_at <= timedelta(days=7)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.created"))
    assert event is not None and event.actor_label == "command line"


def test_create_token_defaults(app: Flask) -> None:
    user = council_user("procurement_officer")
    result = _cli(app, "create-token", user.email, "--scope", "read")
    assert result.exit_code == 0, result.output
    [token] = _tokens_of(user)
    assert token.scope == "read" and token.name == "Command line"
    assert token.expires_at - token.created_at == timedelta(days=tokens.DEFAULT_DAYS)


@pytest.mark.parametrize(("args", "message"), [
    (["nobody@example.com", "--scope", "read"],
     "Error: There is no account for nobody@example.com"),
    (["{email}", "--scope", "admin"], "Error: --scope must be read or write"),
    (["{email}", "--scope", "read", "--days", "0"], "Error: Expiry must be between 1 and"),
    (["{email}", "--scope", "read", "--days", "9999"], "Error: Expiry must be between 1 and"),
    (["{email}", "--scope", "read", "--name", "  "], "Error: Enter a name for the token"),
])
def test_create_token_errors(app: Flask, args: list[str], message: str) -> None:
    user = council_user("challenge_owner")
    result = _cli(app, "create-token", *[a.format(email=user.email) for a in args])
    assert result.exit_code != 0
    assert message in result.output
    assert not SECRET_RE.search(result.output)
    assert _tokens_of(user) == []


# create-user --------------------------------------------------------------------------------

def test_create_user_in_an_organisation(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    council = CouncilFactory(name="Newtown Borough Council")
    result = _cli(app, "create-user", "Officer@Newtown.gov.uk", "--organisation",
                  "  newtown   BOROUGH council", "--role", "procurement_officer",
                  "--role", "evaluator", "--name", "Olu Officer", "--password-stdin",
                  input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Created officer@newtown.gov.uk in Newtown Borough Council" in result.output
    user = db.session.scalar(select(User).where(User.email == "officer@newtown.gov.uk"))
    assert user is not None
    assert user.organisation_id == council.id and user.full_name == "Olu Officer"
    assert user.roles == {"procurement_officer", "evaluator"}
    assert user.email_verified and not user.is_platform_admin
    assert security.verify_password(user.password_hash, NEW_PASSWORD)
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "user.member_created"))
    assert event is not None and event.actor_label == "command line"
    assert event.organisation_id == council.id
    assert sign_in(client, "officer@newtown.gov.uk", NEW_PASSWORD).status_code == 302


def test_create_user_prompts_for_the_name_and_password(app: Flask) -> None:
    supplier = SupplierFactory(name="Route Planning Ltd")
    result = _cli(app, "create-user", "dev@routeplanning.example.com", "--organisation",
                  "Route Planning Ltd", "--role", "bidder",
                  input=f"Dana Dev\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "dev@routeplanning.example.com"))
    assert user is not None and user.full_name == "Dana Dev"
    assert user.organisation_id == supplier.id and user.roles == {"bidder"}


@pytest.mark.parametrize(("organisation", "role", "email", "message"), [
    ("Route Planning Ltd", "evaluator", "a@routeplanning.example.com",
     "‘evaluator’ is not a role in a supplier organisation. Choose from: bidder, org_admin"),
    ("Newtown Borough Council", "bidder", "a@newtown.gov.uk",
     "‘bidder’ is not a role in a council organisation"),
    ("Newtown Borough Council", "boss", "a@newtown.gov.uk", "‘boss’ is not a role"),
    ("Nowhere Council", "evaluator", "a@nowhere.gov.uk",
     "There is no organisation called ‘Nowhere Council’"),
    ("Newtown Borough Council", "evaluator", "someone@gmail.com",
     "Council members need an email address on a public-sector domain"),
    ("Newtown Borough Council", "evaluator", "not-an-email",
     "Enter an email address in the correct format"),
    ("Newtown Borough Council", "evaluator", "taken@newtown.gov.uk",
     "An account for taken@newtown.gov.uk already exists"),
])
def test_create_user_refusals(app: Flask, organisation: str, role: str, email: str,
                              message: str) -> None:
    council = CouncilFactory(name="Newtown Borough Council")
    SupplierFactory(name="Route Planning Ltd")
    council_user("evaluator", organisation=council, email="taken@newtown.gov.uk")
    before = db.session.scalar(select(func.count(User.id)))
    result = _cli(app, "create-user", email, "--organisation", organisation, "--role", role,
                  "--name", "Sam Person", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code != 0
    assert f"Error: {message}" in result.output, result.output
    assert db.session.scalar(select(func.count(User.id))) == before


def test_create_user_with_an_ambiguous_name_needs_the_id(app: Flask) -> None:
    council = CouncilFactory(name="Acme")
    supplier = SupplierFactory(name="ACME")
    result = _cli(app, "create-user", "x@acme.example.com", "--organisation", "acme",
                  "--role", "bidder", "--name", "X Person", "--password-stdin",
                  input=NEW_PASSWORD + "\n")
    assert result.exit_code != 0
    assert (f"2 organisations are called ‘acme’: council (id {council.id}), supplier "
            f"(id {supplier.id}). Give the id instead") in result.output
    result = _cli(app, "create-user", "x@acme.example.com", "--organisation", str(supplier.id),
                  "--role", "bidder", "--name", "X Person", "--password-stdin",
                  input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "x@acme.example.com"))
    assert user is not None and user.organisation_id == supplier.id


def test_create_user_refuses_a_weak_password(app: Flask) -> None:
    SupplierFactory(name="Route Planning Ltd")
    result = _cli(app, "create-user", "dev@routeplanning.example.com", "--organisation",
                  "Route Planning Ltd", "--role", "bidder", "--name", "Dana Dev",
                  "--password-stdin", input="short\n")
    assert result.exit_code != 0
    assert "Error: Password must be 10 characters or more" in result.output
    assert db.session.scalar(select(User).where(
        User.email == "dev@routeplanning.example.com")) is None


def test_a_created_user_can_make_a_token(app: Flask) -> None:
    """The two commands together, as a deployment script would use them."""
    SupplierFactory(name="Route Planning Ltd")
    assert _cli(app, "create-user", "bot@routeplanning.example.com", "--organisation",
                "Route Planning Ltd", "--role", "bidder", "--name", "Bid Bot",
                "--password-stdin", input=TEST_PASSWORD + "\n").exit_code == 0
    result = _cli(app, "create-token", "bot@routeplanning.example.com", "--scope", "write")
    assert result.exit_code == 0, result.output
    token = tokens.authenticate(result.stdout.strip())
    assert token.user.email == "bot@routeplanning.example.com" and token.can_write
